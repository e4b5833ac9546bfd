// over 500 lines: one node's sockets, inbound routing and outbound sends share its connection table, counters and slot table; the next split is the outbound sends.
import net from 'node:net';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type PublishOptions, type Subscription } from '@nats-io/transport-node';
import {
  createRefusal, looksLikeResponse, readRoutingFields, routingFieldsOf, SipParseError, StreamFramer, stampVia, viaNeedsStamp,
  type RoutingFields,
} from '@switchboard/sip';
import {
  decodeHeartbeat, decodeOutbound, encodeEnvelope, encodeMap, EnvelopeError, HEARTBEAT_INTERVAL_MS,
  BatchedPublisher, RoutingIds, SlotTable, Subjects, TRACEPARENT_HEADER, WorkerDirectory,
  type InboundSip, type LocalBus, type LocalMessage, type OutboundSip, type SendFailure, type ListenerAddress, type TransportInfo,
} from '@switchboard/wire';
import { activeTelemetry, SpanStatusCode, traceparentOf, type Span, type Tracer } from '@switchboard/telemetry';
import type { Logger } from 'pino';
import { ConnectionTable, type TcpConnection } from './connection-table.js';
import { checkRequest, receiveSpan, sendSpan } from './edge-message.js';
import { EdgeGuard } from './edge-guard.js';
import { bindUdp, listenOn, type UdpListener } from './listeners.js';
import type { HeldMessage } from './held-messages.js';
import { NatsLink } from './nats-link.js';
import { advertisedAddress, plainAddress, type BoundListener } from './peer-address.js';
import { dialStream, onceUsable } from './stream-dialer.js';
import { isVerifyFailure, reloadReporter, TlsCredentials } from './tls-credentials.js';
import { PeerTlsCredentials, peerFilesDirs } from './tls-peers.js';
import { createTlsListener } from './tls-listener.js';
import type { TransportConfig } from './transport-config.js';
import { TransportCounters, type DropReason } from './transport-counters.js';

type Reply = (bytes: Buffer) => void;
/** Where a request came from: what its top Via is stamped with. */
type Source = Pick<TransportInfo, 'remoteAddress' | 'remotePort'>;

const CRLF = Buffer.from('\r\n');

/**
 * The co-located layout (`switchboard-edge-worker`): the worker sharing this node's process and
 * the bus between them. That worker gets the new dialogs while it is active; the SIP between
 * the two is handed over in the process (LocalBus), everything else goes over NATS as ever.
 */
export interface ColocatedWorker {
  workerId: string;
  bus: LocalBus<MsgHdrs>;
  /** The process is too busy to take every new call (transport.edgeWorker.spillAboveLoad): they go to any active worker. */
  busy(): boolean;
}

/**
 * How long a slot whose owner was dropped waits for a survivor to announce it (takeover: at once
 * by the rendezvous winner, 2 s later by anyone, plus adoption) before its messages are answered
 * as for no dialog: long enough for a takeover, short enough that a cluster with no survivor
 * does not keep peers retransmitting for ever.
 */
export const ORPHAN_WAIT_MS = 10_000;

/**
 * The stateless transport node: SIP over UDP, TCP and TLS on one side, NATS on the other. Each
 * inbound message goes to the worker that owns it — the owner of the slot named in our Via
 * branch (responses) or dialog tag (in-dialog requests), as the workers' heartbeats list their
 * slots, else chosen by Call-ID among active workers — and
 * workers' outbound SIP leaves through the node that holds the peer's address or connection.
 */
