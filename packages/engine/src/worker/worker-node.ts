import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { CdrPublisher, CdrQueryService, CdrSpool, ensureCdrStream, jetStreamPublish } from '@switchboard/cdr';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { activeTelemetry } from '@switchboard/telemetry';
import { DigestAuthenticator, DigestFailures, TrunkPolicy, type TrunkingConfig } from '@switchboard/trunking';
import { readRoutingFields } from '@switchboard/sip';
import { SlotRegistry } from '@switchboard/slots';
import {
  decodeHeartbeat, decodeOutbound, encodeEnvelope, EnvelopeError, HEARTBEAT_INTERVAL_MS, HEARTBEATS_MISSED_TO_DROP, RoutingIds, scopeOf, slotOfScope, Subjects,
  type LocalBus, type WorkerState,
} from '@switchboard/wire';
import { SlotOwnership } from './slot-ownership.js';
import type { DrainMode } from './worker-drain.js';
import type { Logger } from 'pino';
import { KvCallLimiter } from '@switchboard/limits';
import { CdrActor } from '../records/cdr-actor.js';
import { SettledTransactions } from '../dialog/settled-transactions.js';
import { CallDeadlines } from '../call/call-deadlines.js';
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
import { JetStreamDialogStore } from '../takeover/dialogs-bucket.js';
import { SlotAdopter } from '../takeover/slot-adopter.js';

export const ENGINE_VERSION = '0.1.0';

/** Fencing: no SIP leaves while the last confirmed heartbeat is older than this (half the drop timeout). */
export const FENCE_AFTER_MS = (HEARTBEAT_INTERVAL_MS * HEARTBEATS_MISSED_TO_DROP) / 2;
/** How often adopted slots beyond worker.slots.count are looked at for release. */
const SPARE_CHECK_MS = 10_000;
/** Handover: how long a slot's snapshots may take to be written before the slot is kept instead. */
const FLUSH_TIMEOUT_MS = 5_000;
/** Handover: how long the worker waits for the new owners to announce what they took. */
const HANDOVER_ANNOUNCE_MS = 5_000;


/**
 * A worker process: receives its SIP over NATS (NatsLink), runs the engine's actors behind its
 * InboundRouter, answers operators (WorkerAdminTarget), and heartbeats its state and call count.
 */
