import { isIP } from 'node:net';
import type { NameAddr } from '@switchboard/sip';
import { failsOver, type CallTarget } from '@switchboard/trunking';
import { newCallId, newRoutingScope } from '@switchboard/wire';
import type { Logger } from 'pino';
import type { CallEvent } from '@switchboard/cdr';
import type { ActorRef } from '../kernel/actor-kernel.js';
import type { EngineContext } from '../context.js';
import type { Destination } from '../protocol/sip-link.js';
import type { AttemptPrefix, CallMessage, FailureCause, LegName, Prepared } from '../protocol/call-messages.js';
import type { LegMessage } from '../protocol/leg-messages.js';
import { LegActor } from '../dialog/leg-actor.js';

/** What the party being connected contributes to every attempt. */
export interface Offer {
  body: Uint8Array;
  contentType: string | undefined;
  maxForwards: number;
  displayName: string | undefined;
}

/** How one attempt presents the call: From and extra headers (P-Asserted-Identity, Referred-By…). */
export type Presentation = (target: CallTarget, ourHost: string) => { from: NameAddr; headers: [string, string][] };

/** The actor that places the attempts, and the call actor their legs report to. */
export interface AttemptOwner {
  readonly ctx: EngineContext;
  /** The call's id: what the attempts are recorded under. */
  readonly callId: string;
  /** The call's routing slot: the placed legs' ids are minted in it. */
  readonly routingSlot: number;
  readonly log: Logger;
  /** Where the attempts' legs report (always the call actor: it is the hub of every leg of a call). */
  readonly call: ActorRef<CallMessage>;
  /** Where `prepared` comes back (the owner itself). */
  readonly self: ActorRef<Prepared>;
  /** The transport node and listener the attempts leave through. */
  readonly ingress: Destination;
  /** Spawns and registers a placed leg. */
  adopt(leg: LegActor): ActorRef<LegMessage>;
  /** Tells the owner's span and the CDR actor what happened (an attempt is part of the call's trace and records). */
  note(event: CallEvent): void;
}

/** When every target failed and no answer was worth relaying. */
export type Exhausted = { status: number; reason: string };

/**
 * The targets of a plan tried in order (RFC 3261 §16.6-like serial forking by a B2BUA): each
 * target made ready (its carrier's rate, its address), then placed as a new UAC leg; a
 * timeout, a transport error or an answer in the target's `failoverOn` moves on; any other
 * answer is the called party's. Used by the call (its b legs) and by transfers (the new leg).
 */
export class OutboundAttempts {
  /** The leg of the attempt in progress, if one is placed. */
  current: LegName | undefined;
  private nextIndex = 0;
  private placed = 0;
  private best: { status: number; reason: string } | undefined;

  constructor(
    private readonly owner: AttemptOwner,
    private readonly targets: readonly CallTarget[],
    private readonly offer: Offer,
    private readonly present: Presentation,
    private readonly prefix: AttemptPrefix,
    private readonly exhausted: Exhausted,
  ) {}

  /** Makes the next target ready and places it; the final answer when none is left. */
  next(): Exhausted | undefined {
    const index = this.nextIndex++;
    const target = this.targets[index];
    this.current = undefined;
    if (target === undefined) {
      this.owner.ctx.counters.add('all-targets-failed');
      // §16.7 relays the best answer; when there was none (timeouts, 503s) the owner's default
      return this.best ?? this.exhausted;
    }
    const maxPerSecond = target.carrier?.maxCps;
    if (maxPerSecond === undefined && isIP(target.host) !== 0) return this.place(target, target.host);
    void this.prepare(target, maxPerSecond).then((ready) => this.owner.self.tell({ type: 'prepared', attempt: index, ...ready }));
    return undefined;
  }

  /** A target made ready (or not): placed, or skipped for the next. */
  onPrepared(m: Prepared): Exhausted | undefined {
    const target = this.targets[m.attempt];
    if (target === undefined || m.attempt !== this.nextIndex - 1 || this.current !== undefined) return undefined;
    if (m.address !== undefined) return this.place(target, m.address);
    this.owner.log.info({ event: 'target-skipped', carrier: target.carrier?.id, host: target.host, reason: m.reason }, 'target skipped');
    this.owner.ctx.counters.add('failover');
    return this.next();
  }

  /**
   * The current attempt failed: `undefined` when the next target is being tried, else the
   * answer for the party waiting (the called party's own answer, or the best seen).
   */
  onFailed(status: number, reason: string, cause: FailureCause): Exhausted | undefined {
    const target = this.targets[this.nextIndex - 1];
    const failover = target !== undefined && (cause === 'timeout' || cause === 'transport-error' || (cause === 'response' && failsOver(status, target.failoverOn)));
    if (!failover) {
      this.current = undefined;
      return { status, reason };
    }
    this.owner.ctx.counters.add('failover');
    this.owner.log.info({ event: 'failover', carrier: target.carrier?.id, host: target.host, status, cause }, `attempt failed (${status} ${reason}): next target`);
    if (cause === 'response' && status !== 503 && (this.best === undefined || betterFinal(status, this.best.status))) this.best = { status, reason };
    return this.next();
  }

