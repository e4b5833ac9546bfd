import dgram from 'node:dgram';
import net from 'node:net';
import { headers as natsHeaders, type Msg, type NatsConnection, type PublishOptions, type Subscription } from '@nats-io/transport-node';
import {
  createRefusal, looksLikeResponse, readRoutingFields, routingFieldsOf, SipParseError, StreamFramer, stampVia, viaNeedsStamp, type RoutingFields,
} from '@switchboard/sip';
import {
  decodeHeartbeat, decodeOutbound, encodeEnvelope, encodeMap, EnvelopeError, HEARTBEAT_INTERVAL_MS, newTraceparent,
  BatchedPublisher, RoutingIds, Subjects, TRACEPARENT_HEADER, WorkerDirectory,
  type InboundSip, type OutboundSip, type SendFailure, type TransportInfo,
} from '@switchboard/wire';
import { activeTelemetry, SpanKind, SpanStatusCode, spanContextOf, contextOf, traceparentOf, type Span, type Tracer } from '@switchboard/telemetry';
import type { Logger } from 'pino';
import { ConnectionTable, type TcpConnection } from './connection-table.js';
import { EdgeGuard } from './edge-guard.js';
import { checkRequest } from './request-check.js';
import type { HeldMessage } from './held-messages.js';
import { NatsLink } from './nats-link.js';
import { advertisedAddress, plainAddress } from './peer-address.js';
import type { TransportConfig } from './transport-config.js';
import { TransportCounters, type DropReason } from './transport-counters.js';

export interface BoundListener {
  protocol: 'udp' | 'tcp';
  address: string;
  port: number;
}

type Reply = (bytes: Buffer) => void;
/** Where a request came from: what its top Via is stamped with. */
type Source = Pick<TransportInfo, 'remoteAddress' | 'remotePort'>;

const CRLF = Buffer.from('\r\n');

/**
 * The stateless transport node: SIP over UDP and TCP on one side, NATS on the other. Each
 * inbound message goes to the worker that owns it — named in our Via branch (responses)
 * or dialog tag (in-dialog requests), else chosen by Call-ID among active workers — and
 * workers' outbound SIP leaves through the node that holds the peer's address or connection.
 */
