// Brute force on digest credentials (RFC 3261 §26.3.2.3 leaves it to the implementation): past a few
// failures in a window, a source or a username gets 403 without a challenge for a while, so guessing
// passwords costs the guesser a round trip per try and then nothing at all.

export interface DigestFailureLimits {
  /** Failures within `windowMs` that block the source (or the username). */
  maxFailures: number;
  windowMs: number;
  /** How long a blocked source or username is refused without a challenge. */
  blockMs: number;
  /** Sources and usernames followed at once; past it the one followed longest is forgotten. */
  maxTracked: number;
}

export const DEFAULT_DIGEST_FAILURE_LIMITS: DigestFailureLimits = { maxFailures: 10, windowMs: 60_000, blockMs: 300_000, maxTracked: 50_000 };

interface Record {
  failures: number;
  windowStart: number;
  blockedUntil: number;
}

/**
 * Failed digest attempts by source address and by username, each in a fixed window, in one
 * worker (the retry of a challenged request reaches the worker that owns its Call-ID, so a
 * guesser keeping its Call-ID stays on one worker; one changing it spreads its tries, each
 * worker counting its share). Blocking a username lets a stranger lock a customer out for
 * blockMs: the price of stopping guesses spread over many addresses; the customer's own
 * source keeps working when it is also in the trunk's ACL.
 */
export class DigestFailures {
  private readonly records = new Map<string, Record>();
  private blocks = 0;

  constructor(
    private readonly limits: DigestFailureLimits = DEFAULT_DIGEST_FAILURE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the source, or the username when given, is refused without a challenge now. */
  blocked(source: string, username?: string): boolean {
    const now = this.now();
    return this.isBlocked(`a:${source}`, now) || (username !== undefined && this.isBlocked(`u:${username}`, now));
  }

  /** A failed attempt: counted against its source and, when it named one, its username. */
  failed(source: string, username?: string): void {
    const now = this.now();
    this.count(`a:${source}`, now);
    if (username !== undefined) this.count(`u:${username}`, now);
  }

  snapshot(): { tracked: number; blocked: number; blocks: number } {
    const now = this.now();
    let blocked = 0;
    for (const r of this.records.values()) if (r.blockedUntil > now) blocked++;
    return { tracked: this.records.size, blocked, blocks: this.blocks };
  }

  private isBlocked(key: string, now: number): boolean {
    const r = this.records.get(key);
    return r !== undefined && r.blockedUntil > now;
  }

  private count(key: string, now: number): void {
    let r = this.records.get(key);
    if (r === undefined) {
      if (this.records.size >= this.limits.maxTracked) {
        const oldest = this.records.keys().next();
        if (oldest.done !== true) this.records.delete(oldest.value);
      }
      r = { failures: 0, windowStart: now, blockedUntil: 0 };
      this.records.set(key, r);
    }
    if (now - r.windowStart >= this.limits.windowMs) {
      r.failures = 0;
      r.windowStart = now;
    }
    r.failures++;
    if (r.failures >= this.limits.maxFailures && r.blockedUntil <= now) {
      r.blockedUntil = now + this.limits.blockMs;
      this.blocks++;
    }
  }
}
