/** One publish held while NATS is unreachable. */
export interface HeldPublish<O> {
  subject: string;
  data: Uint8Array;
  options: O | undefined;
}

export interface OutageQueueLimits {
  maxMessages: number;
  maxBytes: number;
}

/**
 * What a worker must send while its NATS connection is down, in the order it was sent, bounded
 * by count and by payload bytes. Past either bound the oldest goes first: the transactions keep
 * their timers running during the outage (RFC 3261 §17, Timers A/E/G), so a request or response
 * still wanted has a newer retransmission queued behind its old copy, and an old one whose
 * transaction timed out is wanted by nobody. A ring of `maxMessages` slots: dropping costs no copy.
 */
export class OutageQueue<O> {
  private readonly slots: (HeldPublish<O> | undefined)[];
  private head = 0;
  private count = 0;
  private bytes = 0;

  constructor(private readonly limits: OutageQueueLimits) {
    this.slots = new Array<HeldPublish<O> | undefined>(limits.maxMessages);
  }

  get size(): number {
    return this.count;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** Holds `held`; returns how many were dropped for it (the oldest first, or `held` itself when larger than maxBytes). */
  push(held: HeldPublish<O>): number {
    const length = held.data.byteLength;
    if (length > this.limits.maxBytes) return 1;
    let dropped = 0;
    while (this.count > 0 && (this.count === this.limits.maxMessages || this.bytes + length > this.limits.maxBytes)) {
      this.shift();
      dropped++;
    }
    this.slots[(this.head + this.count) % this.slots.length] = held;
    this.count++;
    this.bytes += length;
    return dropped;
  }

  /** Drops what `unwanted` says, keeping the order of the rest; returns how many were dropped. */
  discard(unwanted: (held: HeldPublish<O>) => boolean): number {
    const kept: HeldPublish<O>[] = [];
    let dropped = 0;
    for (let held = this.shift(); held !== undefined; held = this.shift()) {
      if (unwanted(held)) dropped++;
      else kept.push(held);
    }
    for (const held of kept) this.push(held);
    return dropped;
  }

  /** Takes everything held, oldest first, leaving the queue empty. */
  drain(): HeldPublish<O>[] {
    const out: HeldPublish<O>[] = [];
    for (let held = this.shift(); held !== undefined; held = this.shift()) out.push(held);
    return out;
  }

  private shift(): HeldPublish<O> | undefined {
    if (this.count === 0) return undefined;
    const held = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    this.bytes -= held?.data.byteLength ?? 0;
    return held;
  }
}
