import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { CdrPublisher, CdrQueryService, CdrSpool, ensureCdrStream, jetStreamPublish } from '@switchboard/cdr';
import type { NatsConnection, PublishOptions, Subscription } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { activeTelemetry } from '@switchboard/telemetry';
import { DigestAuthenticator, TrunkPolicy, type TrunkingConfig } from '@switchboard/trunking';
import { serializeMessage, SipResponse, type SipMessage } from '@switchboard/sip';
import type { AdminRequest, CallDetail, CallSummary, ConfigSnapshot, WorkerStats } from '@switchboard/admin';
import {
  BatchedPublisher, decodeInbound, decodeMap, decodeSendFailure, encodeEnvelope, encodeMap, EnvelopeError, HEARTBEAT_INTERVAL_MS, RoutingIds,
  Subjects, TRACEPARENT_HEADER, type OutboundSip, type WorkerState,
} from '@switchboard/wire';
import type { Logger } from 'pino';
import { CdrActor } from '../records/cdr-actor.js';
import { InboundRouter } from '../router.js';
import type { EngineContext } from '../context.js';
import { Counters } from '../metrics/counters.js';
import { KvCallLimiter, LocalCallLimiter } from '@switchboard/limits';
import { SipLocator } from '../locate/sip-locator.js';
import { JOIN_ATTACH_MS, readBridgedMessage, readJoinRequest, type JoinReply } from '../transfer/call-bridge.js';
import type { ActorKernel } from '../kernel/actor-kernel.js';
import { NactKernel } from '../kernel/nact-kernel.js';
import type { Destination, SipLink } from '../protocol/sip-link.js';
import type { WorkerConfig } from './worker-config.js';
import type { CallSpan } from '../tracing/call-tracer.js';
import { OtelCallTracer } from '../tracing/otel-call-tracer.js';
import { TransactionSpans } from '../tracing/transaction-spans.js';
import { AdminRefusal, AdminService, type AdminTarget } from './admin-service.js';
import { ConfigWriteError, LiveTrunking } from './live-trunking.js';

export const ENGINE_VERSION = '0.1.0';

/** Counter names of responses sent, by class, and of the statuses operators watch on their own. */
const RESPONSE_CLASS = ['', 'responses.1xx', 'responses.2xx', 'responses.3xx', 'responses.4xx', 'responses.5xx', 'responses.6xx'];
const RESPONSE_NAMED = new Map([400, 403, 503].map((s) => [s, `responses.${s}`] as const));

/**
 * A worker process: receives its SIP over NATS, runs the engine's actors, publishes what they
 * send to the transport node of each destination, and heartbeats its state and call count.
 */
