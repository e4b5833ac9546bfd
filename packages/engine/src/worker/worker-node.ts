import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { CdrPublisher, CdrQueryService, CdrSpool, ensureCdrStream, jetStreamPublish } from '@switchboard/cdr';
import type { NatsConnection } from '@nats-io/transport-node';
import { activeTelemetry } from '@switchboard/telemetry';
import { DigestAuthenticator, DigestFailures, TrunkPolicy, type TrunkingConfig } from '@switchboard/trunking';
import { encodeEnvelope, HEARTBEAT_INTERVAL_MS, RoutingIds, Subjects, type WorkerState } from '@switchboard/wire';
import type { Logger } from 'pino';
import { KvCallLimiter } from '@switchboard/limits';
import { CdrActor } from '../records/cdr-actor.js';
import { InboundRouter } from '../router.js';
import type { EngineContext } from '../context.js';
import { Counters } from '../metrics/counters.js';
import { SipLocator } from '../locate/sip-locator.js';
import { JOIN_ATTACH_MS } from '../protocol/bridge-messages.js';
import type { ActorKernel } from '../kernel/actor-kernel.js';
import { NactKernel } from '../kernel/nact-kernel.js';
import type { WorkerConfig } from './worker-config.js';
import { OtelCallTracer } from '../tracing/otel-call-tracer.js';
import { TransactionSpans } from '../tracing/transaction-spans.js';
import { AdminService } from './admin-service.js';
import { EdgeReporter } from './edge-reporter.js';
import { WorkerAdminTarget } from './admin-target.js';
import { LiveTrunking, LiveTrunkingHolder } from './live-trunking.js';
import { NatsLink } from './nats-link.js';
import { WorkerCallLimiter } from './worker-call-limiter.js';

export const ENGINE_VERSION = '0.1.0';

/**
 * A worker process: receives its SIP over NATS (NatsLink), runs the engine's actors behind its
 * InboundRouter, answers operators (WorkerAdminTarget), and heartbeats its state and call count.
 */
export class WorkerNode {
  readonly router: InboundRouter;
  readonly kernel: ActorKernel = new NactKernel();
  /** What the admin endpoints and the stats subject read and do. */
  readonly admin: WorkerAdminTarget;
  readonly version = ENGINE_VERSION;
  private state: WorkerState = 'active';
  private heartbeat: NodeJS.Timeout | undefined;
  /** False from NATS's `disconnect` to its `reconnect`: heartbeats wait, SIP is held by the link. */
  private natsUp = true;
  private readonly startedAt = Date.now();
  private readonly link: NatsLink;
  private readonly limiter = new WorkerCallLimiter();
  private readonly trunking: LiveTrunkingHolder;
  private readonly cdrPublisher: CdrPublisher;
  private cdrQuery: CdrQueryService | undefined;
  private adminService: AdminService | undefined;
  private live: LiveTrunking | undefined;
  private edge: EdgeReporter | undefined;
  private readonly seed: TrunkingConfig;

