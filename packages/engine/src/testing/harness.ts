// A worker engine with a fake SIP link, and peers that speak to it through envelopes: for
// unit tests of calls without sockets or NATS (end-to-end tests use the real parts).
import assert from 'node:assert/strict';
import {
  createResponse, parseMessage, serializeMessage, SipRequest, SipResponse, readRoutingFields, type SipMessage,
} from '@switchboard/sip';
import { DigestAuthenticator, TrunkingConfigSchema, TrunkPolicy, type TrunkingConfig } from '@switchboard/trunking';
import { RoutingIds, type InboundSip } from '@switchboard/wire';
import { pino } from 'pino';
import type { CallDetailRecord } from '@switchboard/cdr';
import { CdrActor } from '../records/cdr-actor.js';
import { SettledTransactions } from '../dialog/settled-transactions.js';
import { CallDeadlines } from '../call/call-deadlines.js';
import { InboundRouter } from '../router.js';
import type { EngineContext, SipLocate } from '../context.js';
import { Counters } from '../metrics/counters.js';
import { LocalCallLimiter, type CallLimiter } from '@switchboard/limits';
import { SipLocator, type DnsResolver } from '../locate/sip-locator.js';
import { JOIN_ATTACH_MS } from '../protocol/bridge-messages.js';
import { localBridge } from '../transfer/call-bridge.js';
import type { ActorKernel } from '../kernel/actor-kernel.js';
import { NactKernel } from '../kernel/nact-kernel.js';
import type { Destination, SipLink } from '../protocol/sip-link.js';
import type { TimerSettings } from '@switchboard/transactions';

export interface Sent {
  message: SipMessage;
  to: Destination;
  ref?: string;
}

export class FakeLink implements SipLink {
  readonly sent: Sent[] = [];
  send(message: SipMessage, to: Destination, ref?: string): void {
    // through the wire format, as the transport would carry it
    const copy = parseMessage(serializeMessage(message));
    this.sent.push(ref === undefined ? { message: copy, to } : { message: copy, to, ref });
  }
  /** Takes the sent messages addressed to `port` that `match` accepts. */
  take(port: number, match: (m: SipMessage) => boolean = () => true): SipMessage[] {
    const out: SipMessage[] = [];
    for (let i = 0; i < this.sent.length; ) {
      const s = this.sent[i] as Sent;
      if (s.to.port === port && match(s.message)) {
        out.push(s.message);
        this.sent.splice(i, 1);
      } else i++;
    }
    return out;
  }
}

export const A_PORT = 5071;
export const B_PORT = 5080;

/**
 * The trunking the engine tests run under: the PBX at 127.0.0.1 is trunk `acme` (by ACL) and
 * every number goes to one carrier at 127.0.0.9:B_PORT, which is not a source of calls.
 */
export const TEST_TRUNKING = {
  carriers: [{ id: 'carrierB', addresses: [{ host: '127.0.0.9', port: B_PORT }], sources: [] }],
  trunks: [{
    id: 'acme', domain: 'switchboard.example', acl: ['127.0.0.1/32'], numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
    routing: [{ prefix: '', carriers: ['carrierB'] }], callerId: { allowed: ['+1'] },
  }],
};

/**
 * The context as tests see it: a test may set a field (its log, its link) before the first
 * call; the engine itself reads it as an EngineContext, all readonly.
 */
export type TestContext = { -readonly [K in keyof EngineContext]: EngineContext[K] };

export interface EngineOptions {
  timers?: TimerSettings;
  kernel?: ActorKernel;
  minSE?: number;
  trunking?: unknown;
  limiter?: CallLimiter;
  resolve?: (host: string) => Promise<string>;
  locator?: SipLocate;
  transferorByeMs?: number;
  joinAttachMs?: number;
}

/** Unit tests resolve nothing: every name must be in the overrides. */
const NO_DNS: DnsResolver = {
  resolveNaptr: async () => [],
  resolveSrv: async () => [],
  resolve4: async () => [],
  resolve6: async () => [],
};

/**
 * The default T1 is well above RFC 3261's 500 ms: a test that does not ask for timers must not see a
 * retransmission because a busy machine stalled between two of its steps (a second INVITE, NOTIFY or
 * BYE where it counts one). A test of timers chooses its own and runs them on VirtualTime.
 */
export function makeEngine(timers: TimerSettings = { t1: 4000, t2: 4000, t4: 5000 }, kernel: ActorKernel = new NactKernel(), minSE = 90, options: EngineOptions = {}) {
  const link = new FakeLink();
  /** Every record the calls emitted, in order. */
  const records: CallDetailRecord[] = [];
  const log = pino({ level: 'silent' });
  const trunking: TrunkingConfig = TrunkingConfigSchema.parse(options.trunking ?? TEST_TRUNKING);
  const ctx: TestContext = {
    workerId: 'w1',
    ids: new RoutingIds('engine-test-secret-0123456789'),
    // one worker owning one slot: every call of a test is in slot 1
    slots: { pickSlot: () => 1, ownerOf: () => 'w1' },
    link,
    kernel,
    timers,
    sessionTimers: { minSE },
    trunking: {
      current: {
        policy: new TrunkPolicy(trunking, new DigestAuthenticator({ secret: 'engine-test-digest-secret' })),
        locator: options.locator ?? new SipLocator({ overrides: trunking.sipTransfers.overrides, resolver: NO_DNS }),
      },
    },
    limiter: options.limiter ?? new LocalCallLimiter(),
    resolve: options.resolve ?? (async (host) => {
      throw new Error(`no address for ${host}`);
    }),
    transferorByeMs: options.transferorByeMs ?? 32_000,
    bridge: localBridge(() => engine),
    joinAttachMs: options.joinAttachMs ?? JOIN_ATTACH_MS,
    cdr: CdrActor.spawn(kernel, 'w1', { emit: (r) => records.push(...r) }, log),
    counters: new Counters(),
    noAnswerMs: 180_000,
    log,
    invites: new Map(),
    settled: new SettledTransactions(link),
    calls: new Map(),
    deadlines: new CallDeadlines(),
  };
  const engine: InboundRouter = new InboundRouter(ctx);
  return { engine, link, ctx, kernel, records };
}