export class TransportNode {
  readonly counters = new TransportCounters();
  readonly directory = new WorkerDirectory();
  /** Who owns each slot, from the heartbeats (the highest epoch heard wins). */
  readonly slots = new SlotTable();
  /** Whether NATS is reachable, and what waits for it. */
  readonly link: NatsLink;
  private readonly ids: RoutingIds;
  /** Flood protection: strangers and sources over their rate stop here (edge-guard.ts). */
  readonly edge: EdgeGuard;
  private readonly conns = new ConnectionTable();
  private readonly udp: UdpListener[] = [];
  /** TCP and TLS listeners: both carry framed streams. */
  private readonly tcp: { server: net.Server; bound: BoundListener }[] = [];
  /** The node's listener of each transport, named in each new dialog's request: its call may leave over another. */
  private listenersInfo: { udp?: ListenerAddress; tcp?: ListenerAddress; tls?: ListenerAddress } = {};
  /** The listeners' and the outbound connections' PEM files, watched for renewal. */
  private readonly credentials: TlsCredentials[] = [];
  private tlsClient: TlsCredentials | undefined;
  /** Peers' own outbound TLS files (OutboundSip.tlsFiles), over tls.client. */
  private readonly peerTls: PeerTlsCredentials;
  private readonly subs: Subscription[] = [];
  private readonly inboundSubjects = new Map<string, string>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private stopping = false;
  private readonly publisher: BatchedPublisher<PublishOptions>;
  /** Tracing on (startTelemetry ran before this node was made): `sip.receive` and `sip.send` spans. */
  private readonly tracer: Tracer | undefined;

  constructor(
    private readonly config: TransportConfig,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    private readonly colocated?: ColocatedWorker,
  ) {
    this.ids = new RoutingIds(config.routing.secret);
    this.peerTls = new PeerTlsCredentials(config.transport.tls.client, {
      allowedDirs: peerFilesDirs(config.transport),
      // not kept in `credentials`: peer files come and go (PeerTlsCredentials drops the idle ones)
      watch: (c, endpoint) => c.watch(config.transport.tls.reloadCheckMs, reloadReporter(this.counters.tls, this.log, endpoint)),
    });
    this.edge = new EdgeGuard(config.transport.edge, this.ids, log);
    const bus = colocated?.bus;
    this.publisher = new BatchedPublisher(bus === undefined
      ? (subject, data, opts) => this.nc.publish(subject, data, opts)
      : (subject, data, opts) => {
        if (!bus.deliver(subject, data, opts?.headers)) this.nc.publish(subject, data, opts);
      });
    this.tracer = activeTelemetry()?.tracer;
    this.link = new NatsLink(this.directory, {
      ownerOf: (slot) => this.slots.ownerOf(slot),
      abandoned: (slot) => !this.awaitsOwner(slot),
    }, log, config.transport.natsOutage);
  }

  get id(): string {
    return this.config.transport.id;
  }

  listeners(): BoundListener[] {
    return [...this.udp.map((u) => u.bound), ...this.tcp.map((t) => t.bound)];
  }

  async start(): Promise<void> {
    this.subscribe(Subjects.workerHeartbeat, (m) => this.onHeartbeat(m));
    this.subscribe(Subjects.transportOutbound(this.id), (m) => this.onOutbound(m));
    // the co-located worker's SIP for this node: the same handler, without the NATS round
    this.colocated?.bus.serve(Subjects.transportOutbound(this.id), (m) => this.guard(() => this.onOutbound(m)));
    const stats = (m: Msg) => m.respond(encodeMap(this.stats()));
    this.subscribe(Subjects.transportStats(this.id), stats);
    this.subscribe(Subjects.transportStatsAll, stats);
    this.subscribe(Subjects.edgeSources, (m) => this.edge.onSources(m.data));
    this.subscribe(Subjects.edgeAuthenticated, (m) => this.edge.onAuthenticated(m.data));
    await this.nc.flush();
    this.link.watch(this.nc, () => this.link.releaseHeld(this.releaseHeld));
    this.expiryTimer = setInterval(() => {
      for (const id of this.directory.expire()) {
        const orphaned = this.slots.dropWorker(id);
        this.log.warn({ event: 'worker-lost', worker: id, slots: orphaned.length }, 'worker missed its heartbeats: dropped, its slots orphaned');
      }
      this.link.releaseHeld(this.releaseHeld); // the grace after a reconnection may be over
    }, HEARTBEAT_INTERVAL_MS / 2);
    this.expiryTimer.unref();
    const { client } = this.config.transport.tls; // without files: the system's CAs, no client certificate
    if (client.caFile !== undefined || client.certFile !== undefined) this.tlsClient = this.watched(new TlsCredentials(client), 'client');
    for (const l of this.config.transport.listen) {
      const advertise = advertisedAddress(l.host, l.advertise);
      if (l.protocol === 'udp') await this.listenUdp(l.host, l.port, advertise);
      else if (l.tls === undefined) await this.listenTcp(l.host, l.port, advertise);
      else await this.listenTls(l.host, l.port, advertise, this.watched(new TlsCredentials(l.tls), `${l.host}:${l.port}`), l.tls.verifyClient);
    }
    // what every inbound message names: where a call that came in over one transport leaves over another
    for (const { bound } of [...this.udp, ...this.tcp]) this.listenersInfo[bound.protocol] ??= { address: bound.advertise, port: bound.port };
  }