  private async prepare(target: CallTarget, maxPerSecond: number | undefined): Promise<{ address?: string; status?: number; reason?: string }> {
    const ctx = this.owner.ctx;
    if (maxPerSecond !== undefined && target.carrier !== undefined) {
      const admission = await ctx.limiter.admit({ key: `carrier.${target.carrier.id}`, maxPerSecond });
      if (!admission.admitted) return { status: 503, reason: admission.limit === 'rate' ? 'Carrier Rate Exceeded' : 'Limits Unavailable' };
    }
    if (isIP(target.host) !== 0) return { address: target.host };
    try {
      return { address: await ctx.resolve(target.host) };
    } catch {
      return { status: 503, reason: 'Target Not Resolved' };
    }
  }

  /** Places one attempt: a new UAC leg whose INVITE is built from the plan, not from the other party's headers. */
  private place(target: CallTarget, address: string): Exhausted | undefined {
    const { ctx, ingress: via } = this.owner;
    const offer = this.offer;
    // the listener the attempt's transport reaches us on: TLS and the rest are different ports
    const same = { address: via.localAddress, port: via.localPort };
    // a node that names no listener of the target's transport (an older one): UDP and TCP share the port (5060), TLS never
    const local = target.transport === via.protocol ? same : via[target.transport] ?? (target.transport !== 'tls' && via.protocol !== 'tls' ? same : undefined);
    if (local === undefined) {
      // RFC 3261 §26.2.2: a TLS target is never tried over a weaker transport
      this.owner.log.warn({ event: 'target-skipped', carrier: target.carrier?.id, host: target.host, reason: `no ${target.transport} listener` }, 'target skipped: the transport node has no listener for its transport');
      this.owner.ctx.counters.add('failover');
      return this.next();
    }
    const peer: Destination = {
      protocol: target.transport, address, port: target.port, nodeId: via.nodeId, localAddress: local.address, localPort: local.port,
      ...(target.transport === 'tls' ? tlsOf(target) : {}),
    };
    const { from, headers } = this.present(target, local.address);
    const to = new (from.constructor as typeof NameAddr)(target.uri.with({ params: [], port: undefined }));
    const name: LegName = `${this.prefix}${++this.placed}`;
    // the Call-ID names no worker (a slot's calls move between workers, and issue 19 wants no internal names on the wire)
    const leg = new LegActor(ctx, newRoutingScope(this.owner.routingSlot), name, 'uac', this.owner.call, `${newCallId()}${newCallId()}@sb`, from, to, peer, target.uri);
    const ref = this.owner.adopt(leg);
    this.current = name;
    this.owner.note({ type: 'attempt', leg: name, at: Date.now(), sipCallId: leg.callId, ...(target.carrier === undefined ? {} : { carrier: target.carrier.id }) });
    const hasSdp = offer.body.length > 0;
    const invite = { type: 'place-invite', uri: target.uri, headers, maxForwards: offer.maxForwards } as const;
    // delayed offer (§13.2.1): the carrier's 2xx offers, our SDP answers in the ACK
    if (target.offer === 'delayed' && hasSdp) ref.tell({ ...invite, ackOffer: { body: offer.body, contentType: offer.contentType } });
    else ref.tell({ ...invite, ...(hasSdp ? { body: offer.body } : {}), ...(offer.contentType === undefined ? {} : { contentType: offer.contentType }) });
    return undefined;
  }
}

/**
 * A TLS target's name to verify (its `tls.serverName`, else the URI's host: RFC 5922 §4) and its
 * own PEM files, which the transport node reads over its defaults.
 */
function tlsOf(target: CallTarget): Pick<Destination, 'serverName' | 'tlsFiles'> {
  const { serverName, caFile, certFile, keyFile } = target.tls ?? {};
  const files = { ...(caFile === undefined ? {} : { caFile }), ...(certFile === undefined ? {} : { certFile }), ...(keyFile === undefined ? {} : { keyFile }) };
  return { serverName: serverName ?? unbracketed(target.uri.host), ...(Object.keys(files).length > 0 ? { tlsFiles: files } : {}) };
}

/** `[2001:db8::1]` → `2001:db8::1`: a URI's IPv6 reference as the address a certificate names. */
function unbracketed(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** §16.7: 6xx first, then the lowest class (a 4xx says more about the call than a 5xx). */
function betterFinal(status: number, than: number): boolean {
  const rank = (s: number) => (s >= 600 ? 0 : s >= 400 && s < 500 ? 1 : 2);
  return rank(status) < rank(than);
}
