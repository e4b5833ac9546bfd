import type { Msg, MsgHdrs, NatsConnection, PublishOptions } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { serializeMessage, SipResponse, type SipMessage } from '@switchboard/sip';
import {
  BatchedPublisher, decodeBridged, decodeInbound, decodeJoinReply, decodeJoinRequest, decodeSendFailure, encodeBridged, encodeEnvelope,
  encodeJoinReply, encodeJoinRequest, encodeMap, ENVELOPE_VERSION, EnvelopeError, Subjects, TRACEPARENT_HEADER, type JoinRequest as WireJoinRequest, type OutboundSip,
  type InboundSip, type LocalBus, type LocalMessage,
} from '@switchboard/wire';
import type { Logger } from 'pino';
import type { InboundRouter } from '../router.js';
import type { Counters } from '../metrics/counters.js';
import type { JoinReply, JoinRequest } from '../protocol/bridge-messages.js';
import type { BridgedMessage, CallBridge } from '../protocol/call-messages.js';
import { fromWireBridged, fromWireJoinReply, fromWireJoinRequest, toWireBridged, toWireJoinReply, toWireJoinRequest } from '../transfer/call-bridge.js';
import type { Destination, SipLink } from '../protocol/sip-link.js';
import type { CallSpan } from '../tracing/call-tracer.js';
import type { TransactionSpans } from '../tracing/transaction-spans.js';
import { OutageQueue, type OutageQueueLimits } from './outage-queue.js';

/** Counter names of responses sent, by class, and of the statuses operators watch on their own. */
const RESPONSE_CLASS = ['', 'responses.1xx', 'responses.2xx', 'responses.3xx', 'responses.4xx', 'responses.5xx', 'responses.6xx'];
const RESPONSE_NAMED = new Map([400, 403, 503].map((s) => [s, `responses.${s}`] as const));

/** How long a join waits for the worker owning the replaced dialog (the transfer fails with 481 past it). */
export const JOIN_TIMEOUT_MS = 2_000;

/** What the link hands the worker's inbound traffic to (the InboundRouter). */
export type LinkTarget = Pick<InboundRouter, 'onInbound' | 'onSendFailure' | 'onJoin' | 'onBridged'>;

export interface NatsLinkOptions {
  workerId: string;
  nc: NatsConnection;
  log: Logger;
  /** Responses sent, by class. */
  counters: Counters;
  /** `sip.transaction` spans, when tracing is on. */
  transactions: TransactionSpans | undefined;
  /** The router: made after the link (its context holds the link), read when traffic arrives. */
  router: () => LinkTarget;
  /** What the stats subject answers. */
  stats: () => unknown;
  /** How much SIP is held while NATS is unreachable (worker.outageQueue). */
  outageQueue: OutageQueueLimits;
  /**
   * Fencing (docs/architecture.md "Worker takeover"): `stale()` is read before anything is
   * published; true (no heartbeat confirmed for half the drop timeout) holds what is sent, as
   * for an outage, and calls `fenced()` once, until `release()`.
   */
  fence?: { stale(): boolean; fenced(): void };
  /**
   * The co-located layout: the transport node sharing this process. SIP between the two is
   * handed over here instead of crossing NATS; held, fenced and released exactly as on NATS.
   */
  local?: LocalBus<MsgHdrs>;
}

/** What one outage cost: publishes held, and of those dropped (oldest first) to stay within the bounds. */
export interface OutageSummary {
  queued: number;
  dropped: number;
}

/**
 * A worker's NATS side: the SIP its actors send, published to the transport node of each
 * destination; the subscriptions of its subjects (inbound SIP, send failures, joins, bridged
 * messages, stats); and the CallBridge joining calls across workers.
 */
export class NatsLink implements SipLink {
  /** Attended transfers within this worker stay in it; across workers, NATS request/reply and publish. */
  readonly bridge: CallBridge;
  private readonly publisher: BatchedPublisher<PublishOptions>;
  private readonly outboundSubjects = new Map<string, string>();
  private readonly heldQueue: OutageQueue<PublishOptions>;
  private holding = false;
  private outage: OutageSummary = { queued: 0, dropped: 0 };

  constructor(private readonly o: NatsLinkOptions) {
    this.heldQueue = new OutageQueue(o.outageQueue);
    this.publisher = new BatchedPublisher(this.publish);
    this.bridge = { join: (worker, request) => this.join(worker, request), send: (to, message) => this.sendBridged(to.call, to.worker, message) };
  }