  /** Credentials re-read when their files change: counted, and logged with the reason when they cannot be used. */
  private watched(credentials: TlsCredentials, endpoint: string): TlsCredentials {
    this.credentials.push(credentials.watch(this.config.transport.tls.reloadCheckMs, reloadReporter(this.counters.tls, this.log, endpoint)));
    return credentials;
  }

  /** Stops accepting, lets TCP writes drain (bounded by shutdownGraceMs), then drains NATS. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.expiryTimer);
    this.colocated?.bus.unserve(Subjects.transportOutbound(this.id));
    for (const u of this.udp) u.socket.close();
    for (const t of this.tcp) t.server.close();
    for (const c of this.credentials) c.close();
    this.peerTls.close();
    const closing = [...this.conns.all()].map(
      (c) => new Promise<void>((resolve) => {
        c.socket.once('close', () => resolve());
        c.socket.end();
      }),
    );
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.config.transport.shutdownGraceMs).unref());
    await Promise.race([Promise.all(closing), grace]);
    for (const c of this.conns.all()) c.socket.destroy();
    this.publisher.flush();
    await this.nc.drain();
  }

  stats(): Record<string, unknown> {
    return this.counters.snapshot({
      nodeId: this.id,
      uptimeMs: Date.now() - this.startedAt,
      connections: this.conns.size,
      workers: this.directory.list().map((w) => ({ workerId: w.workerId, state: w.state, calls: w.calls, slots: this.slots.slotsOf(w.workerId).length })),
      // awaiting an owner; a released slot is orphaned too, but waits for nobody
      orphanedSlots: this.slots.orphans().filter((slot) => this.awaitsOwner(slot)).length,
      nats: this.link.snapshot(),
      edge: this.edge.snapshot(),
      // the co-located layout: SIP messages handed over in the process, both ways
      ...(this.colocated === undefined ? {} : { colocated: { workerId: this.colocated.workerId, handedOver: this.colocated.bus.delivered } }),
    });
  }

  private subscribe(subject: string, handle: (m: Msg) => void): void {
    this.subs.push(
      this.nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err !== null) {
            this.log.error({ err, subject }, 'subscription failed');
            return;
          }
          try {
            handle(msg);
          } catch (e) {
            this.log.error({ err: e, subject }, 'handler failed');
          }
        },
      }),
    );
  }

  private async listenUdp(host: string, port: number, advertise: string): Promise<void> {
    const listener = await bindUdp(host, port, advertise, this.log, (socket, data, rinfo, bound) => {
      this.counters.received.udp++;
      const address = plainAddress(rinfo.address);
      this.guard(() =>
        this.onMessage(
          data,
          { protocol: 'udp', localAddress: advertise, localPort: bound.port, remoteAddress: address, remotePort: rinfo.port, nodeId: this.id },
          (bytes) => socket.send(bytes, rinfo.port, rinfo.address),
        ),
      );
    });
    this.udp.push(listener);
  }

  private listenTcp(host: string, port: number, advertise: string): Promise<void> {
    const server = net.createServer((socket) => this.adopt(socket, 'tcp', undefined, advertise));
    return this.listenStream(server, { protocol: 'tcp', address: host, port, advertise });
  }

  private async listenTls(host: string, port: number, advertise: string, credentials: TlsCredentials, verifyClient: boolean): Promise<void> {
    const server = createTlsListener({
      credentials, verifyClient, handshakeTimeoutMs: this.config.transport.tls.handshakeTimeoutMs, counters: this.counters.tls, log: this.log,
      onSecure: (socket) => this.adopt(socket, 'tls', undefined, advertise),
    });
    // named to workers by start() like the others: the first TLS listener, not the last (one with verifyClient may follow it)
    await this.listenStream(server, { protocol: 'tls', address: host, port, advertise });
  }

  private async listenStream(server: net.Server, bound: BoundListener): Promise<void> {
    this.tcp.push(await listenOn(server, bound, this.log));
  }

  /** Puts a TCP or TLS connection in the table and frames what it reads. */
  private adopt(socket: net.Socket, protocol: 'tcp' | 'tls', peer?: { address: string; port: number; serverName?: string | undefined }, advertise?: string): TcpConnection {
    const conn: TcpConnection = {
      id: this.conns.newId(),
      protocol,
      socket,
      framer: new StreamFramer({ maxMessageBytes: this.config.transport.maxMessageBytes }),
      remoteAddress: peer?.address ?? plainAddress(socket.remoteAddress ?? ''),
      remotePort: peer?.port ?? socket.remotePort ?? 0,
    };
    this.conns.add(conn);
    socket.setNoDelay(true);
    socket.setTimeout(this.config.transport.tcp.idleTimeoutMs, () => {
      this.log.debug({ connection: conn.id }, 'idle TCP connection closed');
      socket.destroy();
    });
    socket.on('close', () => {
      this.conns.remove(conn);
      const lost = this.link.discard(conn.id);
      if (lost > 0) this.counters.drop('held-connection-closed', lost);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      conn.lastError = err.code === undefined ? err.message : `${err.code}: ${err.message}`;
      if (protocol === 'tls' && isVerifyFailure(err)) {
        // RFC 5922 §7.2: a peer that cannot prove its name is not the peer; the attempt fails over
        conn.lastError = `certificate verification failed: ${conn.lastError}`;
        this.counters.tls.verifyFailed++;
        this.log.warn({ event: 'tls-verify-failed', reason: conn.lastError, remote: conn.remoteAddress, port: conn.remotePort, serverName: peer?.serverName }, 'peer certificate refused');
      } else this.log.debug({ err, connection: conn.id }, `${protocol.toUpperCase()} connection error`);
    });
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onStreamData(conn, chunk, advertise)));
    return conn;
  }

  private onStreamData(conn: TcpConnection, chunk: Buffer, advertise: string | undefined): void {
    for (const event of conn.framer.push(chunk)) {
      if (event.type === 'ping') {
        this.counters.keepalives++;
        conn.socket.write(CRLF); // RFC 5626 §4.4.1 pong
      } else if (event.type === 'message') {
        this.counters.received[conn.protocol]++;
        const local = conn.socket.localPort ?? 0;
        this.onMessage(
          event.data,
          {
            protocol: conn.protocol, localAddress: advertise ?? plainAddress(conn.socket.localAddress ?? ''), localPort: local,
            remoteAddress: conn.remoteAddress, remotePort: conn.remotePort, connectionId: conn.id, nodeId: this.id,
          },
          (bytes) => conn.socket.write(bytes),
        );
      } else {
        // RFC 3261 §18.3: a stream that cannot be framed cannot be resynchronised
        this.counters.drop('unframeable-stream');
        this.refuse(event.head, event.error.status, event.error.reason, (bytes) => conn.socket.write(bytes), conn);
        this.log.info({ event: 'closed', reason: event.error.reason, remote: conn.remoteAddress, connection: conn.id }, 'unframeable TCP stream: connection closed');
        conn.socket.end();
      }
    }
  }

  private onMessage(data: Buffer, t: TransportInfo, reply: Reply): void {
    if (data.length > this.config.transport.maxMessageBytes) {
      this.counters.drop('oversized');
      this.refuse(data, 513, 'Message Too Large', reply, t);
      return;
    }
    if (looksLikeResponse(data)) {
      this.onResponse(data, t, reply);
      return;
    }
    const screening = this.edge.screen(data, t);
    if (screening === 'drop') return;
    // A request is parsed once, here, in full: the edge refuses a malformed one (`400 <reason>`,
    // RFC 3261 §8.2) so it never costs a worker, and its routing fields come from the model.
    const checked = checkRequest(data);
    if ('fault' in checked) {
      const { fault } = checked;
      if (!this.refuse(data, fault.status, fault.reason, reply, t)) {
        this.dropped(/^\s*ACK[ \t]/.test(data.toString('latin1', 0, 8)) ? 'malformed-ack' : 'unreadable', t, fault.reason);
      }
      return;
    }
    const route = routingFieldsOf(checked.request);
    if (screening === 'rate' && !this.edge.admit(route, t)) return;
    const top = checked.request.headers.topVia;
    const sip = top !== undefined && viaNeedsStamp(top, t.remoteAddress) ? stampVia(data, t.remoteAddress, t.remotePort) : data;
    if (route.toTag !== '') {
      const slot = this.ids.slotOfTag(route.toTag);
      if (slot === undefined) this.ownerGone(data, route, t, reply);
      else this.toSlot(slot, sip, route, t, reply);
      return;
    }
    // no worker reachable, for want of NATS or of an active worker: a new dialog is refused
    const owner = this.link.up ? this.ownerForNewDialog(route.callId) : undefined;
    if (owner !== undefined) this.forward(owner, sip, route, t, Date.now());
    else if (route.method === 'ACK') this.dropped(this.link.up ? 'ack-no-worker' : 'nats-down', t, '', route.callId);
    else this.refuseUnavailable(data, reply, t);
  }

  /** The co-located worker while it is active and the process has room (no NATS between them); else the pick among the active workers. */
  private ownerForNewDialog(callId: string): string | undefined {
    const local = this.colocated;
    if (local !== undefined && this.directory.isActive(local.workerId)) {
      if (!local.busy()) return local.workerId;
      this.counters.spilled++;
    }
    return this.directory.pickForNewDialog(callId);
  }

  /**
   * A message for one of our slots: to its owner; while the slot is orphaned (its owner dropped,
   * no survivor announced yet) held (TCP) or dropped for the peer to retransmit (UDP, responses);
   * for a slot nobody owns or will own, answered as for no dialog.
   */
  private toSlot(slot: number, sip: Uint8Array, route: RoutingFields, t: TransportInfo, reply: Reply): void {
    const owner = this.slots.ownerOf(slot);
    if (owner === undefined ? !this.awaitsOwner(slot) : !this.directory.isLive(owner)) {
      this.ownerGone(sip, route, t, reply);
      return;
    }
    const admission = this.link.admit(slot, sip, route, t);
    switch (admission.action) {
      case 'forward':
        this.forward(admission.workerId, sip, route, t, admission.receivedAt);
        return;
      case 'held':
        return;
      case 'orphaned':
        this.dropped('slot-orphaned', t, String(slot), route.callId);
        return;
      case 'nats-down':
        this.dropped('nats-down', t, owner ?? String(slot), route.callId);
        return;
      case 'held-full':
        if (route.kind === 'request' && route.method !== 'ACK') this.refuseUnavailable(sip, reply, t);
        else this.dropped('held-full', t, owner ?? String(slot), route.callId);
    }
  }

  /** Whether `slot`, with no owner now, was orphaned recently enough that a survivor should announce it. */
  private awaitsOwner(slot: number): boolean {
    const since = this.slots.orphanedSince(slot);
    return since !== undefined && Date.now() - since < ORPHAN_WAIT_MS;
  }

  /** A held message once NATS is back or its slot has an owner: to that owner, unless the directory has since given it up or the slot has none. */
  private readonly releaseHeld = (m: HeldMessage, workerId: string | undefined): void => {
    if (workerId !== undefined && this.directory.isLive(workerId)) this.forward(workerId, m.sip, m.route, m.transport, m.receivedAt);
    else this.ownerGone(m.sip, m.route, m.transport, (bytes) => this.conns.get(m.transport.connectionId ?? '')?.socket.write(bytes));
  };

  /** The dialog or transaction named belongs to no live worker. */
  private ownerGone(data: Uint8Array, route: RoutingFields, t: TransportInfo, reply: Reply): void {
    if (route.kind === 'response') this.dropped('response-owner-gone', t, route.branch, route.callId);
    else if (route.method === 'ACK') this.dropped('ack-owner-gone', t, route.toTag, route.callId);
    else this.refuse(data, 481, 'Call/Transaction Does Not Exist', reply, t);
  }

  private refuseUnavailable(data: Uint8Array, reply: Reply, source: Source): void {
    this.refuse(data, 503, 'Service Unavailable', reply, source, [['Retry-After', String(this.config.transport.retryAfterSeconds)]]);
  }

  /** Responses go to the worker named in our branch, read on the fast path without a parse. */
  private onResponse(data: Buffer, t: TransportInfo, reply: Reply): void {
    let route: RoutingFields;
    try {
      route = readRoutingFields(data);
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      this.dropped('unreadable', t, err.reason); // a response is never answered
      return;
    }
    const slot = this.ids.slotOfBranch(route.branch);
    if (slot === undefined) this.dropped('response-not-ours', t, route.branch, route.callId);
    else this.toSlot(slot, data, route, t, reply);
  }

  /** `receivedAt`: when the message (or, across an outage, its first transmission) arrived. */
  private forward(workerId: string, sip: Uint8Array, route: RoutingFields, transport: TransportInfo, receivedAt: number): void {
    let subject = this.inboundSubjects.get(workerId);
    if (subject === undefined) this.inboundSubjects.set(workerId, (subject = Subjects.workerInbound(workerId)));
    // the node's listener of each transport: only a new dialog's request needs them (its call may
    // leave over another transport: engine/src/dialing/outbound-attempts.ts), not every message
    const info = route.kind === 'request' && route.toTag === '' ? { ...transport, ...this.listenersInfo } : transport;
    const envelope: InboundSip = { v: 1, sip, route, transport: info, receivedAt };
    if (this.tracer === undefined) {
      // the co-located worker takes the envelope itself, at once (nothing encoded, no turn of the
      // event loop); else tracing off means no NATS headers at all (a plain PUB: less to encode
      // here and to parse in nats-server)
      if (this.colocated?.bus.handOver(subject, envelope) !== true) this.publisher.send(subject, encodeEnvelope(envelope));
    } else {
      // the worker's spans are children of this one
      const span = receiveSpan(this.id, this.tracer, workerId, route, transport);
      const h = natsHeaders();
      h.set(TRACEPARENT_HEADER, traceparentOf(span));
      this.publisher.send(subject, encodeEnvelope(envelope), { headers: h });
      span.end();
    }
    this.counters.forwarded++;
  }

  /**
   * Answers a request the node will not forward; returns false when it was not a request to answer.
   * Its top Via gets `received`/`rport` as a forwarded request's does (RFC 3261 §18.2.1, RFC 3581 §4),
   * so a refusal tells a client behind NAT the same as a worker's answer would.
   */
  private refuse(data: Uint8Array, status: number, reason: string, reply: Reply, source: Source, extra: [string, string][] = []): boolean {
    const response = createRefusal(stampVia(data, source.remoteAddress, source.remotePort), status, reason, extra);
    if (response === undefined) return false;
    reply(response);
    this.counters.refuse(status);
    this.log.info({ event: 'refused', status, reason, remote: source.remoteAddress }, 'request refused');
    return true;
  }

  private dropped(reason: DropReason, t: TransportInfo, detail: string, callId?: string): void {
    this.counters.drop(reason);
    this.log.info({ event: 'dropped', reason, detail, callId, remote: t.remoteAddress, protocol: t.protocol }, 'message dropped');
  }

  private onHeartbeat(msg: Msg): void {
    try {
      const hb = decodeHeartbeat(msg.data);
      if (this.directory.onHeartbeat(hb)) this.log.info({ event: 'worker', worker: hb.workerId, state: hb.state }, 'worker state changed');
      if (this.slots.fromHeartbeat(hb.workerId, hb.slots)) this.log.debug({ event: 'slots', worker: hb.workerId, slots: hb.slots.length }, 'slot owners changed');
      this.link.releaseHeld(this.releaseHeld);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      this.counters.drop('bad-envelope');
      this.log.warn({ event: 'dropped', reason: err.code, detail: err.message }, 'bad heartbeat envelope');
    }
  }

  private onOutbound(msg: LocalMessage<MsgHdrs>): void {
    let out: OutboundSip;
    try {
      // handed over by the co-located worker: its envelope as it built it
      out = msg.value !== undefined ? (msg.value as OutboundSip) : decodeOutbound(msg.data ?? new Uint8Array(0));
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      this.counters.drop('bad-envelope');
      this.log.warn({ event: 'dropped', reason: err.code, detail: err.message }, 'bad outbound envelope');
      return;
    }
    const span = this.tracer === undefined ? undefined : sendSpan(this.id, this.tracer, msg, out);
    if (out.protocol === 'udp') this.sendUdp(out, span);
    else this.sendStream(out, out.protocol, span);
  }

  private sendUdp(out: OutboundSip, span?: Span): void {
    const family = net.isIPv6(out.address) ? 6 : 4;
    const listener = this.udp.find((u) => u.family === family);
    if (listener === undefined) {
      this.sendFailed(out, `no UDP listener for IPv${family}`, span);
      return;
    }
    listener.socket.send(out.sip, out.port, out.address, (err) => {
      if (err) this.sendFailed(out, err.message, span);
      else {
        this.counters.sent.udp++;
        span?.end();
      }
    });
  }

  /** TCP or TLS: the peer's connection while it lives (RFC 3261 §18.2.2, RFC 5923's reuse), else a new one. */
  private sendStream(out: OutboundSip, protocol: 'tcp' | 'tls', span?: Span): void {
    let conn = out.connectionId === undefined ? undefined : this.conns.get(out.connectionId);
    conn ??= this.conns.forPeer(protocol, out.address, out.port);
    // the peer's own connection is gone: an in-dialog request goes to its remote target, not to the source port it came from
    const to = conn === undefined && out.fallback !== undefined ? out.fallback : out;
    if (to !== out) conn = this.conns.forPeer(protocol, to.address, to.port);
    if (conn === undefined) {
      const peer = { protocol, address: to.address, port: to.port, serverName: out.serverName };
      let client = this.tlsClient;
      if (protocol === 'tls' && out.tlsFiles !== undefined) {
        try {
          client = this.peerTls.for(out.tlsFiles);
        } catch (err) {
          // the attempt fails (the call fails over) and says which file
          this.counters.tls.peerFilesFailed++;
          this.log.warn({ event: 'tls-peer-files-failed', reason: (err as Error).message, address: out.address, port: out.port }, 'a peer\'s TLS files cannot be used');
          this.sendFailed(out, (err as Error).message, span);
          return;
        }
      }
      conn = this.adopt(dialStream(peer, client, this.config.transport.tcp.connectTimeoutMs), protocol, peer);
    }
    const c = conn;
    const write = () => c.socket.write(out.sip, (err) => {
      if (!err) {
        this.counters.sent[c.protocol]++;
        span?.end();
      }
      // the socket's own error ("ECONNREFUSED") says more than the write's ("socket closed")
      else setImmediate(() => this.sendFailed(out, c.lastError ?? err.message, span));
    });
    if (c.socket.pending) onceUsable(c.socket, c.protocol, (usable) => (usable ? write() : this.sendFailed(out, c.lastError ?? 'connection closed', span)));
    else write();
  }

  private sendFailed(out: OutboundSip, reason: string, span?: Span): void {
    if (span !== undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
      span.end();
    }
    this.counters.sendFailures++;
    this.log.info({ event: 'send-failed', reason, protocol: out.protocol, address: out.address, port: out.port, worker: out.workerId }, 'send failed');
    const failure: SendFailure = { v: 1, reason, protocol: out.protocol, address: out.address, port: out.port };
    if (out.ref !== undefined) failure.ref = out.ref;
    try {
      this.nc.publish(Subjects.sendFailure(out.workerId), encodeEnvelope(failure));
    } catch (err) {
      this.log.warn({ err }, 'could not report a send failure');
    }
  }

  /** Nothing a peer sends may take the process down: a fault in handling is logged and counted. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'message handling failed');
    }
  }
}
