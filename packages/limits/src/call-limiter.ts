// Cluster-wide call limits per trunk and carrier: what the engine asks before it takes a call.
import { isValidLimitKey } from './limit-key.js';
import type { LimitName, Limits } from './limit-decision.js';

export interface LimitRequest extends Limits {
  /** A limits-bucket key such as `trunk.acme` (see `limitKey`). */
  readonly key: string;
}

export type Admission =
  /** `release()` frees the concurrency slot when the call ends; calling it again does nothing. */
  | { readonly admitted: true; release(): void }
  /**
   * `unavailable`: the limits could not be checked in time (the KV is unreachable, or the
   * request itself is malformed), and the call is refused rather than let through unlimited.
   */
  | { readonly admitted: false; readonly limit: LimitName | 'unavailable'; readonly key: string };

export interface CallLimiter {
  /** Never rejects. A request without limits is admitted at once, without I/O. */
  admit(request: LimitRequest): Promise<Admission>;
  /** Counts held by this worker per key (for stats). */
  held(): ReadonlyMap<string, number>;
  /** Writes this worker's entries to zero (bounded by timeoutMs) and stops the lease refresh. */
  close(): Promise<void>;
}

/** The admission of a request that has no limits: nothing to release. */
export const UNLIMITED: Admission = Object.freeze({ admitted: true, release() {} });

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
