// @switchboard/limits — cluster-wide call limits per trunk and carrier (concurrent calls, calls per second): the limiter interface, the pure decision, the JetStream KV and local limiters.
export { admitFor, hasLimits, HeldSlots, limitReason, UNLIMITED, type Admission, type CallLimiter, type LimitActivity, type LimitHold, type LimitRequest } from './call-limiter.js';
export {
  DEFAULT_LEASE_MS, DEFAULT_LIMIT_TIMEOUT_MS, DEFAULT_LIMITS_BUCKET, KvCallLimiter, type KvCallLimiterOptions,
} from './kv-call-limiter.js';
export { FLUSH_MS, MAX_SLOT_BLOCK, TOKEN_BLOCK_DIVISOR, TOKEN_LEASE_MS } from './limit-lease.js';
export { decideLimits, type LimitDecision, type LimitDecisionInput, type LimitName, type Limits, type Verdict } from './limit-decision.js';
export { isValidLimitKey, limitKey, type LimitedSubject } from './limit-key.js';
export { decodeLimitValue, encodeLimitValue, LimitValueError, type LimitValue, type TokenBucket, type WorkerShare } from './limit-value.js';
export { LocalCallLimiter, type LocalCallLimiterOptions } from './local-call-limiter.js';