export class WorkerNode implements SipLink, AdminTarget {
  readonly engine: InboundRouter;
  readonly kernel: ActorKernel = new NactKernel();
  private state: WorkerState = 'active';
  private readonly subs: Subscription[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly publisher: BatchedPublisher<PublishOptions>;
  private readonly outboundSubjects = new Map<string, string>();
  private readonly cdrPublisher: CdrPublisher;
  /** `sip.transaction` spans, when tracing is on (startTelemetry ran before this node was made). */
  private readonly transactions: TransactionSpans | undefined;
  private cdrQuery: CdrQueryService | undefined;
  private admin: AdminService | undefined;
  private live: LiveTrunking | undefined;
  private readonly digest: DigestAuthenticator;
  private readonly seed: TrunkingConfig;
  /** `calls.started` once a second over the last minute, for calls per second. */
  private readonly callSamples: number[] = [];
  readonly version = ENGINE_VERSION;

  /** `cdrSpoolDir`: the spool folder of config.cdr.spoolDir, resolved (this worker's own folder is made under it). */
  constructor(
    private readonly config: WorkerConfig,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    trunking: TrunkingConfig,
    cdrSpoolDir: string = config.cdr.spoolDir,
  ) {
    this.publisher = new BatchedPublisher((subject, data, opts) => this.nc.publish(subject, data, opts));
    const telemetry = activeTelemetry();
    this.transactions = telemetry === undefined ? undefined : new TransactionSpans(telemetry.tracer, { workerId: config.worker.id, staleMs: 64 * config.worker.timers.t1 });
    // stateless nonces: any worker verifies what another challenged (the retry may land elsewhere)
    this.digest = new DigestAuthenticator({ secret: `digest|${config.routing.secret}` });
    this.seed = trunking;
    this.cdrPublisher = new CdrPublisher({
      spool: new CdrSpool(join(cdrSpoolDir, config.worker.id)),
      publish: jetStreamPublish(jetstream(nc), config.cdr.publishTimeoutMs),
      onError: (err, pending) => this.log.warn({ event: 'cdr-publish-failed', err: (err as Error)?.message, pending }, 'CDR publish failed: kept in the spool, retrying'),
    });
    const ctx: EngineContext = {
      workerId: config.worker.id,
      ids: new RoutingIds(config.routing.secret),
      link: this,
      kernel: this.kernel,
      timers: config.worker.timers,
      sessionTimers: { minSE: config.worker.sessionTimers.minSE },
      // replaced by the cluster's live configuration in start() (seeded from this file by the first worker)
      policy: new TrunkPolicy(trunking, this.digest),
      // replaced by the cluster-wide limiter in start(), before any call arrives
      limiter: new LocalCallLimiter(),
      resolve: async (host) => (await lookup(host)).address,
      // RFC 2782: equal-priority SRV targets share the load by weight
      locator: new SipLocator({ overrides: trunking.sipTransfers.overrides, random: Math.random }),
      transferorByeMs: config.worker.transfer.transferorByeMs,
      bridge: {
        // attended transfers within this worker stay in it; across workers, NATS request/reply and publish
        join: async (worker, request) => {
          if (worker === this.id) {
            // bounded like the NATS request: a join nobody answers must not hold the transfer
            return new Promise((resolve) => {
              const timer = setTimeout(() => resolve({ ok: false, status: 408, reason: 'Request Timeout' }), 2_000);
              this.engine.onJoin(request, (reply) => {
                clearTimeout(timer);
                resolve(reply);
              });
            });
          }
          const reply = await this.nc.request(Subjects.workerJoin(worker), encodeMap(request), { timeout: 2_000 });
          return decodeMap(reply.data) as JoinReply;
        },
        send: (to, message) => {
          if (to.worker === this.id) this.engine.onBridged(to.call, message);
          else this.nc.publish(Subjects.workerBridge(to.worker), encodeMap({ call: to.call, message }));
        },
      },
      joinAttachMs: JOIN_ATTACH_MS,
      cdr: CdrActor.spawn(this.kernel, config.worker.id, this.cdrPublisher, log),
      counters: new Counters(),
      noAnswerMs: config.worker.noAnswerMs,
      log,
      invites: new Map(),
      calls: new Map(),
      tracer: telemetry === undefined ? undefined : new OtelCallTracer(telemetry.tracer, config.worker.id),
    };
    this.engine = new InboundRouter(ctx);
  }

  get id(): string {
    return this.config.worker.id;
  }

  get calls(): number {
    return this.engine.ctx.calls.size;
  }

  async start(): Promise<void> {
    const limits = this.config.worker.limits;
    this.engine.ctx.limiter = await KvCallLimiter.open(this.nc, { workerId: this.id, bucket: limits.bucket, leaseMs: limits.leaseMs, timeoutMs: limits.timeoutMs, log: this.log });
    this.live = await LiveTrunking.open(this.nc, this.seed, this.log, (trunking, revision) => {
      this.engine.ctx.policy = new TrunkPolicy(trunking, this.digest);
      this.engine.ctx.locator = new SipLocator({ overrides: trunking.sipTransfers.overrides, random: Math.random });
      this.log.info({ event: 'trunking', revision, trunks: trunking.trunks.length, carriers: trunking.carriers.length }, 'trunking configuration in force');
    });
    this.admin = new AdminService(this.nc, this, this.log);
    await this.admin.start();
    const cdr = this.config.cdr;
    const stream = await ensureCdrStream(await jetstreamManager(this.nc), {
      maxAgeMs: cdr.retentionDays * 86_400_000, duplicateWindowMs: cdr.duplicateWindowMs, replicas: cdr.replicas,
    });
    if (stream === 'created') this.log.info({ event: 'cdr-stream-created' }, 'CDR stream created');
    await this.cdrPublisher.start();
    void this.watchConnection();
    if (cdr.query) {
      this.cdrQuery = new CdrQueryService(this.nc, jetstream(this.nc), (err) => this.log.warn({ event: 'cdr-query-failed', err }, 'CDR query failed'));
      this.cdrQuery.start();
    }
    this.subs.push(
      this.nc.subscribe(Subjects.workerInbound(this.id), {
        callback: (err, msg) => {
          if (err !== null) return;
          try {
            const env = decodeInbound(msg.data);
            if (this.transactions === undefined) this.engine.onInbound(env);
            else {
              // tracing on: the transport's `sip.receive` span is the parent (NATS has no OTel instrumentation)
              const traceparent = msg.headers?.get(TRACEPARENT_HEADER) || undefined;
              this.transactions.received(env, traceparent);
              this.engine.onInbound(env, traceparent);
            }
          } catch (e) {
            this.fault(e, 'inbound');
          }
        },
      }),
      this.nc.subscribe(Subjects.workerStats(this.id), {
        callback: (err, msg) => {
          if (err === null) msg.respond(encodeMap(this.stats()));
        },
      }),
      this.nc.subscribe(Subjects.workerJoin(this.id), {
        callback: (err, msg) => {
          if (err !== null) return;
          try {
            const request = readJoinRequest(decodeMap(msg.data));
            if (request === undefined) msg.respond(encodeMap({ ok: false, status: 400, reason: 'Bad Join Request' }));
            else this.engine.onJoin(request, (reply) => msg.respond(encodeMap(reply)));
          } catch (e) {
            this.fault(e, 'join');
          }
        },
      }),
      this.nc.subscribe(Subjects.workerBridge(this.id), {
        callback: (err, msg) => {
          if (err !== null) return;
          try {
            const bridged = readBridgedMessage(decodeMap(msg.data));
            if (bridged === undefined) this.log.warn({ event: 'dropped', reason: 'bad-bridge-message' }, 'bad bridge message');
            else this.engine.onBridged(bridged.call, bridged.message);
          } catch (e) {
            this.fault(e, 'bridge');
          }
        },
      }),
      this.nc.subscribe(Subjects.sendFailure(this.id), {
        callback: (err, msg) => {
          if (err !== null) return;
          try {
            this.engine.onSendFailure(decodeSendFailure(msg.data));
          } catch (e) {
            this.fault(e, 'send failure');
          }
        },
      }),
    );
    await this.nc.flush();
    this.beat();
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
  }

  /** NATS came back (a restart, a network blip): records spooled meanwhile go now. */
  private async watchConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== 'reconnect') continue;
      this.log.info({ event: 'nats-reconnected', cdrPending: this.cdrPublisher.pending }, 'NATS connection back');
      this.cdrPublisher.retryNow();
    }
  }

  send(message: SipMessage, to: Destination, ref?: string, trace?: CallSpan): void {
    if (message instanceof SipResponse) this.countResponse(message.status);
    const out: OutboundSip = { v: 1, sip: serializeMessage(message), protocol: to.protocol, address: to.address, port: to.port, workerId: this.id };
    if (to.connectionId !== undefined) out.connectionId = to.connectionId;
    if (ref !== undefined) out.ref = ref;
    let subject = this.outboundSubjects.get(to.nodeId);
    if (subject === undefined) this.outboundSubjects.set(to.nodeId, (subject = Subjects.transportOutbound(to.nodeId)));
    // tracing on: the transport's `sip.send` span joins the call's trace through this header
    const traceparent = this.transactions?.sent(message, trace);
    if (traceparent === undefined) this.publisher.send(subject, encodeEnvelope(out));
    else {
      const h = natsHeaders();
      h.set(TRACEPARENT_HEADER, traceparent);
      this.publisher.send(subject, encodeEnvelope(out), { headers: h });
    }
  }

  /** On every response sent: counter names are constants, so the hot path builds no strings. */
  private countResponse(status: number): void {
    const counters = this.engine.ctx.counters;
    counters.add(RESPONSE_CLASS[Math.floor(status / 100)] ?? 'responses.other');
    const named = RESPONSE_NAMED.get(status);
    if (named !== undefined) counters.add(named);
  }

  // ---- the admin endpoints (AdminTarget) ----

  listCalls(filter: AdminRequest<'calls.list'>): { calls: CallSummary[]; truncated: boolean } {
    const limit = filter.limit ?? 1_000;
    const out: CallSummary[] = [];
    for (const call of this.engine.ctx.calls.values()) {
      const summary = call.summary();
      if ((filter.trunk !== undefined && summary.trunk !== filter.trunk) || (filter.state !== undefined && summary.state !== filter.state)) continue;
      if (out.length === limit) return { calls: out, truncated: true };
      out.push(summary);
    }
    return { calls: out, truncated: false };
  }

  showCall(id: string): CallDetail | undefined {
    return this.engine.ctx.calls.get(id)?.detail();
  }

  hangupCall(id: string): boolean {
    const call = this.engine.ctx.calls.get(id);
    call?.self.tell({ type: 'operator-hangup' });
    return call !== undefined;
  }

  transferCall(id: string, target: string): Promise<{ transfer: string; kind: string }> {
    const call = this.engine.ctx.calls.get(id);
    if (call === undefined) return Promise.reject(new AdminRefusal(404, `no call ${id} on worker ${this.id}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new AdminRefusal(503, 'the call did not answer in time')), 2_000);
      call.self.tell({
        type: 'operator-transfer', target, respond: (answer) => {
          clearTimeout(timer);
          if (answer.ok) resolve({ transfer: answer.transfer, kind: answer.kind });
          else reject(new AdminRefusal(422, `transfer refused: ${answer.status} ${answer.reason}`));
        },
      });
    });
  }

  startDrain(): void {
    if (this.state !== 'draining') void this.drain();
  }

  adminStats(): WorkerStats {
    const byTrunk: Record<string, number> = {};
    for (const call of this.engine.ctx.calls.values()) {
      const trunk = call.summary().trunk;
      if (trunk !== undefined) byTrunk[trunk] = (byTrunk[trunk] ?? 0) + 1;
    }
    const samples = this.callSamples;
    const first = samples[0] ?? 0;
    const last = this.engine.ctx.counters.get('calls.started');
    const callsPerSecond = samples.length === 0 ? 0 : (last - first) / samples.length;
    return { ...(this.stats() as unknown as WorkerStats), callsByTrunk: byTrunk, callsPerSecond: Math.round(callsPerSecond * 100) / 100 };
  }

  async getConfig(): Promise<ConfigSnapshot> {
    const live = this.live;
    if (live === undefined) throw new AdminRefusal(503, 'the worker is starting');
    const { revision, config } = await live.get();
    return { revision, trunking: config };
  }

  async setConfig(trunking: unknown, revision?: number): Promise<ConfigSnapshot> {
    const live = this.live;
    if (live === undefined) throw new AdminRefusal(503, 'the worker is starting');
    try {
      const written = await live.set(trunking, revision);
      this.log.info({ event: 'config-written', revision: written.revision }, 'trunking configuration written by an operator');
      return { revision: written.revision, trunking: written.trunking };
    } catch (error) {
      if (error instanceof ConfigWriteError) throw new AdminRefusal(error.kind === 'invalid' ? 400 : 409, error.message);
      throw error;
    }
  }

  /** What the stats subject answers. Heap is measured after a collection when the process runs with --expose-gc. */
  stats(): Record<string, unknown> {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    return {
      workerId: this.id, state: this.state, calls: this.calls, callsByState: this.callsByState(), actors: this.kernel.size, invites: this.engine.ctx.invites.size,
      counters: this.engine.ctx.counters.toJSON(), histograms: this.engine.ctx.counters.histograms(), limitsHeld: Object.fromEntries(this.engine.ctx.limiter.held()),
      cdr: { pending: this.cdrPublisher.pending, published: this.cdrPublisher.published, duplicates: this.cdrPublisher.duplicates },
      heapUsed: process.memoryUsage().heapUsed, gcBeforeHeap: gc !== undefined, uptimeMs: Date.now() - this.startedAt, version: ENGINE_VERSION,
    };
  }

  private callsByState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const call of this.engine.ctx.calls.values()) out[call.state] = (out[call.state] ?? 0) + 1;
    return out;
  }

  /** Goes `draining`: no new calls, then waits (up to drainTimeoutMs) for the calls to end. */
  async drain(): Promise<void> {
    this.state = 'draining';
    this.engine.draining = true;
    this.beat();
    this.log.info({ event: 'draining', calls: this.calls }, 'worker draining');
    const deadline = Date.now() + this.config.worker.drainTimeoutMs;
    while (this.calls > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (this.calls > 0) this.log.warn({ event: 'drain-timeout', calls: this.calls }, 'drain time limit reached with calls still up');
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.publisher.flush();
    await this.cdrQuery?.stop();
    // bounded: with NATS gone, stopping the services would wait for a server that is not there
    await Promise.race([this.admin?.stop(), new Promise((r) => setTimeout(r, 1_000).unref())]);
    await this.live?.close();
    // the last calls' records: the CDR actor builds them all now (not after its grace), then the stream confirms (or the spool keeps them)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      this.engine.ctx.cdr.tell({ flush: true, done: () => (clearTimeout(timer), resolve()) });
    });
    this.kernel.shutdown();
    await this.cdrPublisher.close(2_000);
    await this.engine.ctx.limiter.close();
    await this.nc.drain();
  }

  private beat(): void {
    this.callSamples.push(this.engine.ctx.counters.get('calls.started'));
    if (this.callSamples.length > 60) this.callSamples.shift();
    this.nc.publish(
      Subjects.workerHeartbeat,
      encodeEnvelope({ v: 1, workerId: this.id, state: this.state, calls: this.calls, startedAt: this.startedAt, sentAt: Date.now(), version: ENGINE_VERSION }),
    );
  }

  private fault(err: unknown, what: string): void {
    if (err instanceof EnvelopeError) this.log.warn({ event: 'dropped', reason: err.code, detail: err.message }, `bad ${what} envelope`);
    else this.log.error({ err }, `${what} handling failed`);
  }
}