  send(message: SipMessage, to: Destination, ref?: string, trace?: CallSpan): void {
    if (message instanceof SipResponse) this.countResponse(message.status);
    const out: OutboundSip = { v: ENVELOPE_VERSION, sip: serializeMessage(message), protocol: to.protocol, address: to.address, port: to.port, workerId: this.o.workerId };
    if (to.connectionId !== undefined) out.connectionId = to.connectionId;
    if (to.fallback !== undefined) out.fallback = to.fallback;
    if (to.serverName !== undefined) out.serverName = to.serverName;
    if (to.tlsFiles !== undefined) out.tlsFiles = to.tlsFiles;
    if (ref !== undefined) out.ref = ref;
    let subject = this.outboundSubjects.get(to.nodeId);
    if (subject === undefined) this.outboundSubjects.set(to.nodeId, (subject = Subjects.transportOutbound(to.nodeId)));
    // tracing on: the transport's `sip.send` span joins the call's trace through this header
    const traceparent = this.o.transactions?.sent(message, trace);
    if (traceparent === undefined) {
      // the co-located transport node takes the envelope itself, at once; held SIP waits as bytes like any other
      const handedOver = this.o.local !== undefined && this.open() && this.o.local.handOver(subject, out);
      if (!handedOver) this.publisher.send(subject, encodeEnvelope(out));
    } else {
      const h = natsHeaders();
      h.set(TRACEPARENT_HEADER, traceparent);
      this.publisher.send(subject, encodeEnvelope(out), { headers: h });
    }
  }

