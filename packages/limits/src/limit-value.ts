// The value stored under one key of the limits bucket, kept as short JSON so an operator can
// read it with `nats kv get sb-limits trunk.acme`:
//   { "w": { "<workerId>": { "c": 3, "l": 1718000000000 } }, "b": { "t": 7.5, "at": 1717999999000 } }
// `w` holds each worker's own absolute count of concurrent calls (`c`) and the epoch-ms
// instant its lease on them ends (`l`); `b` is the key's token bucket for calls per second
// (`t` tokens as of `at`, epoch ms), present once the key has had a rate limit.

/** One worker's share of a key's concurrent calls. */
export interface WorkerShare {
  /** Calls this worker holds. */
  readonly c: number;
  /** Lease expiry, epoch ms: after it the share counts for nothing and is pruned. */
  readonly l: number;
}

/** The token bucket behind a calls-per-second limit. */
export interface TokenBucket {
  /** Tokens left (fractional: refill is continuous). */
  readonly t: number;
  /** When `t` was last refilled, epoch ms. */
  readonly at: number;
}

export interface LimitValue {
  readonly w: Readonly<Record<string, WorkerShare>>;
  readonly b?: TokenBucket;
}

/** A stored value that is not a limits value: someone else wrote the key. */
export class LimitValueError extends Error {
  override readonly name = 'LimitValueError';
  readonly code = 'malformed-limit-value' as const;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

export function encodeLimitValue(value: LimitValue): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** Parses a stored value; throws {@link LimitValueError} for anything but a limits value. */
export function decodeLimitValue(bytes: Uint8Array): LimitValue {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new LimitValueError('limit value is not JSON', { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new LimitValueError('limit value is not an object');
  const { w, b } = raw as { w?: unknown; b?: unknown };
  if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new LimitValueError('limit value has no "w" object');
  const shares: [string, WorkerShare][] = [];
  for (const [workerId, share] of Object.entries(w)) {
    const { c, l } = (share ?? {}) as { c?: unknown; l?: unknown };
    if (!isCount(c) || !isCount(l)) throw new LimitValueError(`limit value has a malformed share for worker ${workerId}`);
    shares.push([workerId, { c, l }]);
  }
  // Object.fromEntries defines own properties, so a worker named "__proto__" stays a worker.
  const value: { w: Record<string, WorkerShare>; b?: TokenBucket } = { w: Object.fromEntries(shares) };
  if (b !== undefined) {
    const { t, at } = (b ?? {}) as { t?: unknown; at?: unknown };
    if (!isCount(t) || !isCount(at)) throw new LimitValueError('limit value has a malformed "b" bucket');
    value.b = { t, at };
  }
  return value;
}
