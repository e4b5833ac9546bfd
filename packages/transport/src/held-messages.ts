import type { RoutingFields } from '@switchboard/sip';
import type { TransportInfo } from '@switchboard/wire';

/**
 * A TCP message waiting for NATS, or for its slot to have an owner again (the owner died and no
 * survivor has announced the slot yet): what forwarding it needs, and when it arrived. It goes
 * to whoever owns `slot` when it is released.
 */
export interface HeldMessage {
  slot: number;
  sip: Uint8Array;
  route: RoutingFields;
  transport: TransportInfo;
  receivedAt: number;
}

/**
 * In-dialog TCP messages held while NATS is unreachable, or while their slot is orphaned. A TCP peer does not retransmit
 * (RFC 3261 §17.1.2.2: Timer E only runs over unreliable transports), so what a connection
 * sent is kept, in order, and forwarded once NATS is back. Bounded per connection and in
 * total: past either bound the caller refuses or drops, and counts.
 */
export class HeldMessages {
  private readonly byConnection = new Map<string, HeldMessage[]>();
  private total = 0;

  constructor(private readonly perConnection: number, private readonly overall: number) {}

  /** Queues `m` behind what `connectionId` already holds; false (nothing held) when a bound is reached. */
  hold(connectionId: string, m: HeldMessage): boolean {
    let queue = this.byConnection.get(connectionId);
    if ((queue?.length ?? 0) >= this.perConnection || this.total >= this.overall) return false;
    if (queue === undefined) this.byConnection.set(connectionId, (queue = []));
    queue.push(m);
    this.total++;
    return true;
  }

  holds(connectionId: string): boolean {
    return this.byConnection.has(connectionId);
  }

  /**
   * Hands `connectionId`'s messages to `release` in order, stopping at the first one it
   * declines (false): that one and those behind it stay held.
   */
  release(connectionId: string, release: (m: HeldMessage) => boolean): void {
    const queue = this.byConnection.get(connectionId);
    if (queue === undefined) return;
    let n = 0;
    for (const m of queue) {
      if (!release(m)) break;
      n++;
    }
    queue.splice(0, n);
    this.total -= n;
    if (queue.length === 0) this.byConnection.delete(connectionId);
  }

  /** Forgets a closed connection's messages; returns how many there were. */
  discard(connectionId: string): number {
    const n = this.byConnection.get(connectionId)?.length ?? 0;
    this.byConnection.delete(connectionId);
    this.total -= n;
    return n;
  }

  connections(): string[] {
    return [...this.byConnection.keys()];
  }

  get size(): number {
    return this.total;
  }
}
