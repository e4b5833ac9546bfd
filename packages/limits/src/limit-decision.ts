// The whole admission decision for one key, without I/O: the KV limiter and the local limiter
// both call it with the value they last saw, and tests call it with plain values and a clock
// of their own. Concurrency and rate are decided together per request, so a request refused
// by one limit takes nothing from the other.
import type { LimitValue, TokenBucket, WorkerShare } from './limit-value.js';

/** The limits one admission asks for; an absent limit is not checked. */
export interface Limits {
  /** Calls that may be up at once across the cluster (integer ≥ 0). */
  readonly maxConcurrent?: number;
  /** Calls that may start per second across the cluster (≥ 0); also the bucket's burst. */
  readonly maxPerSecond?: number;
}

export type LimitName = 'concurrency' | 'rate';

export type Verdict =
  /** `slot`: the call holds one of the concurrent slots (false for a rate-only request). */
  | { readonly admitted: true; readonly slot: boolean }
  | { readonly admitted: false; readonly limit: LimitName };

export interface LimitDecisionInput {
  /** The key's value as last read or written, or undefined when the key does not exist. */
  readonly current: LimitValue | undefined;
  /** Wall clock, epoch ms. */
  readonly now: number;
  readonly workerId: string;
  /** Slots this worker's calls hold now. It overrides this worker's share in `current`, which may be stale. */
  readonly held: number;
  /** How long the written share stays valid without a refresh. */
  readonly leaseMs: number;
  /** Admissions in arrival order: earlier ones get the slots and tokens first. */
  readonly requests: readonly Limits[];
  /**
   * Tokens this worker takes from the bucket for itself after the requests, to admit later calls
   * without a write (leased limits, limit-lease.ts); as many as the bucket has, up to `want`.
   */
  readonly leaseTokens?: { readonly perSecond: number; readonly want: number };
}

export interface LimitDecision {
  /** The value to write. */
  readonly value: LimitValue;
  /** One verdict per request, in order. */
  readonly verdicts: readonly Verdict[];
  /** This worker's count in `value`: `held` plus the slots admitted now. */
  readonly held: number;
  /** Tokens taken for `leaseTokens` (0 without it). */
  readonly leased: number;
}

// Refill is fractional (0.1 tokens per 10 ms at 10/s), so sums like 0.3 + 0.7 may fall a hair
// short of a whole token.
const TOKEN_EPSILON = 1e-9;

export function decideLimits(input: LimitDecisionInput): LimitDecision {
  const { current, now, workerId, leaseMs, requests } = input;
  const shares: [string, WorkerShare][] = [];
  let othersHeld = 0;
  for (const [id, share] of Object.entries(current?.w ?? {})) {
    // A share whose lease has ended belongs to a worker that stopped refreshing: a crash.
    if (id === workerId || share.l <= now) continue;
    othersHeld += share.c;
    shares.push([id, share]);
  }

  let held = input.held;
  let bucket = current?.b;
  const verdicts: Verdict[] = [];
  for (const request of requests) {
    const wantsSlot = request.maxConcurrent !== undefined;
    if (request.maxConcurrent !== undefined && othersHeld + held + 1 > request.maxConcurrent) {
      verdicts.push({ admitted: false, limit: 'concurrency' });
      continue;
    }
    if (request.maxPerSecond !== undefined) {
      bucket = refilled(bucket, request.maxPerSecond, now);
      if (bucket.t < 1 - TOKEN_EPSILON) {
        verdicts.push({ admitted: false, limit: 'rate' });
        continue;
      }
      bucket = { t: Math.max(0, bucket.t - 1), at: bucket.at };
    }
    if (wantsSlot) held += 1;
    verdicts.push({ admitted: true, slot: wantsSlot });
  }

  let leased = 0;
  const lease = input.leaseTokens;
  if (lease !== undefined && lease.want > 0) {
    bucket = refilled(bucket, lease.perSecond, now);
    leased = Math.min(lease.want, Math.floor(bucket.t + TOKEN_EPSILON));
    bucket = { t: Math.max(0, bucket.t - leased), at: bucket.at };
  }

  // A worker holding nothing has no share: `close()` and the last release remove it.
  if (held > 0) shares.push([workerId, { c: held, l: now + leaseMs }]);
  shares.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const value: LimitValue = bucket === undefined ? { w: Object.fromEntries(shares) } : { w: Object.fromEntries(shares), b: bucket };
  return { value, verdicts, held, leased };
}

/**
 * `bucket` refilled at `perSecond` tokens a second up to `perSecond` tokens. A new bucket
 * starts full. `at` never moves backwards, so a worker whose clock lags another's does not
 * refill the same interval twice.
 */
export function refilled(bucket: TokenBucket | undefined, perSecond: number, now: number): TokenBucket {
  if (bucket === undefined) return { t: perSecond, at: now };
  const elapsed = Math.max(0, now - bucket.at);
  return { t: Math.min(perSecond, bucket.t + (elapsed * perSecond) / 1000), at: Math.max(bucket.at, now) };
}
