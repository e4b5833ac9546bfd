// Cluster-wide call limits per trunk and carrier: what the engine asks before it takes a call.
import { isValidLimitKey } from './limit-key.js';
import type { LimitName, Limits } from './limit-decision.js';

export interface LimitRequest extends Limits {
  /** A limits-bucket key such as `trunk.acme` (see `limitKey`). */
  readonly key: string;
}

/**
 * A slot held, as plain data: what one actor hands to another that will give it back with
 * `CallLimiter.release` (a transfer's new call, kept by the call once the new party answers).
 */
export interface LimitHold {
  readonly key: string;
  /** 0 for an admission that holds no slot. */
  readonly id: number;
}

export type Admission =
  /** `release()` (or `CallLimiter.release(hold)`) frees the concurrency slot when the call ends; releasing again does nothing. */
  | { readonly admitted: true; readonly hold: LimitHold; release(): void }
  /**
   * `unavailable`: the limits could not be checked in time (the KV is unreachable, or the
   * request itself is malformed), and the call is refused rather than let through unlimited.
   */
  | { readonly admitted: false; readonly limit: LimitName | 'unavailable'; readonly key: string };

export interface LimitActivity {
  /** Admitted from the worker's view and leased tokens, with no write. */
  readonly admittedLocally: number;
  /** Decided by a compare-and-set (admitted or refused). */
  readonly decidedByWrite: number;
  /** Compare-and-sets that succeeded, and those that lost to another worker's write. */
  readonly writes: number;
  readonly conflicts: number;
}

export interface CallLimiter {
  /** Never rejects. A request without limits is admitted at once, without I/O. */
  admit(request: LimitRequest): Promise<Admission>;
  /** Gives back the slot of an admission by its hold (once; again, or for a hold of nothing, does nothing). */
  release(hold: LimitHold): void;
  /**
   * Worker takeover: `hold`, granted by the limiter of a worker that is gone, is this worker's
   * from now on: counted in its share without a limit check (the call is up already). Returns
   * the hold to release it by. The old worker's share lapses with its lease.
   */
  adopt(hold: LimitHold): LimitHold;
  /** Counts held by this worker per key (for stats). */
  held(): ReadonlyMap<string, number>;
  /** How admissions were decided, for stats: locally (leased) or by a write, and the writes made. */
  activity?(): LimitActivity;
  /** Writes this worker's entries to zero (bounded by timeoutMs) and stops the lease refresh. */
  close(): Promise<void>;
}

/** The admission of a request that has no limits: nothing to release. */
export const UNLIMITED: Admission = Object.freeze({ admitted: true, hold: Object.freeze({ key: '', id: 0 }), release() {} });

/** The slots a limiter granted and not yet got back, by hold id: each is given back once. */
export class HeldSlots {
  private nextId = 1;
  private readonly frees = new Map<number, () => void>();

  /** An admission holding a slot of `key`; `free` gives the slot back (called at most once). */
  grant(key: string, free: () => void): Admission {
    const hold: LimitHold = { key, id: this.nextId++ };
    this.frees.set(hold.id, free);
    return { admitted: true, hold, release: () => this.release(hold) };
  }

  /** A hold on `key` granted without a decision (an adopted call's); `free` as for `grant`. */
  adopted(key: string, free: () => void): LimitHold {
    const hold: LimitHold = { key, id: this.nextId++ };
    this.frees.set(hold.id, free);
    return hold;
  }

  release(hold: LimitHold): void {
    const free = this.frees.get(hold.id);
    if (free === undefined) return;
    this.frees.delete(hold.id);
    free();
  }

  /** Forgets every hold (the limiter closed: its slots are given back as a whole). */
  clear(): void {
    this.frees.clear();
  }
}

export const hasLimits = (request: Limits): boolean =>
  request.maxConcurrent !== undefined || request.maxPerSecond !== undefined;

/** Why `request` cannot be decided at all, or undefined when it can. */
export function requestProblem(request: LimitRequest): string | undefined {
  if (typeof request.key !== 'string' || !isValidLimitKey(request.key)) return `invalid limit key ${JSON.stringify(request.key)}`;
  const { maxConcurrent, maxPerSecond } = request;
  if (maxConcurrent !== undefined && !(Number.isSafeInteger(maxConcurrent) && maxConcurrent >= 0)) {
    return `maxConcurrent must be an integer >= 0, not ${maxConcurrent}`;
  }
  if (maxPerSecond !== undefined && !(Number.isFinite(maxPerSecond) && maxPerSecond >= 0)) {
    return `maxPerSecond must be a finite number >= 0, not ${maxPerSecond}`;
  }
  return undefined;
}

/**
 * Asks `limiter` on behalf of an actor: the verdict goes to `deliver` unless `stale()` says the
 * actor no longer wants it (it ended while waiting), in which case a slot taken is given back.
 * A limiter that fails counts as `unavailable` (limits fail closed).
 */
export function admitFor(limiter: CallLimiter, request: LimitRequest, stale: () => boolean, deliver: (admission: Admission) => void): void {
  limiter.admit(request).then(
    (admission) => {
      if (!stale()) return deliver(admission);
      if (admission.admitted) admission.release();
    },
    () => {
      if (!stale()) deliver({ admitted: false, limit: 'unavailable', key: request.key });
    },
  );
}

/** The reason phrase of a call or transfer refused by a limit (README "Limits: why these answers"). */
export function limitReason(limit: 'concurrency' | 'rate' | 'unavailable'): string {
  return limit === 'rate' ? 'Call Rate Exceeded' : limit === 'unavailable' ? 'Limits Unavailable' : 'Concurrent Call Limit';
}