export class TransportNode {
  readonly counters = new TransportCounters();
  readonly directory = new WorkerDirectory();
  /** Whether NATS is reachable, and what waits for it. */
  readonly link: NatsLink;
  private readonly ids: RoutingIds;
  /** Flood protection: strangers and sources over their rate stop here (edge-guard.ts). */
  readonly edge: EdgeGuard;
  private readonly conns = new ConnectionTable();
  private readonly udp: { socket: dgram.Socket; family: 4 | 6; bound: BoundListener }[] = [];
  private readonly tcp: { server: net.Server; bound: BoundListener }[] = [];
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
  ) {
    this.ids = new RoutingIds(config.routing.secret);
    this.edge = new EdgeGuard(config.transport.edge, this.ids, log);
    this.publisher = new BatchedPublisher((subject, data, opts) => this.nc.publish(subject, data, opts));
    this.tracer = activeTelemetry()?.tracer;
    this.link = new NatsLink(this.directory, log, config.transport.natsOutage);
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
    const stats = (m: Msg) => m.respond(encodeMap(this.stats()));
    this.subscribe(Subjects.transportStats(this.id), stats);
    this.subscribe(Subjects.transportStatsAll, stats);
    this.subscribe(Subjects.edgeSources, (m) => this.edge.onSources(m.data));
    this.subscribe(Subjects.edgeAuthenticated, (m) => this.edge.onAuthenticated(m.data));
    await this.nc.flush();
    this.link.watch(this.nc, () => this.link.releaseHeld(this.releaseHeld));
    this.expiryTimer = setInterval(() => {
      for (const id of this.directory.expire()) this.log.warn({ event: 'worker-lost', worker: id }, 'worker missed its heartbeats: dropped');
      this.link.releaseHeld(this.releaseHeld); // the grace after a reconnection may be over
    }, HEARTBEAT_INTERVAL_MS / 2);
    this.expiryTimer.unref();
    for (const l of this.config.transport.listen) {
      const advertise = advertisedAddress(l.host, l.advertise);
      if (l.protocol === 'udp') await this.listenUdp(l.host, l.port, advertise);
      else await this.listenTcp(l.host, l.port, advertise);
    }
  }

  /** Stops accepting, lets TCP writes drain (bounded by shutdownGraceMs), then drains NATS. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.expiryTimer);
    for (const u of this.udp) u.socket.close();
    for (const t of this.tcp) t.server.close();
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
      workers: this.directory.list().map((w) => ({ workerId: w.workerId, state: w.state, calls: w.calls })),
      nats: this.link.snapshot(),
      edge: this.edge.snapshot(),
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

  private listenUdp(host: string, port: number, advertise: string): Promise<void> {
    const family = net.isIPv6(host) ? 6 : 4;
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
    socket.on('message', (data, rinfo) => {
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
    socket.on('error', (err) => this.log.error({ err, host, port }, 'UDP socket error'));
    const bound: BoundListener = { protocol: 'udp', address: host, port };
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        bound.port = socket.address().port;
        this.udp.push({ socket, family, bound });
        resolve();
      });
    });
  }

  private listenTcp(host: string, port: number, advertise: string): Promise<void> {
    const server = net.createServer((socket) => this.adopt(socket, undefined, advertise));
    server.on('error', (err) => this.log.error({ err, host, port }, 'TCP listener error'));
    const bound: BoundListener = { protocol: 'tcp', address: host, port };
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: net.isIPv6(host) }, () => {
        server.off('error', reject);
        bound.port = (server.address() as net.AddressInfo).port;
        this.tcp.push({ server, bound });
        resolve();
      });
    });
  }

  /** Puts a TCP connection in the table and frames what it reads. */
  private adopt(socket: net.Socket, peer?: { address: string; port: number }, advertise?: string): TcpConnection {
    const conn: TcpConnection = {
      id: this.conns.newId(),
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
      this.log.debug({ err, connection: conn.id }, 'TCP connection error');
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
        this.counters.received.tcp++;
        const local = conn.socket.localPort ?? 0;
        this.onMessage(
          event.data,
          {
            protocol: 'tcp', localAddress: advertise ?? plainAddress(conn.socket.localAddress ?? ''), localPort: local,
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
      const owner = this.ids.ownerOfTag(route.toTag);
      if (owner === undefined || !this.directory.isLive(owner)) this.ownerGone(data, route, t, reply);
      else this.deliver(owner, sip, route, t, reply);
      return;
    }
    // no worker reachable, for want of NATS or of an active worker: a new dialog is refused
    const owner = this.link.up ? this.directory.pickForNewDialog(route.callId) : undefined;
    if (owner !== undefined) this.forward(owner, sip, route, t, Date.now());
    else if (route.method === 'ACK') this.dropped(this.link.up ? 'ack-no-worker' : 'nats-down', t, '', route.callId);
    else this.refuseUnavailable(data, reply, t);
  }

  /** A message for a live worker's dialog: forwarded, or while NATS is out held (TCP) or left to the peer's retransmission (UDP). */
  private deliver(workerId: string, sip: Uint8Array, route: RoutingFields, t: TransportInfo, reply: Reply): void {
    const admission = this.link.admit(workerId, sip, route, t);
    switch (admission.action) {
      case 'forward':
        this.forward(workerId, sip, route, t, admission.receivedAt);
        return;
      case 'held':
        return;
      case 'nats-down':
        this.dropped('nats-down', t, workerId, route.callId);
        return;
      case 'held-full':
        if (route.kind === 'request' && route.method !== 'ACK') this.refuseUnavailable(sip, reply, t);
        else this.dropped('held-full', t, workerId, route.callId);
    }
  }

  /** A held message once NATS is back: to its worker, unless the directory has since given that worker up. */
  private readonly releaseHeld = (m: HeldMessage): void => {
    if (this.directory.isLive(m.workerId)) this.forward(m.workerId, m.sip, m.route, m.transport, m.receivedAt);
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
    const owner = this.ids.ownerOfBranch(route.branch);
    if (owner === undefined) this.dropped('response-not-ours', t, route.branch, route.callId);
    else if (!this.directory.isLive(owner)) this.dropped('response-owner-gone', t, owner, route.callId);
    else this.deliver(owner, data, route, t, reply);
  }

  /** `receivedAt`: when the message (or, across an outage, its first transmission) arrived. */
  private forward(workerId: string, sip: Uint8Array, route: RoutingFields, transport: TransportInfo, receivedAt: number): void {
    let subject = this.inboundSubjects.get(workerId);
    if (subject === undefined) this.inboundSubjects.set(workerId, (subject = Subjects.workerInbound(workerId)));
    const envelope: InboundSip = { v: 1, sip, route, transport, receivedAt };
    const h = natsHeaders();
    // tracing off: a fresh id costs nothing; on: the worker's spans are children of this one
    const span = this.tracer === undefined ? undefined : this.receiveSpan(this.tracer, workerId, route, transport);
    h.set(TRACEPARENT_HEADER, span === undefined ? newTraceparent() : traceparentOf(span));
    this.publisher.send(subject, encodeEnvelope(envelope), { headers: h });
    this.counters.forwarded++;
    span?.end();
  }

  /**
   * One received message, forwarded: a new trace for each (the node is stateless, it cannot know a
   * dialog's call); the worker joins a new call's trace to its INVITE's, and in-dialog requests to their call's.
   */
  private receiveSpan(tracer: Tracer, workerId: string, route: RoutingFields, t: TransportInfo): Span {
    return tracer.startSpan('sip.receive', {
      kind: SpanKind.CONSUMER,
      attributes: {
        'sip.method': route.method, ...(route.kind === 'response' ? { 'sip.status_code': route.status } : {}), 'sip.call_id': route.callId,
        'network.transport': t.protocol, 'network.peer.address': t.remoteAddress, 'network.peer.port': t.remotePort,
        'switchboard.transport': this.id, 'switchboard.worker': workerId,
      },
    });
  }

  /** SIP a worker sent within a traced call (its `traceparent` header): a child span, ended once it is written. */
  private sendSpan(tracer: Tracer, msg: Msg, out: OutboundSip): Span | undefined {
    const parent = spanContextOf(msg.headers?.get(TRACEPARENT_HEADER));
    if (parent === undefined) return undefined;
    let route: RoutingFields | undefined;
    try {
      route = readRoutingFields(out.sip);
    } catch {
      route = undefined; // unreadable (never from our workers): the span still shows that it left
    }
    return tracer.startSpan('sip.send', {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...(route === undefined ? {} : { 'sip.method': route.method, 'sip.call_id': route.callId, ...(route.kind === 'response' ? { 'sip.status_code': route.status } : {}) }),
        'network.transport': out.protocol, 'network.peer.address': out.address, 'network.peer.port': out.port,
        'switchboard.transport': this.id, 'switchboard.worker': out.workerId,
      },
    }, contextOf(parent));
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
      this.link.releaseHeld(this.releaseHeld);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      this.counters.drop('bad-envelope');
      this.log.warn({ event: 'dropped', reason: err.code, detail: err.message }, 'bad heartbeat envelope');
    }
  }

  private onOutbound(msg: Msg): void {
    let out: OutboundSip;
    try {
      out = decodeOutbound(msg.data);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      this.counters.drop('bad-envelope');
      this.log.warn({ event: 'dropped', reason: err.code, detail: err.message }, 'bad outbound envelope');
      return;
    }
    const span = this.tracer === undefined ? undefined : this.sendSpan(this.tracer, msg, out);
    if (out.protocol === 'udp') this.sendUdp(out, span);
    else this.sendTcp(out, span);
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

  private sendTcp(out: OutboundSip, span?: Span): void {
    let conn = out.connectionId === undefined ? undefined : this.conns.get(out.connectionId);
    conn ??= this.conns.forPeer(out.address, out.port);
    if (conn === undefined) {
      const socket = net.connect({ host: out.address, port: out.port });
      conn = this.adopt(socket, { address: out.address, port: out.port });
      const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), this.config.transport.tcp.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    }
    const c = conn;
    c.socket.write(out.sip, (err) => {
      if (!err) {
        this.counters.sent.tcp++;
        span?.end();
      }
      // the socket's own error ("ECONNREFUSED") says more than the write's ("socket closed")
      else setImmediate(() => this.sendFailed(out, c.lastError ?? err.message, span));
    });
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
