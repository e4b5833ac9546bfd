// Call limits shared by every worker of the cluster through one NATS JetStream KV bucket.
//
// Each key (`trunk.acme`) holds one JSON value (see limit-value.ts) changed only by
// compare-and-set: `update(key, value, revisionWeRead)`, and on a wrong-revision conflict the
// worker re-reads and decides again. A worker writes only its own share, as an absolute count
// with a lease, so a write is idempotent and a crashed worker's share lapses by itself: the
// nats-server of Debian (2.9) has no per-message TTL to do that for us.
//
// Cost under load: far from its limits a key is leased (limit-lease.ts): admitted from what the
// worker knows (the others' shares through a watch), its share written lazily. Near a limit a
// worker keeps one write in flight per key; what arrives meanwhile joins the next write, so a
// burst costs one CAS round trip per batch. The last value read, written or watched is cached.
//
// Self-healing: the bucket can vanish under a running worker (nats-server back on an empty
// store, an operator's delete), and after any outage our leases may have lapsed. On a reconnect,
// and on a KV failure (with back-off), the worker recreates the bucket if it is missing and
// writes its share of every key again. Shares are absolute per worker, so the rebuilt counts are
// what the workers hold, nothing counted twice. A worker that saw no failure and no reconnect
// (a bucket deleted while it was idle) writes its shares back at its next lease refresh.
import type { JetStreamClient } from '@nats-io/jetstream';
import { jetstream, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import { HeldSlots, hasLimits, requestProblem, UNLIMITED, type Admission, type CallLimiter, type LimitActivity, type LimitHold, type LimitRequest } from './call-limiter.js';
import { openLimitsBucket, type LimitsBucketSettings } from './limits-bucket.js';
import { decideLimits, type Limits } from './limit-decision.js';
import { decodeLimitValue, encodeLimitValue, LimitValueError, type LimitValue } from './limit-value.js';
import { FLUSH_MS, roomToAdmitLocally, slotBlock, TOKEN_LEASE_MS } from './limit-lease.js';
import { needsWrite, newLimitedKey, tokensToLease, type LimitedKey, type PendingAdmission } from './limited-key.js';
import { LimitsWatch } from './limits-watch.js';

export const DEFAULT_LIMITS_BUCKET = 'sb-limits';
export const DEFAULT_LEASE_MS = 15_000;
export const DEFAULT_LIMIT_TIMEOUT_MS = 1_000;
/** A heal that failed is tried again after this, doubling up to HEAL_MAX_BACKOFF_MS. */
export const HEAL_BACKOFF_MS = 250;
export const HEAL_MAX_BACKOFF_MS = 5_000;

export interface KvCallLimiterOptions {
  /** This worker's id in every value it writes; unique in the cluster. */
  readonly workerId: string;
  readonly bucket?: string;
  /** Copies of the bucket in a JetStream cluster (1..5, default 1); used when the bucket is created. */
  readonly replicas?: number;
  /** How long a share outlives its worker's last refresh; refreshed every leaseMs / 3. */
  readonly leaseMs?: number;
  /** Longest wait for a decision (and for `close()`); past it the call is refused as `unavailable`. */
  readonly timeoutMs?: number;
  /** Wall clock, epoch ms: leases and token buckets are compared across workers by it. */
  readonly now?: () => number;
  readonly log?: Logger;
}

/** When the limiter next checks its bucket and writes its shares again. */
interface Healer {
  /** A heal is asked for (again). */
  due: boolean;
  running: boolean;
  /** Back-off before the next heal; cleared by a reconnect. */
  timer: NodeJS.Timeout | undefined;
  /** Heals since the last successful write: the back-off's exponent. */
  attempts: number;
}

const isWrongRevision = (err: unknown): boolean =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

const NO_HOLD: LimitHold = Object.freeze({ key: '', id: 0 });

export class KvCallLimiter implements CallLimiter {
  private readonly keys = new Map<string, LimitedKey>();
  private readonly leaseRefresh: NodeJS.Timeout;
  /** open; closing: writing our shares to zero; closed; abandoned: stopped without a word, as in a crash. */
  private state: 'open' | 'closing' | 'closed' | 'abandoned' = 'open';
  private readonly holds = new HeldSlots();
  private readonly counted = { admittedLocally: 0, decidedByWrite: 0, writes: 0, conflicts: 0 };
  private readonly healer: Healer = { due: false, running: false, timer: undefined, attempts: 0 };
  private readonly flush: NodeJS.Timeout;
  /** The watch of the bucket; while it is not delivering, nothing is admitted locally. */
  private readonly watch: LimitsWatch;
  /** False from a disconnect to the next reconnect: a view of the KV is then no longer current. */
  private connected = true;

  private constructor(
    private kv: KV,
    private readonly js: JetStreamClient,
    private readonly settings: LimitsBucketSettings,
    private readonly workerId: string,
    private readonly leaseMs: number,
    private readonly timeoutMs: number,
    private readonly now: () => number,
    private readonly log: Logger | undefined,
  ) {
    this.leaseRefresh = setInterval(() => this.refreshLeases(), Math.max(1, Math.floor(leaseMs / 3)));
    this.leaseRefresh.unref();
    this.flush = setInterval(() => this.flushShares(), FLUSH_MS);
    this.flush.unref();
    this.watch = new LimitsWatch((name, revision, value) => this.observe(name, revision, value), () => this.heal('kv-failed'), log);
  }

  /**
   * Binds the limits bucket, creating it (file storage, history 1, `replicas`) when it is
   * missing, and follows `nc` to heal after each reconnect.
   */
  static async open(nc: NatsConnection, options: KvCallLimiterOptions): Promise<KvCallLimiter> {
    const { workerId, bucket = DEFAULT_LIMITS_BUCKET, replicas = 1, leaseMs = DEFAULT_LEASE_MS, timeoutMs = DEFAULT_LIMIT_TIMEOUT_MS } = options;
    if (typeof workerId !== 'string' || workerId.length === 0) throw new RangeError('workerId must be a non-empty string');
    if (!(Number.isInteger(replicas) && replicas >= 1 && replicas <= 5)) throw new RangeError(`replicas must be an integer from 1 to 5, not ${replicas}`);
    if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw new RangeError(`leaseMs must be > 0, not ${leaseMs}`);
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, not ${timeoutMs}`);
    // Every JetStream request (get, CAS publish) gives up after timeoutMs, so a drain never
    // blocks its key longer than that per step.
    const js: JetStreamClient = jetstream(nc, { timeout: timeoutMs });
    const settings: LimitsBucketSettings = { bucket, replicas };
    const { kv } = await openLimitsBucket(js, settings);
    const limiter = new KvCallLimiter(kv, js, settings, workerId, leaseMs, timeoutMs, options.now ?? Date.now, options.log);
    await limiter.watch.start(kv);
    void limiter.followConnection(nc);
    return limiter;
  }

  admit(request: LimitRequest): Promise<Admission> {
    if (!hasLimits(request)) return Promise.resolve(UNLIMITED);
    const { key: name } = request;
    const problem = requestProblem(request);
    if (problem !== undefined || this.state !== 'open') {
      if (problem !== undefined) this.log?.error({ key: name }, `call limit refused: ${problem}`);
      return Promise.resolve({ admitted: false, limit: 'unavailable', key: name });
    }
    const key = this.keyNamed(name);
    key.rate.note();
    if (request.maxConcurrent !== undefined) key.maxConcurrent = request.maxConcurrent;
    const local = this.admitLocally(key, request);
    if (local !== undefined) {
      this.counted.admittedLocally++;
      return Promise.resolve(local);
    }
    return new Promise<Admission>((resolve) => {
      const pending: PendingAdmission = {
        limits: { maxConcurrent: request.maxConcurrent, maxPerSecond: request.maxPerSecond },
        state: 'queued',
        resolve,
        deadline: setTimeout(() => {
          if (pending.state !== 'queued' && pending.state !== 'deciding') return;
          // A deciding admission may still be written as admitted; `answer` then gives its slot back.
          pending.state = 'timed-out';
          this.log?.warn({ key: name, timeoutMs: this.timeoutMs }, 'call limit not decided in time: refusing');
          resolve({ admitted: false, limit: 'unavailable', key: name });
        }, this.timeoutMs),
      };
      key.unanswered.push(pending);
      this.schedule(key);
    });
  }

  held(): ReadonlyMap<string, number> {
    const held = new Map<string, number>();
    for (const key of this.keys.values()) if (key.held > 0) held.set(key.name, key.held);
    return held;
  }

  activity(): LimitActivity {
    return { ...this.counted };
  }

  release(hold: LimitHold): void {
    this.holds.release(hold);
  }

  adopt(hold: LimitHold): LimitHold {
    if (hold.id === 0 || this.state !== 'open') return NO_HOLD;
    const key = this.keyNamed(hold.key);
    key.held += 1;
    this.schedule(key);
    return this.holds.adopted(key.name, () => this.releaseSlot(key));
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    clearInterval(this.leaseRefresh);
    clearInterval(this.flush);
    this.watch.stop();
    clearTimeout(this.healer.timer);
    this.holds.clear();
    const drains: Promise<void>[] = [];
    for (const key of this.keys.values()) {
      this.refuseUnanswered(key);
      // Calls still up are given up: their release() is a no-op from now on.
      key.held = 0;
      if (needsWrite(key)) this.schedule(key);
      drains.push(key.drained);
    }
    let bounded: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (bounded = setTimeout(resolve, this.timeoutMs)));
    await Promise.race([Promise.all(drains), timedOut]);
    clearTimeout(bounded);
    this.state = 'closed';
  }

  /**
   * For tests: stops this limiter as a crashed process would, without writing anything. Its
   * shares stay in the KV until their leases end.
   */
  abandon(): void {
    if (this.state === 'closed' || this.state === 'abandoned') return;
    this.state = 'abandoned';
    clearInterval(this.leaseRefresh);
    clearInterval(this.flush);
    this.watch.stop();
    clearTimeout(this.healer.timer);
    for (const key of this.keys.values()) this.refuseUnanswered(key);
  }

  private keyNamed(name: string): LimitedKey {
    let key = this.keys.get(name);
    if (key === undefined) {
      key = newLimitedKey(name);
      this.keys.set(name, key);
    }
    return key;
  }

  private releaseSlot(key: LimitedKey): void {
    if (this.state !== 'open' || key.held === 0) return;
    key.held -= 1;
    // far from the limit the flush (or the block filling up) writes it; near it, at once, so
    // that another worker waiting for a slot gets it
    if (!this.leased(key)) this.schedule(key);
  }

  /**
   * Leased limits (limit-lease.ts): admits `request` from what this worker knows, with no write,
   * when the key is far from its limits and the view is live; undefined sends it to a write.
   */
  private admitLocally(key: LimitedKey, request: LimitRequest): Admission | undefined {
    if (key.unanswered.length > 0 || !this.viewIsCurrent(key)) return undefined;
    const now = this.now();
    const { maxConcurrent, maxPerSecond } = request;
    if (maxConcurrent !== undefined && !roomToAdmitLocally(key.seen?.value, this.workerId, now, key.held, maxConcurrent)) return undefined;
    if (maxPerSecond !== undefined) {
      if (key.tokens < 1 || key.tokensUntil <= now) return undefined;
      key.tokens -= 1;
    }
    if (maxConcurrent === undefined) return UNLIMITED;
    key.held += 1;
    if (!this.leased(key)) this.schedule(key);
    return this.holds.grant(key.name, () => this.releaseSlot(key));
  }

  /** Whether this worker's cached view of `key` is kept current by the watch and its own writes. */
  private viewIsCurrent(key: LimitedKey): boolean {
    return this.state === 'open' && this.connected && this.watch.live && !this.healer.due && !this.healer.running && key.seen !== undefined && key.written !== 'unknown';
  }

  /** Whether `key`'s share may lag what this worker holds now (far from the limit, within a block). */
  private leased(key: LimitedKey): boolean {
    if (key.maxConcurrent === undefined || !this.viewIsCurrent(key) || key.written === 'unknown') return false;
    return Math.abs(key.held - key.written) < slotBlock(key.rate.perSecond) &&
      roomToAdmitLocally(key.seen?.value, this.workerId, this.now(), key.held, key.maxConcurrent);
  }

  /** Every FLUSH_MS: block sizes follow the rate, and shares that lag what is held are written. */
  private flushShares(): void {
    for (const key of this.keys.values()) {
      key.rate.tick(FLUSH_MS);
      if (key.written !== 'unknown' && key.written !== key.held) {
        key.flushDue = true;
        this.schedule(key);
      }
    }
  }

  /** A value another worker (or this one) wrote: the newest revision is kept as the key's view. */
  private observe(name: string, revision: number, value: LimitValue | undefined | 'unreadable'): void {
    const key = this.keys.get(name);
    if (key === undefined || (key.seen !== undefined && revision <= key.seen.revision)) return;
    // someone else's value: the next write reads it and refuses as before
    key.seen = value === 'unreadable' ? undefined : { value, revision };
  }

  private refreshLeases(): void {
    for (const key of this.keys.values()) {
      if (key.held > 0) key.leaseRefreshDue = true;
      // A share left `unknown` by a failed write is retried here too.
      if (needsWrite(key)) this.schedule(key);
    }
  }

  private refuseUnanswered(key: LimitedKey): void {
    for (const pending of key.unanswered) this.answer(key, pending, { admitted: false, limit: 'unavailable' });
    key.unanswered = [];
  }

  /** Starts a drain on the next turn of the event loop, so that what arrives in this turn joins its first write. */
  private schedule(key: LimitedKey): void {
    if (key.writer !== 'idle') return;
    key.writer = 'scheduled';
    key.drained = new Promise<void>((resolve) => setImmediate(() => void this.drain(key).finally(resolve)));
  }

  /** Writes until nothing is queued or owed for `key`; at most one of these runs per key. */
  private async drain(key: LimitedKey): Promise<void> {
    key.writer = 'draining';
    try {
      for (;;) {
        if (this.state === 'abandoned' || this.state === 'closed') return;
        key.unanswered = key.unanswered.filter((pending) => pending.state === 'queued' || pending.state === 'deciding');
        const batch = key.unanswered.filter((pending) => pending.state === 'queued');
        // a leased share that lags within its block waits for the block or the flush
        if (batch.length === 0 && (!needsWrite(key) || (!key.flushDue && !key.leaseRefreshDue && this.leased(key)))) return;
        for (const pending of batch) pending.state = 'deciding';
        const wrote = await this.write(key, batch);
        // With the KV failing, stop here instead of spinning; the next admission, release or
        // lease refresh tries again.
        if (!wrote && !key.unanswered.some((pending) => pending.state === 'queued')) return;
      }
    } catch (err) {
      // `write` handles the KV's errors, so this is a bug; the admissions' deadlines still answer them.
      this.log?.error({ err, key: key.name }, 'call limiter drain failed');
    } finally {
      key.writer = 'idle';
      if (key.rewriteOwed) {
        key.rewriteOwed = false;
        this.schedule(key);
      }
    }
  }

  /** One batch: read if needed, decide, compare-and-set; again on a conflict. False when the KV failed. */
  private async write(key: LimitedKey, batch: PendingAdmission[]): Promise<boolean> {
    try {
      for (;;) {
        if (this.state === 'abandoned' || this.state === 'closed') return true;
        // Admissions that timed out meanwhile no longer ask for anything.
        const deciding = batch.filter((pending) => pending.state === 'deciding');
        if (deciding.length === 0 && !needsWrite(key)) return true;
        if (key.seen === undefined) {
          const entry = await this.kv.get(key.name);
          key.seen =
            entry === null ? { value: undefined, revision: 0 }
            : { value: entry.operation === 'PUT' ? decodeLimitValue(entry.value) : undefined, revision: entry.revision };
        }
        const { value: current, revision } = key.seen;
        const now = this.now();
        const decision = decideLimits({
          current, now, workerId: this.workerId, held: key.held, leaseMs: this.leaseMs,
          requests: deciding.map((pending) => pending.limits), leaseTokens: tokensToLease(key, deciding, now),
        });
        const leaseRefreshWasDue = key.leaseRefreshDue;
        key.leaseRefreshDue = false;
        key.flushDue = false;
        const data = encodeLimitValue(decision.value);
        let written: number;
        try {
          written = revision === 0 ? await this.kv.create(key.name, data) : await this.kv.update(key.name, data, revision);
        } catch (err) {
          key.leaseRefreshDue ||= leaseRefreshWasDue;
          if (!isWrongRevision(err)) throw err;
          this.counted.conflicts++;
          // Another worker wrote since we looked: look again and decide again.
          key.seen = undefined;
          continue;
        }
        key.seen = { value: decision.value, revision: written };
        key.written = decision.held;
        this.counted.writes++;
        this.counted.decidedByWrite += deciding.length;
        if (decision.leased > 0) {
          key.tokens = (key.tokensUntil > now ? key.tokens : 0) + decision.leased;
          key.tokensUntil = now + TOKEN_LEASE_MS;
        }
        this.healer.attempts = 0;
        decision.verdicts.forEach((verdict, i) => {
          const pending = deciding[i];
          if (pending !== undefined) this.answer(key, pending, verdict);
        });
        return true;
      }
    } catch (err) {
      key.seen = undefined;
      key.written = 'unknown';
      this.log?.warn({ err, key: key.name }, 'call limits unavailable: refusing');
      for (const pending of batch) this.answer(key, pending, { admitted: false, limit: 'unavailable' });
      // The bucket may be gone (a missing stream shows as "no responders" on a write and as a
      // timeout on a direct get, so the error alone cannot tell): check it. A value someone
      // else wrote is not healed by recreating anything.
      if (!(err instanceof LimitValueError)) this.heal('kv-failed');
      return false;
    }
  }

  /** Heals after every reconnect: the server may have come back on an empty store, and our leases may have lapsed. */
  private async followConnection(nc: NatsConnection): Promise<void> {
    try {
      for await (const status of nc.status()) {
        if (this.state !== 'open') return;
        if (status.type === 'disconnect') this.connected = false;
        if (status.type === 'reconnect') {
          this.connected = true;
          this.heal('reconnect');
        }
      }
    } catch (err) {
      this.log?.error({ err }, 'call limiter stopped following the NATS connection');
    }
  }

  /**
   * Asks for a heal: at once after a reconnect or the first failure, else after a back-off that
   * grows while heals do not lead to a successful write, so a KV that keeps failing (NATS down)
   * costs one bucket check every few seconds, not a loop.
   */
  private heal(trigger: 'reconnect' | 'kv-failed'): void {
    if (this.state !== 'open') return;
    const { healer } = this;
    if (trigger === 'reconnect') {
      healer.attempts = 0;
      clearTimeout(healer.timer);
      healer.timer = undefined;
    }
    healer.due = true;
    if (healer.running || healer.timer !== undefined) return;
    const backoff = healer.attempts === 0 ? 0 : Math.min(HEAL_MAX_BACKOFF_MS, HEAL_BACKOFF_MS * 2 ** (healer.attempts - 1));
    // jitter: workers that lost NATS together do not all come back in the same millisecond
    healer.timer = setTimeout(() => {
      healer.timer = undefined;
      void this.runHeal();
    }, backoff === 0 ? 0 : backoff / 2 + Math.random() * (backoff / 2));
    healer.timer.unref();
  }

  /** Recreates the bucket if it is missing, then writes this worker's share of every key again. */
  private async runHeal(): Promise<void> {
    const { healer } = this;
    if (!healer.due || healer.running || this.state !== 'open') return;
    healer.due = false;
    healer.running = true;
    healer.attempts += 1;
    try {
      const { kv, created } = await openLimitsBucket(this.js, this.settings);
      if (this.state !== 'open') return;
      this.kv = kv;
      await this.watch.start(kv);
      if (created) this.log?.warn({ bucket: this.settings.bucket }, 'call limits bucket was missing: recreated it, writing this worker\'s shares again');
      this.rewriteShares();
    } catch (err) {
      // NATS unreachable, or JetStream not ready yet after a restart: admissions stay refused
      // (fail closed) and the next heal comes after the back-off.
      this.log?.warn({ err, bucket: this.settings.bucket }, 'call limits bucket not reachable: trying again');
      healer.due = true;
    } finally {
      healer.running = false;
    }
    if (healer.due) this.heal('kv-failed');
  }

  /**
   * Every key is read again before its next write: a bucket made anew restarts its revisions,
   * and a cached one could match by chance and let a stale value through the compare-and-set.
   */
  private rewriteShares(): void {
    for (const key of this.keys.values()) {
      key.seen = undefined;
      if (key.held > 0) key.leaseRefreshDue = true;
      if (!needsWrite(key)) continue;
      if (key.writer === 'idle') this.schedule(key);
      else key.rewriteOwed = true;
    }
  }

  /** Gives `pending` its verdict, or gives back a slot admitted for a caller who stopped waiting. */
  private answer(
    key: LimitedKey,
    pending: PendingAdmission,
    verdict: { admitted: true; slot: boolean } | { admitted: false; limit: 'concurrency' | 'rate' | 'unavailable' },
  ): void {
    const wasWaiting = pending.state === 'queued' || pending.state === 'deciding';
    pending.state = 'answered';
    clearTimeout(pending.deadline);
    if (!verdict.admitted) {
      if (wasWaiting) pending.resolve({ admitted: false, limit: verdict.limit, key: key.name });
      return;
    }
    if (!verdict.slot) {
      if (wasWaiting) pending.resolve(UNLIMITED);
      return;
    }
    if (!wasWaiting || this.state !== 'open') {
      // The slot was written but nobody will ever release it; leaving it out of `held` makes
      // the next write (or lease refresh, or close) give it back.
      if (wasWaiting) pending.resolve({ admitted: false, limit: 'unavailable', key: key.name });
      return;
    }
    key.held += 1;
    pending.resolve(this.holds.grant(key.name, () => this.releaseSlot(key)));
  }
}