  /** Subscribes to the worker's subjects; resolves once the server has them. */
  async subscribe(): Promise<void> {
    const { nc, workerId } = this.o;
    const on = (subject: string, what: string, handle: (msg: Msg) => void) =>
      nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err !== null) return;
          try {
            handle(msg);
          } catch (e) {
            this.fault(e, what);
          }
        },
      });
    // no unsubscribe: the worker's stop drains the connection, and these with it
    on(Subjects.workerInbound(workerId), 'inbound', (msg) => this.onInbound(msg));
    this.o.local?.serve(Subjects.workerInbound(workerId), (msg) => {
      try {
        this.onInbound(msg);
      } catch (e) {
        this.fault(e, 'inbound');
      }
    });
    on(Subjects.workerStats(workerId), 'stats', (msg) => msg.respond(encodeMap(this.o.stats())));
    on(Subjects.workerJoin(workerId), 'join', (msg) => this.onJoin(msg));
    on(Subjects.workerBridge(workerId), 'bridge', (msg) => this.onBridged(msg));
    on(Subjects.sendFailure(workerId), 'send failure', (msg) => this.o.router().onSendFailure(decodeSendFailure(msg.data)));
    await nc.flush();
  }

  /** Stopping: sends what is batched now; the co-located transport's SIP for this worker goes to NATS from now on. */
  close(): void {
    this.publisher.flush();
    this.o.local?.unserve(Subjects.workerInbound(this.o.workerId));
  }

  /**
   * NATS is unreachable: what the actors send from now on waits here, bounded. Left to itself the
   * client (nats.js 3.x has no `reconnectBufSize`, unlike the Go client) appends every publish
   * made while disconnected to an unbounded buffer and empties that buffer at the start of each
   * reconnect attempt (`ProtocolHandler.prepare` → `resetOutbound`): a BYE or its 200 sent during
   * the outage would be lost, silently and uncounted. Publishes already written to a socket that
   * died unnoticed are lost either way: the transactions' retransmissions cover those.
   */
  hold(): void {
    this.holding = true;
    this.outage = { queued: 0, dropped: 0 };
  }

  /** Whether what is sent is being held (an outage, or fencing). */
  get held(): boolean {
    return this.holding;
  }

  /** Fencing: drops the held publishes `unwanted` names (the SIP of slots this worker lost); returns how many. */
  discardHeld(unwanted: (subject: string, data: Uint8Array) => boolean): number {
    return this.heldQueue.discard((h) => unwanted(h.subject, h.data));
  }

  /** NATS is back: what was held goes first, oldest first, then publishes go straight out again. */
  release(): OutageSummary {
    this.holding = false;
    for (const { subject, data, options } of this.heldQueue.drain()) this.out(subject, data, options);
    // what was batched before the release goes before what is sent after it (handed over at once)
    this.publisher.flush();
    return this.outage;
  }

  /** The batched SIP and the bridged messages: to NATS, or held while it is unreachable. */
  private readonly publish = (subject: string, data: Uint8Array, options?: PublishOptions): void => {
    if (this.open()) return this.out(subject, data, options);
    const dropped = this.heldQueue.push({ subject, data, options });
    this.outage.queued++;
    this.o.counters.add('outbound.queued');
    if (dropped === 0) return;
    this.outage.dropped += dropped;
    this.o.counters.add('outbound.dropped', dropped);
  };

  /** Whether what is sent goes out now: not held for an outage, nor fenced (which starts holding here). */
  private open(): boolean {
    if (!this.holding && this.o.fence?.stale() === true) {
      this.hold();
      this.o.fence.fenced();
    }
    return !this.holding;
  }

  /** To the co-located transport node when it serves `subject`, else to NATS. */
  private out(subject: string, data: Uint8Array, options?: PublishOptions): void {
    if (this.o.local?.deliver(subject, data, options?.headers) !== true) this.o.nc.publish(subject, data, options);
  }

  private onInbound(msg: LocalMessage<MsgHdrs>): void {
    // handed over by the co-located transport node: its envelope as it built it
    const env = msg.value !== undefined ? (msg.value as InboundSip) : decodeInbound(msg.data ?? new Uint8Array(0));
    const transactions = this.o.transactions;
    if (transactions === undefined) this.o.router().onInbound(env);
    else {
      // tracing on: the transport's `sip.receive` span is the parent (NATS has no OTel instrumentation)
      const traceparent = msg.headers?.get(TRACEPARENT_HEADER) || undefined;
      transactions.received(env, traceparent);
      this.o.router().onInbound(env, traceparent);
    }
  }

  /** Another worker asks for the far party of one of our dialogs: every request is answered, a refused one too. */
  private onJoin(msg: Msg): void {
    let request: WireJoinRequest;
    try {
      request = decodeJoinRequest(msg.data);
    } catch (e) {
      if (!(e instanceof EnvelopeError)) throw e;
      this.refused(e, 'join');
      // a newer worker mid-upgrade: an answer now, not the asker's timeout; 503 as for maintenance (RFC 3261 §21.5.4)
      const reply: JoinReply = e.code === 'unknown-version' ? { ok: false, status: 503, reason: 'Join Version Not Supported' } : { ok: false, status: 400, reason: 'Bad Join Request' };
      msg.respond(encodeJoinReply(toWireJoinReply(reply)));
      return;
    }
    this.o.router().onJoin(fromWireJoinRequest(request), (reply) => msg.respond(encodeJoinReply(toWireJoinReply(reply))));
  }

  private onBridged(msg: Msg): void {
    let bridged: ReturnType<typeof fromWireBridged>;
    try {
      bridged = fromWireBridged(decodeBridged(msg.data));
    } catch (e) {
      if (!(e instanceof EnvelopeError)) throw e;
      this.refused(e, 'bridge');
      return;
    }
    this.o.router().onBridged(bridged.call, bridged.message);
  }

  private async join(worker: string, request: JoinRequest): Promise<JoinReply> {
    if (worker === this.o.workerId) {
      // bounded like the NATS request: a join nobody answers must not hold the transfer
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve({ ok: false, status: 408, reason: 'Request Timeout' }), JOIN_TIMEOUT_MS);
        this.o.router().onJoin(request, (reply) => {
          clearTimeout(timer);
          resolve(reply);
        });
      });
    }
    const reply = await this.o.nc.request(Subjects.workerJoin(worker), encodeJoinRequest(toWireJoinRequest(request)), { timeout: JOIN_TIMEOUT_MS });
    try {
      return fromWireJoinReply(decodeJoinReply(reply.data));
    } catch (e) {
      // rejected: the transfer fails as for a join that was not answered
      if (e instanceof EnvelopeError) this.refused(e, 'join reply', worker);
      throw e;
    }
  }

  private sendBridged(call: string, worker: string, message: BridgedMessage): void {
    if (worker === this.o.workerId) return this.o.router().onBridged(call, message);
    const wire = toWireBridged(call, message);
    if (wire === undefined) this.o.log.warn({ event: 'dropped', reason: 'not-relayed', worker, call }, 'a command the bridge does not carry');
    else this.publish(Subjects.workerBridge(worker), encodeBridged(wire));
  }

  /** On every response sent: counter names are constants, so the hot path builds no strings. */
  private countResponse(status: number): void {
    const counters = this.o.counters;
    counters.add(RESPONSE_CLASS[Math.floor(status / 100)] ?? 'responses.other');
    const named = RESPONSE_NAMED.get(status);
    if (named !== undefined) counters.add(named);
  }

  /** A worker-to-worker envelope this worker cannot read: never guessed at, always logged with the version seen. */
  private refused(err: EnvelopeError, what: 'join' | 'join reply' | 'bridge', from?: string): void {
    const version = err.code === 'unknown-version' ? { version: err.version ?? 'none' } : {};
    this.o.log.warn(
      { event: what === 'bridge' ? 'dropped' : 'refused', subject: what, reason: err.code, ...version, detail: err.message, ...(from === undefined ? {} : { worker: from }) },
      `${what} refused: ${err.message}`,
    );
  }

  private fault(err: unknown, what: string): void {
    if (err instanceof EnvelopeError) this.o.log.warn({ event: 'dropped', reason: err.code, detail: err.message }, `bad ${what} envelope`);
    else this.o.log.error({ err }, `${what} handling failed`);
  }
}