  /** `cdrSpoolDir`: the spool folder of config.cdr.spoolDir, resolved (this worker's own folder is made under it). */
  constructor(
    private readonly config: WorkerConfig,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    trunking: TrunkingConfig,
    cdrSpoolDir: string = config.cdr.spoolDir,
    /** The trunking file `trunking` was read from, named when the cluster's configuration differs from it. */
    private readonly trunkingFile?: string,
    /** The config service's own connection, the only one that writes sb-config (README "Security"); absent: `nc`. */
    private readonly configWriterNc?: NatsConnection,
  ) {
    const telemetry = activeTelemetry();
    const counters = new Counters();
    this.seed = trunking;
    this.link = new NatsLink({
      workerId: config.worker.id, nc, log, counters,
      // `sip.transaction` spans, when tracing is on (startTelemetry ran before this node was made)
      transactions: telemetry === undefined ? undefined : new TransactionSpans(telemetry.tracer, { workerId: config.worker.id, staleMs: 64 * config.worker.timers.t1 }),
      router: () => this.router,
      stats: () => this.admin.stats(),
      outageQueue: config.worker.outageQueue,
    });
    // stateless nonces: any worker verifies what another challenged (the retry may land elsewhere)
    const digest = new DigestAuthenticator({ secret: `digest|${config.routing.secret}` });
    const failures = new DigestFailures(); // one for every policy: a configuration change forgives no guesser
    // seeded from the file; the cluster's live configuration replaces it in start() (seeded from this file by the first worker)
    this.trunking = new LiveTrunkingHolder((config) => ({
      policy: new TrunkPolicy(config, digest, failures),
      // RFC 2782: equal-priority SRV targets share the load by weight
      locator: new SipLocator({ overrides: config.sipTransfers.overrides, random: Math.random }),
    }), trunking);
    this.cdrPublisher = new CdrPublisher({
      spool: new CdrSpool(join(cdrSpoolDir, config.worker.id)),
      publish: jetStreamPublish(jetstream(nc), config.cdr.publishTimeoutMs),
      onError: (err, pending) => this.log.warn({ event: 'cdr-publish-failed', err: (err as Error)?.message, pending }, 'CDR publish failed: kept in the spool, retrying'),
      ensureStream: () => this.ensureCdrStream(),
    });
    const ctx: EngineContext = {
      workerId: config.worker.id,
      ids: new RoutingIds(config.routing.secret),
      link: this.link,
      kernel: this.kernel,
      timers: config.worker.timers,
      sessionTimers: { minSE: config.worker.sessionTimers.minSE },
      trunking: this.trunking,
      limiter: this.limiter,
      resolve: async (host) => (await lookup(host)).address,
      transferorByeMs: config.worker.transfer.transferorByeMs,
      bridge: this.link.bridge,
      joinAttachMs: JOIN_ATTACH_MS,
      cdr: CdrActor.spawn(this.kernel, config.worker.id, this.cdrPublisher, log),
      counters,
      // opened in start(), before any SIP is subscribed to
      edge: {
        authenticated: (address) => this.edge?.authenticated(address),
        claimNonce: (nonce, nc) => (this.edge === undefined ? Promise.reject(new Error('edge reporter not open')) : this.edge.claimNonce(nonce, nc)),
      },
      noAnswerMs: config.worker.noAnswerMs,
      log,
      invites: new Map(),
      calls: new Map(),
      ...(telemetry === undefined ? {} : { tracer: new OtelCallTracer(telemetry.tracer, config.worker.id) }),
    };
    this.router = new InboundRouter(ctx);
    this.admin = new WorkerAdminTarget({
      id: config.worker.id, version: ENGINE_VERSION, ctx, kernel: this.kernel, cdr: this.cdrPublisher, startedAt: this.startedAt,
      state: () => this.state, drain: () => void this.drain(), live: () => this.live, log,
    });
  }

  get id(): string {
    return this.config.worker.id;
  }

  get calls(): number {
    return this.router.ctx.calls.size;
  }

  async start(): Promise<void> {
    const limits = this.config.worker.limits;
    // before SIP is subscribed to: no call asks the limiter before it is in place
    const { replicas } = this.config.jetstream;
    this.limiter.use(await KvCallLimiter.open(this.nc, { workerId: this.id, bucket: limits.bucket, replicas, leaseMs: limits.leaseMs, timeoutMs: limits.timeoutMs, log: this.log }));
    const edge = (this.edge = await EdgeReporter.open(this.nc, this.id, this.log, replicas));
    this.live = await LiveTrunking.open(this.nc, this.seed, this.log, (trunking, revision) => {
      this.trunking.apply(trunking);
      edge.announce(this.trunking.current.policy, revision);
      this.log.info({ event: 'trunking', revision, trunks: trunking.trunks.length, carriers: trunking.carriers.length }, 'trunking configuration in force');
    }, replicas, this.trunkingFile, this.configWriterNc);
    this.adminService = new AdminService(this.nc, this.admin, this.log);
    await this.adminService.start();
    const cdr = this.config.cdr;
    await this.ensureCdrStream();
    await this.cdrPublisher.start();
    void this.watchConnection();
    if (cdr.query) {
      this.cdrQuery = new CdrQueryService(this.nc, jetstream(this.nc), (err) => this.log.warn({ event: 'cdr-query-failed', err }, 'CDR query failed'));
      this.cdrQuery.start();
    }
    await this.link.subscribe();
    this.beat();
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
  }

