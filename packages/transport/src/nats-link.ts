import type { NatsConnection } from '@nats-io/transport-node';
import type { RoutingFields } from '@switchboard/sip';
import type { TransportInfo, WorkerDirectory } from '@switchboard/wire';
import type { Logger } from 'pino';
import { FirstReceipts, receiptKey } from './first-receipts.js';
import { HeldMessages, type HeldMessage } from './held-messages.js';

export interface OutageBounds {
  /** In-dialog TCP messages held per connection while NATS is unreachable. */
  heldPerConnection: number;
  /** The same, across all connections. */
  heldTotal: number;
  /** In-dialog requests dropped during an outage whose first receive time is remembered. */
  firstReceipts: number;
}

/**
 * Where held messages go: the slot's owner now (undefined while it is orphaned), and whether the
 * slot has stopped waiting for one (its messages are then answered as for no dialog).
 */
export interface SlotRouting {
  ownerOf(slot: number): string | undefined;
  abandoned(slot: number): boolean;
}

/**
 * What becomes of a message for a slot with an owner, or awaiting one: forwarded now (stamped
 * `receivedAt`), held until NATS is back or the slot has an owner again (TCP), dropped because
 * NATS is down or the slot is orphaned (UDP: the peer retransmits), or neither because the hold is full.
 */
export type Admission =
  | { action: 'forward'; workerId: string; receivedAt: number }
  | { action: 'orphaned' }
  | { action: 'held' }
  | { action: 'nats-down' }
  | { action: 'held-full' };

/**
 * The transport's own view of its NATS connection. Losing NATS is not losing the workers:
 * while cut off the worker directory stays as it was, and messages for a worker are held
 * (TCP) or dropped for the peer to retransmit (UDP, RFC 3261 §17.1.1.2, §17.1.2.2) instead
 * of being answered as if their dialog were gone.
 */
export class NatsLink {
  private connected = true;
  private reconnectedAt = -Infinity;
  private disconnects = 0;
  private released = 0;
  private overflow = 0;
  private discarded = 0;
  private readonly held: HeldMessages;
  private readonly receipts: FirstReceipts;

  constructor(
    private readonly directory: WorkerDirectory,
    private readonly slots: SlotRouting,
    private readonly log: Logger,
    bounds: OutageBounds,
    private readonly now: () => number = Date.now,
  ) {
    this.held = new HeldMessages(bounds.heldPerConnection, bounds.heldTotal);
    this.receipts = new FirstReceipts(bounds.firstReceipts);
  }

  get up(): boolean {
    return this.connected;
  }

  /** Follows the connection's status until it closes; `onBack` runs after each reconnection. */
  watch(nc: Pick<NatsConnection, 'status'>, onBack: () => void): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.lost(s.server);
        else if (s.type === 'reconnect') {
          this.back(s.server);
          onBack();
        }
      }
    })().catch((err: unknown) => this.log.error({ err }, 'NATS status watch failed'));
  }

  lost(server: string): void {
    if (!this.connected) return;
    this.connected = false;
    this.disconnects++;
    this.directory.suspendExpiry();
    this.log.warn({ event: 'nats-disconnected', server }, 'NATS lost: workers kept, in-dialog messages held or left to retransmission');
  }

  back(server: string): void {
    if (this.connected) return;
    this.connected = true;
    this.reconnectedAt = this.now();
    this.directory.resumeExpiry();
    this.log.warn({ event: 'nats-reconnected', server, held: this.held.size }, 'NATS back: held messages go to their workers as they heartbeat');
  }

  /** What to do with `sip` for `slot`, an in-dialog request, ACK or response for a slot that has, or awaits, an owner. */
  admit(slot: number, sip: Uint8Array, route: RoutingFields, transport: TransportInfo): Admission {
    const now = this.now();
    const workerId = this.slots.ownerOf(slot);
    const connectionId = transport.connectionId;
    // a response has its own retransmissions (§17.1.1.2 over UDP; over TCP the 2xx's, §13.3.1.4)
    if (workerId === undefined && (connectionId === undefined || route.kind === 'response')) return { action: 'orphaned' };
    if (connectionId === undefined) {
      if (workerId === undefined) return { action: 'orphaned' };
      // dropped now, or forwarded to a worker that may not hear it yet: a retransmission keeps this time
      if (route.kind === 'request' && route.method !== 'ACK' && !this.canReach(workerId)) this.receipts.remember(receiptKey(route), now);
      return this.connected ? { action: 'forward', workerId, receivedAt: this.firstReceivedAt(route, now) } : { action: 'nats-down' };
    }
    // what arrives behind held messages waits its turn: a connection's order is the dialog's order
    if (workerId !== undefined && !this.held.holds(connectionId) && this.canReach(workerId)) return { action: 'forward', workerId, receivedAt: now };
    if (this.held.hold(connectionId, { slot, sip, route, transport, receivedAt: now })) return { action: 'held' };
    this.overflow++;
    return { action: 'held-full' };
  }

  /**
   * Hands every held message whose slot's owner can take it again to `release` (with that
   * owner), each connection in order; one whose slot stopped waiting for an owner goes with none.
   */
  releaseHeld(release: (m: HeldMessage, workerId: string | undefined) => void): void {
    if (this.held.size === 0) return;
    for (const id of this.held.connections()) {
      this.held.release(id, (m) => {
        const workerId = this.slots.ownerOf(m.slot);
        if (workerId === undefined ? !this.connected || !this.slots.abandoned(m.slot) : !this.canReach(workerId)) return false;
        release(m, workerId);
        this.released++;
        return true;
      });
    }
  }

  /** A closed connection's held messages have no one to answer: dropped. Returns how many. */
  discard(connectionId: string): number {
    const n = this.held.discard(connectionId);
    this.discarded += n;
    return n;
  }

  snapshot(): Record<string, unknown> {
    return {
      connected: this.connected, disconnects: this.disconnects,
      held: this.held.size, released: this.released, heldFull: this.overflow, heldDiscarded: this.discarded,
      firstReceipts: this.receipts.size,
    };
  }

  /**
   * NATS is up and the worker can hear: it has heartbeated since the reconnection (its own
   * client may still be reconnecting, and core NATS drops what no one subscribes to), or the
   * grace for that is over and the directory has decided about it.
   */
  private canReach(workerId: string): boolean {
    return this.connected && (!this.directory.inGrace || this.directory.heardSince(workerId, this.reconnectedAt));
  }

  private firstReceivedAt(route: RoutingFields, now: number): number {
    if (this.receipts.size === 0 || route.kind !== 'request') return now;
    return this.receipts.firstReceivedAt(receiptKey(route), now) ?? now;
  }
}
