// Leased limits (issue 17): when a key is far from its limits, a worker admits calls from what it
// knows without a round trip, and writes its share to the KV lazily; near a limit every admission
// is a compare-and-set, exactly as before. Pure: the clock and the values come in as arguments.
//
// Concurrency. A worker's share in the KV lags what it holds by less than its slot block (it
// writes when the gap reaches the block, and at every flush); other workers' shares reach it
// through a watch of the bucket. A call is admitted locally only while, even if every live worker
// (and one not seen yet) were a whole block behind, with one more block written but not yet
// watched, the key would stay within its limit:
//   others written + held + 1 + 2 × MAX_SLOT_BLOCK × (other workers + 2) ≤ maxConcurrent.
// So leasing does not let the cluster go over N in practice; the bound we promise is N + workers
// × MAX_SLOT_BLOCK, and the KV is exact again within one flush (FLUSH_MS) of the last change.
//
// Rate. A compare-and-set that admits a rate-limited call also takes a block of tokens from the
// key's bucket for this worker to spend locally within TOKEN_LEASE_MS; unspent ones lapse. A
// worker's block is at most maxPerSecond / 20, so in any second the cluster admits at most what
// the bucket gives (R a second once its saved tokens are spent) plus workers × R / 20 leased
// before that second began.
import type { LimitValue } from './limit-value.js';

/** The largest gap between what a worker holds and its share in the KV, in calls. */
export const MAX_SLOT_BLOCK = 32;
/** Every key whose share lags what the worker holds is written at least this often. */
export const FLUSH_MS = 250;
/** Leased tokens not spent within this are dropped. */
export const TOKEN_LEASE_MS = 1_000;
/** A worker's token block is at most maxPerSecond / TOKEN_BLOCK_DIVISOR. */
export const TOKEN_BLOCK_DIVISOR = 20;

/** Admissions per second of one key on this worker, smoothed over flushes. */
export class AdmissionRate {
  private count = 0;
  perSecond = 0;

  note(): void {
    this.count += 1;
  }

  /** Folds the admissions of the last `elapsedMs` into the estimate. */
  tick(elapsedMs: number): void {
    const sample = (this.count * 1000) / elapsedMs;
    this.perSecond = this.perSecond === 0 ? sample : (this.perSecond + sample) / 2;
    this.count = 0;
  }
}

/**
 * How far a worker's share may lag what it holds: what it admits in a flush period (the flush
 * writes it anyway), 1 to MAX_SLOT_BLOCK.
 */
export function slotBlock(perSecond: number): number {
  return Math.min(MAX_SLOT_BLOCK, Math.max(1, Math.ceil((perSecond * FLUSH_MS) / 1000)));
}

/**
 * Tokens to lease at a compare-and-set, beyond those the admissions spend: a flush period of this
 * worker's admissions, at most maxPerSecond / 20; 0 (no lease: every admission a
 * compare-and-set) when that is under 2, as for small rates.
 */
export function tokenBlock(perSecond: number, maxPerSecond: number): number {
  const block = Math.min(Math.ceil((perSecond * FLUSH_MS) / 1000), Math.floor(maxPerSecond / TOKEN_BLOCK_DIVISOR));
  return block >= 2 ? block : 0;
}

/** The calls other workers' live shares hold, and how many such workers there are. */
export function othersHolding(value: LimitValue | undefined, workerId: string, now: number): { calls: number; workers: number } {
  let calls = 0;
  let workers = 0;
  for (const [id, share] of Object.entries(value?.w ?? {})) {
    if (id === workerId || share.l <= now) continue;
    calls += share.c;
    workers += 1;
  }
  return { calls, workers };
}

/**
 * Whether one more call can be admitted locally (see the header): true only with room for every
 * worker's unwritten block on top of what the KV shows.
 */
export function roomToAdmitLocally(value: LimitValue | undefined, workerId: string, now: number, held: number, maxConcurrent: number): boolean {
  const others = othersHolding(value, workerId, now);
  return others.calls + held + 1 + 2 * MAX_SLOT_BLOCK * (others.workers + 2) <= maxConcurrent;
}