export class WorkerNode {
  readonly router: InboundRouter;
  readonly kernel: ActorKernel = new NactKernel();
  /** What the admin endpoints and the stats subject read and do. */
  readonly admin: WorkerAdminTarget;
  /** The calls of this worker's slots: their snapshots, and adoption when a slot becomes this worker's (issue 16). */
  readonly adopter: SlotAdopter;
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
  private registry: SlotRegistry | undefined;
  private ownership: SlotOwnership | undefined;
  private tick: NodeJS.Timeout | undefined;
  private spareTimer: NodeJS.Timeout | undefined;
  /** When a heartbeat was last confirmed by the server (publish + flush). */
  private confirmedAt = Date.now();
  /** Fenced: SIP held until the bucket confirms which slots are still this worker's. */
  private fenced = false;
  private verifying = false;

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
    /** The co-located layout: the bus to the transport node in this process (NatsLinkOptions.local). */
    local?: LocalBus<MsgHdrs>,
  ) {
    const telemetry = activeTelemetry();
    const counters = new Counters();
    this.seed = trunking;
    this.link = new NatsLink({
      workerId: config.worker.id, nc, log, counters,
      // `sip.transaction` spans, when tracing is on (startTelemetry ran before this node was made)
      transactions: telemetry === undefined ? undefined : new TransactionSpans(telemetry.tracer, { workerId: config.worker.id, staleMs: 64 * config.worker.timers.t1 }),
      router: () => this.gate,
      stats: () => this.admin.stats(),
      outageQueue: config.worker.outageQueue,
      fence: { stale: () => Date.now() - this.confirmedAt > FENCE_AFTER_MS, fenced: () => this.fence('heartbeat-stale') },
      ...(local === undefined ? {} : { local }),
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
    const ctx: { -readonly [K in keyof EngineContext]: EngineContext[K] } = {
      workerId: config.worker.id,
      ids: new RoutingIds(config.routing.secret),
      slots: { pickSlot: () => this.ownership?.pickSlot(), ownerOf: (slot) => this.ownership?.ownerOf(slot) },
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
      settled: new SettledTransactions(this.link),
      calls: new Map(),
      deadlines: new CallDeadlines(),
      ...(telemetry === undefined ? {} : { tracer: new OtelCallTracer(telemetry.tracer, config.worker.id) }),
    };
    const { bucket, maxInFlight, maxPending, earlyAfterMs } = config.worker.snapshots;
    const store = new JetStreamDialogStore(jetstream(nc), { bucket, replicas: config.jetstream.replicas }, log);
    this.adopter = new SlotAdopter(ctx, { store, maxInFlight, maxPending, earlyAfterMs: earlyAfterMs === 'off' ? 0 : earlyAfterMs });
    if (config.worker.snapshots.enabled) ctx.snapshots = this.adopter;
    this.router = new InboundRouter(ctx);
    this.admin = new WorkerAdminTarget({
      id: config.worker.id, version: ENGINE_VERSION, ctx, kernel: this.kernel, cdr: this.cdrPublisher, startedAt: this.startedAt,
      state: () => this.state, drain: (mode) => void this.drain(mode), live: () => this.live, log,
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
    await this.startSlots();
    await this.link.subscribe();
    this.beat();
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
  }

  /** The gate in front of the router (slots being adopted or handed over), once slots exist. */
  private readonly gate = {
    onInbound: (env: Parameters<InboundRouter['onInbound']>[0], traceparent?: string) =>
      this.ownership === undefined ? this.router.onInbound(env, traceparent) : this.ownership.onInbound(env, traceparent),
    onSendFailure: (f: Parameters<InboundRouter['onSendFailure']>[0]) => this.router.onSendFailure(f),
    onJoin: (...a: Parameters<InboundRouter['onJoin']>) => this.router.onJoin(...a),
    onBridged: (...a: Parameters<InboundRouter['onBridged']>) => this.router.onBridged(...a),
  };

  /** Opens the slot bucket, follows the other workers' heartbeats and claims worker.slots.count free slots. */
  private async startSlots(): Promise<void> {
    const { slots } = this.config.worker;
    this.registry = await SlotRegistry.open(this.nc, { bucket: slots.bucket, replicas: this.config.jetstream.replicas, workerId: this.id, log: this.log });
    const ownership = new SlotOwnership({
      workerId: this.id, registry: this.registry, adopter: this.adopter, nc: this.nc, log: this.log,
      deliver: (env, traceparent) => this.router.onInbound(env, traceparent),
      announce: () => this.announce(),
    });
    this.ownership = ownership;
    this.nc.subscribe(Subjects.workerHeartbeat, {
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          ownership.onHeartbeat(decodeHeartbeat(msg.data));
        } catch (e) {
          if (!(e instanceof EnvelopeError)) throw e;
        }
      },
    });
    const claimed = await ownership.claim(slots.count);
    this.log.info({ event: 'slots-claimed', slots: claimed }, 'slots claimed');
    this.tick = setInterval(() => this.onTick(), HEARTBEAT_INTERVAL_MS / 4);
    this.tick.unref();
    this.spareTimer = setInterval(() => void this.releaseSpare(), SPARE_CHECK_MS);
    this.spareTimer.unref();
  }

  private onTick(): void {
    const ownership = this.ownership;
    if (ownership === undefined) return;
    if (!this.fenced && Date.now() - this.confirmedAt > FENCE_AFTER_MS) this.fence('heartbeat-stale');
    if (this.fenced) return;
    ownership.expire();
    // none claimed at start (every slot taken), or all lost: claim again
    if (ownership.readyCount === 0 && this.state === 'active' && this.registry?.owned().length === 0) void ownership.claim(this.config.worker.slots.count);
  }

  private async releaseSpare(): Promise<void> {
    if (this.fenced || this.state !== 'active') return;
    const calls = new Map<number, number>();
    for (const c of this.router.ctx.calls.values()) calls.set(c.routingSlot, (calls.get(c.routingSlot) ?? 0) + 1);
    await this.ownership?.releaseSpare(this.config.worker.slots.count, (slot) => calls.get(slot) ?? 0).catch((err: unknown) =>
      this.log.warn({ event: 'slot-release-failed', err: (err as Error).message }, 'spare slots not released'));
  }

  /**
   * Fencing (docs/architecture.md "Worker takeover"): no heartbeat confirmed for half the drop
   * timeout (NATS lost, or the process paused) — the others may be taking this worker's slots —
   * so what it sends waits, and its view of the others' silence counts for nothing meanwhile.
   */
  private fence(cause: 'heartbeat-stale' | 'nats-lost'): void {
    if (!this.link.held) this.link.hold();
    if (this.fenced) return;
    this.fenced = true;
    this.ownership?.directory.suspendExpiry();
    this.log.warn({ event: 'fenced', cause, sinceMs: Date.now() - this.confirmedAt }, 'fenced: outbound SIP held until the slots are verified');
  }

  /**
   * A heartbeat was confirmed while fenced: reads this worker's slots from the bucket, drops the
   * calls (and the held SIP) of every slot it lost, then sends the rest. Stays fenced when the
   * bucket cannot be read (the next confirmed heartbeat tries again).
   */
  private async unfence(): Promise<void> {
    if (!this.fenced || this.verifying || this.ownership === undefined) return;
    this.verifying = true;
    try {
      const still = await this.ownership.verify();
      const lost = (subject: string, data: Uint8Array): boolean => {
        if (!subject.startsWith('sb.sip.transport.')) return false;
        try {
          const route = readRoutingFields(decodeOutbound(data).sip);
          const scope = scopeOf(route.kind === 'request' ? route.branch : route.toTag);
          const slot = scope === undefined ? undefined : slotOfScope(scope);
          return slot !== undefined && !still.has(slot) && this.ownership?.ownerOf(slot) !== this.id;
        } catch {
          return false;
        }
      };
      const discarded = this.link.discardHeld(lost);
      this.fenced = false;
      this.ownership.directory.resumeExpiry();
      const outage = this.link.release();
      this.log.info({ event: 'unfenced', slots: still.size, discarded, queued: outage.queued, dropped: outage.dropped, cdrPending: this.cdrPublisher.pending }, 'slots verified: held SIP sent');
      this.cdrPublisher.retryNow();
    } catch (err) {
      this.log.warn({ event: 'verify-failed', err: (err as Error).message }, 'slots not verified: still fenced');
    } finally {
      this.verifying = false;
    }
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
        this.fence('nats-lost');
        this.log.warn({ event: 'nats-disconnected', server: status.server }, 'NATS connection lost: outbound SIP held until it is back');
      } else if (status.type === 'reconnect') {
        this.natsUp = true;
        this.log.info({ event: 'nats-reconnected' }, 'NATS connection back: verifying slots before the held SIP');
        // the heartbeat before the held SIP: a transport that dropped this worker meanwhile knows
        // it again before the answers to that SIP come back for it to route; its confirmation
        // starts the verification (unfence), which releases the held SIP
        this.announce();
      }
    }
  }

  /** What the stats subject answers (see WorkerAdminTarget.stats). */
  stats(): Record<string, unknown> {
    return this.admin.stats();
  }

  /**
   * Goes `draining`: no new calls. `handover` (docs/architecture.md "Worker takeover"): ringing
   * calls get worker.drain.earlyWaitMs to be answered or end (those still ringing then go as
   * early records, which their adopter ends cleanly), then each slot, and its calls, goes
   * to the survivor that wins it, and this resolves once they announced what they took (a slot
   * no survivor took stays, and its calls are waited for as in `slow`). `slow`: waits (up to
   * drainTimeoutMs) for the calls to end. The one entry point of SIGTERM, the admin endpoint and
   * a health server's POST /drain.
   */
  async drain(mode: DrainMode = this.config.worker.drain.mode): Promise<void> {
    this.state = 'draining';
    this.router.draining = true;
    this.beat();
    this.log.info({ event: 'draining', mode, calls: this.calls }, 'worker draining');
    if (mode === 'handover' && this.ownership !== undefined) {
      const ownership = this.ownership;
      const early = new Set(['admitting', 'routing', 'early', 'answered']);
      const ringing = () => [...this.router.ctx.calls.values()].some((c) => early.has(c.state));
      const earlyDeadline = Date.now() + this.config.worker.drain.earlyWaitMs;
      while (ringing() && Date.now() < earlyDeadline) await new Promise((r) => setTimeout(r, 50));
      const handed = await ownership.handOverAll(FLUSH_TIMEOUT_MS);
      this.announce();
      const announceDeadline = Date.now() + HANDOVER_ANNOUNCE_MS;
      while (!ownership.handedOverAnnounced() && Date.now() < announceDeadline) await new Promise((r) => setTimeout(r, 50));
      this.log.info({ event: 'handed-over', slots: handed, kept: this.registry?.owned().length ?? 0, calls: this.calls }, 'slots handed over');
      if ((this.registry?.owned().length ?? 0) === 0) return;
    }
    const deadline = Date.now() + this.config.worker.drainTimeoutMs;
    while (this.calls > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (this.calls > 0) this.log.warn({ event: 'drain-timeout', calls: this.calls }, 'drain time limit reached with calls still up');
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.tick);
    clearInterval(this.spareTimer);
    await this.registry?.close();
    this.link.close();
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
    this.router.ctx.settled.clear();
    this.router.ctx.deadlines.stop();
    await this.cdrPublisher.close(2_000);
    await this.limiter.close();
    await this.configWriterNc?.drain();
    await this.nc.drain();
  }

  private beat(): void {
    this.admin.sampleCallsStarted();
    this.announce();
  }

  /**
   * The heartbeat itself: state, call count and the slots announced (adopted ones only). Active
   * only with a slot to put new calls in. Its confirmation (the flush) keeps the fence away.
   */
  private announce(): void {
    // stale by the time it could go (the client would discard it anyway): the reconnect sends a fresh one
    if (!this.natsUp) return;
    const slots = this.ownership?.heartbeatSlots() ?? [];
    const state: WorkerState = this.state === 'active' && (this.ownership?.readyCount ?? 0) > 0 ? 'active' : 'draining';
    const sentAt = Date.now();
    this.nc.publish(
      Subjects.workerHeartbeat,
      encodeEnvelope({ v: 1, workerId: this.id, state, calls: this.calls, startedAt: this.startedAt, sentAt, version: ENGINE_VERSION, slots }),
    );
    this.nc.flush().then(
      () => {
        this.confirmedAt = Math.max(this.confirmedAt, sentAt);
        if (this.fenced) void this.unfence();
      },
      () => {},
    );
  }
}
