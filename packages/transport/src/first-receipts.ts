import type { RoutingFields } from '@switchboard/sip';

/**
 * RFC 3261 §17.1.2.2: a client retransmits a non-INVITE request until Timer F, 64·T1 = 32 s;
 * after that no retransmission of a request dropped during an outage can arrive.
 */
export const RETRANSMIT_WINDOW_MS = 32_000;

/** A request and its retransmissions share Call-ID, CSeq, method and top Via branch (§17.2.3). */
export function receiptKey(route: RoutingFields): string {
  return `${route.callId}\n${route.cseq}\n${route.method}\n${route.branch}`;
}

/**
 * When each in-dialog request dropped during a NATS outage first arrived, so that its
 * retransmission, forwarded once NATS is back, carries that time: a call ends when its BYE
 * was sent, not when it got through. Bounded: past `capacity` the oldest entry goes.
 */
export class FirstReceipts {
  private readonly firstAt = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  /** Notes `at` for `key` unless an earlier receipt is known; returns whether the map grew. */
  remember(key: string, at: number): boolean {
    if (this.firstAt.has(key)) return false;
    this.firstAt.set(key, at);
    // insertion order is arrival order: the front holds the oldest entries
    for (const [oldest, t] of this.firstAt) {
      if (this.firstAt.size <= this.capacity && at - t <= RETRANSMIT_WINDOW_MS) break;
      this.firstAt.delete(oldest);
    }
    return true;
  }

  /** The first receive time of `key` if it is still within a retransmission's reach of `now`. */
  firstReceivedAt(key: string, now: number): number | undefined {
    const at = this.firstAt.get(key);
    return at !== undefined && now - at <= RETRANSMIT_WINDOW_MS ? at : undefined;
  }

  get size(): number {
    return this.firstAt.size;
  }
}
