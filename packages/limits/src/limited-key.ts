// What a KvCallLimiter knows and owes for each key, and the admissions waiting for a write.
import type { Admission } from './call-limiter.js';
import type { Limits } from './limit-decision.js';
import { AdmissionRate, tokenBlock } from './limit-lease.js';
import type { LimitValue } from './limit-value.js';

/** An admission waiting for its key's next write. */
export interface PendingAdmission {
  readonly limits: Limits;
  /**
   * queued: waiting for the next write; deciding: part of the write in flight (its slot, if
   * admitted, is already in the value being written); timed-out: answered `unavailable` while
   * queued or deciding; answered: given its verdict.
   */
  state: 'queued' | 'deciding' | 'timed-out' | 'answered';
  readonly resolve: (admission: Admission) => void;
  readonly deadline: NodeJS.Timeout;
}

/** What this worker knows and owes for one key. */
export interface LimitedKey {
  readonly name: string;
  /** Slots held by this worker's admitted calls that have not been released. */
  held: number;
  /** Our share as the KV has it, as far as we know; `unknown` after a failed write. */
  written: number | 'unknown';
  /** The value and revision last read or written (revision 0: no such key); undefined: must read. */
  seen: { readonly value: LimitValue | undefined; readonly revision: number } | undefined;
  /** A lease refresh is owed even if the count did not change. */
  leaseRefreshDue: boolean;
  /** Admissions not answered yet, queued or deciding, in arrival order. */
  unanswered: PendingAdmission[];
  /** idle: nothing to do; scheduled: a drain starts on the next turn; draining: writes in progress. */
  writer: 'idle' | 'scheduled' | 'draining';
  /** Settles when the current drain ends. */
  drained: Promise<void>;
  /** A heal asked for a write while a drain was ending: that drain schedules one more. */
  rewriteOwed: boolean;
  /** Admissions asked of this key on this worker: sizes its blocks. */
  readonly rate: AdmissionRate;
  /** The maxConcurrent of the last admission that had one: tells a release whether it may be written lazily. */
  maxConcurrent: number | undefined;
  /** Tokens leased to this worker, spendable until `tokensUntil` (epoch ms). */
  tokens: number;
  tokensUntil: number;
  /** The flush asks for a write of a share that lags, leased or not. */
  flushDue: boolean;
}

export const needsWrite = (key: LimitedKey): boolean => key.leaseRefreshDue || key.written !== key.held;

export function newLimitedKey(name: string): LimitedKey {
  return {
    name, held: 0, written: 0, seen: undefined, leaseRefreshDue: false, unanswered: [], writer: 'idle', drained: Promise.resolve(), rewriteOwed: false,
    rate: new AdmissionRate(), maxConcurrent: undefined, tokens: 0, tokensUntil: 0, flushDue: false,
  };
}

/** The tokens to lease at a write deciding `deciding`: a block for the rate they ask, less what is still leased. */
export function tokensToLease(key: LimitedKey, deciding: readonly PendingAdmission[], now: number): { perSecond: number; want: number } | undefined {
  const perSecond = deciding.findLast((pending) => pending.limits.maxPerSecond !== undefined)?.limits.maxPerSecond;
  if (perSecond === undefined) return undefined;
  const still = key.tokensUntil > now ? key.tokens : 0;
  return { perSecond, want: Math.max(0, tokenBlock(key.rate.perSecond, perSecond) - still) };
}