/** Delivers `msg` to the engine as if transport node `t1` received it from 127.0.0.1:`port`. */
/** `receivedAt`: when the transport received it (default now; earlier for a retransmission that got through after an outage). */
export function deliver(engine: InboundRouter, msg: SipMessage | string, port: number, protocol: 'udp' | 'tcp' = 'udp', remoteAddress = '127.0.0.1', receivedAt = Date.now()): void {
  const sip = typeof msg === 'string' ? Buffer.from(msg) : serializeMessage(msg);
  const env: InboundSip = {
    v: 1, sip, route: readRoutingFields(sip), receivedAt,
    transport: { protocol, localAddress: '127.0.0.1', localPort: 5060, remoteAddress, remotePort: port, nodeId: 't1' },
  };
  engine.onInbound(env);
}

/** Lets the actors run until nothing is left to do on the current turn. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

let n = 0;
export function inviteFromA(opts: { sdp?: string; headers?: string[]; callId?: string } = {}): string {
  const id = ++n;
  const body = opts.sdp ?? 'v=0\r\no=pbx 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
  return [
    'INVITE sip:+14155550100@switchboard.example SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${A_PORT};branch=z9hG4bKa${id}x`,
    'Max-Forwards: 70',
    `From: "Desk" <sip:+12125550123@pbx.example>;tag=fa${id}`,
    'To: <sip:+14155550100@switchboard.example>',
    `Call-ID: ${opts.callId ?? `a${id}@pbx.example`}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:pbx@127.0.0.1:${A_PORT}>`,
    ...(opts.headers ?? []),
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** The far end's answer to a request it received from the engine. */
export function answer(req: SipMessage, status: number, opts: { tag?: string; sdp?: string; port?: number } = {}): SipResponse {
  const r = req as SipRequest;
  const body = opts.sdp === undefined ? undefined : Buffer.from(opts.sdp);
  const res = createResponse(r, status, {
    toTag: opts.tag ?? 'btag',
    headers: status >= 200 && status < 300 && r.method === 'INVITE' ? [['Contact', `<sip:carrier@127.0.0.1:${opts.port ?? B_PORT}>`]] : [],
    ...(body === undefined ? {} : { body, contentType: 'application/sdp' }),
  });
  return res;
}

/** An in-dialog request from the A side, echoing the tags of `ok` (the 200 it received). */
export function fromA(ok: SipMessage, method: string, cseq: number, extra: string[] = [], body = ''): string {
  const to = ok.headers.get('to');
  const from = ok.headers.get('from');
  return [
    `${method} sip:sb@127.0.0.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${A_PORT};branch=z9hG4bK${method.toLowerCase()}${cseq}${Math.random().toString(36).slice(2)}`,
    'Max-Forwards: 70',
    `From: ${from}`,
    `To: ${to}`,
    `Call-ID: ${ok.headers.callId}`,
    `CSeq: ${cseq} ${method}`,
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

export const isReq = (method: string) => (m: SipMessage) => m instanceof SipRequest && m.method === method;
export const isRes = (status: number, method?: string) => (m: SipMessage) =>
  m instanceof SipResponse && m.status === status && (method === undefined || m.headers.cseq?.method === method);

/** The carrier's answer SDP of `establish`. */
export const SDP_B = 'v=0\r\no=carrier 9 9 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

/** A call from A answered by B (100, 180, 200, both ACKs), checked on the way: the INVITE B got and the 200 A got. */
export async function establish(h: ReturnType<typeof makeEngine>, invite = inviteFromA()): Promise<{ bInvite: SipRequest; ok: SipResponse }> {
  deliver(h.engine, invite, A_PORT);
  await settle();
  const [trying] = h.link.take(A_PORT, isRes(100));
  assert.ok(trying, '100 Trying at once');
  const [bInvite] = h.link.take(B_PORT, isReq('INVITE'));
  assert.ok(bInvite instanceof SipRequest);
  deliver(h.engine, answer(bInvite, 180), B_PORT);
  await settle();
  assert.equal(h.link.take(A_PORT, isRes(180)).length, 1);
  deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), B_PORT);
  await settle();
  const [ackB] = h.link.take(B_PORT, isReq('ACK'));
  assert.ok(ackB, 'the engine ACKs the far end');
  const [ok] = h.link.take(A_PORT, isRes(200, 'INVITE'));
  assert.ok(ok instanceof SipResponse);
  deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT);
  await settle();
  return { bInvite, ok };
}