  /** At start, and again when a publish found the stream gone (nats-server back on an empty store). */
  private async ensureCdrStream(): Promise<void> {
    const { cdr, jetstream: js } = this.config;
    const stream = await ensureCdrStream(await jetstreamManager(this.nc), {
      maxAgeMs: cdr.retentionDays * 86_400_000, duplicateWindowMs: cdr.duplicateWindowMs, replicas: cdr.replicas ?? js.replicas,
    });
    if (stream === 'created') this.log.info({ event: 'cdr-stream-created' }, 'CDR stream created');
  }

  /** NATS lost: SIP waits in the link. NATS back (a restart, a network blip): held SIP and spooled records go now. */
  private async watchConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.natsUp = false;
        this.link.hold();
        this.log.warn({ event: 'nats-disconnected', server: status.server }, 'NATS connection lost: outbound SIP held until it is back');
      } else if (status.type === 'reconnect') {
        this.natsUp = true;
        // the heartbeat before the held SIP: a transport that dropped this worker meanwhile knows
        // it again before the answers to that SIP come back for it to route
        this.announce();
        const outage = this.link.release();
        this.log.info({ event: 'nats-reconnected', queued: outage.queued, dropped: outage.dropped, cdrPending: this.cdrPublisher.pending }, 'NATS connection back');
        this.cdrPublisher.retryNow();
      }
    }
  }

  /** What the stats subject answers (see WorkerAdminTarget.stats). */
  stats(): Record<string, unknown> {
    return this.admin.stats();
  }

  /** Goes `draining`: no new calls, then waits (up to drainTimeoutMs) for the calls to end. */
  async drain(): Promise<void> {
    this.state = 'draining';
    this.router.draining = true;
    this.beat();
    this.log.info({ event: 'draining', calls: this.calls }, 'worker draining');
    const deadline = Date.now() + this.config.worker.drainTimeoutMs;
    while (this.calls > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (this.calls > 0) this.log.warn({ event: 'drain-timeout', calls: this.calls }, 'drain time limit reached with calls still up');
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.link.flush();
    await this.cdrQuery?.stop();
    // bounded: with NATS gone, stopping the services would wait for a server that is not there
    await Promise.race([this.adminService?.stop(), new Promise((r) => setTimeout(r, 1_000).unref())]);
    await this.live?.close();
    this.edge?.close();
    // the last calls' records: the CDR actor builds them all now (not after its grace), then the stream confirms (or the spool keeps them)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      this.router.ctx.cdr.tell({ flush: true, done: () => (clearTimeout(timer), resolve()) });
    });
    this.kernel.shutdown();
    await this.cdrPublisher.close(2_000);
    await this.limiter.close();
    await this.configWriterNc?.drain();
    await this.nc.drain();
  }

  private beat(): void {
    this.admin.sampleCallsStarted();
    this.announce();
  }

  /** The heartbeat itself: state and call count. */
  private announce(): void {
    // stale by the time it could go (the client would discard it anyway): the reconnect sends a fresh one
    if (!this.natsUp) return;
    this.nc.publish(
      Subjects.workerHeartbeat,
      encodeEnvelope({ v: 1, workerId: this.id, state: this.state, calls: this.calls, startedAt: this.startedAt, sentAt: Date.now(), version: ENGINE_VERSION }),
    );
  }
}
