import { SLOT_COUNT } from './routing-ids.js';

/** A slot's owner and the epoch it took the slot at (higher epochs fence lower ones). */
export interface SlotOwner {
  worker: string;
  epoch: number;
}

/**
 * Who owns each slot, as a router or worker last heard it (docs/architecture.md "Worker
 * takeover"). Pure: fed by heartbeats (transports), by the `sb-slots` bucket's watch
 * (workers) and by the worker directory's drops. Routing reads `ownerOf`: one array lookup.
 * A slot whose owner was dropped, or that its owner stopped listing, is *orphaned* (since a
 * time) until someone claims it at the same or a higher epoch; one never owned is neither.
 */
export class SlotTable {
  private readonly owners: (string | undefined)[] = new Array<string | undefined>(SLOT_COUNT).fill(undefined);
  private readonly epochs = new Float64Array(SLOT_COUNT);
  private readonly orphaned = new Float64Array(SLOT_COUNT);

  constructor(private readonly now: () => number = Date.now) {}

  /** The worker that owns `slot`, or undefined (free, orphaned or never owned). */
  ownerOf(slot: number): string | undefined {
    return this.owners[slot];
  }

  /** The highest epoch heard for `slot` (0: never owned). */
  epochOf(slot: number): number {
    return this.epochs[slot] ?? 0;
  }

  /** Since when `slot` has had no owner after having one (epoch ms), or undefined when it is not orphaned. */
  orphanedSince(slot: number): number | undefined {
    const at = this.orphaned[slot] ?? 0;
    return at === 0 ? undefined : at;
  }

  /**
   * What the bucket says of `slot` (a worker's watch): it is the truth, unless an older
   * revision arrives after a newer one. `worker: ""` is a released slot: free, not orphaned.
   */
  apply(slot: number, owner: SlotOwner): void {
    if (owner.epoch < this.epochOf(slot)) return;
    this.epochs[slot] = owner.epoch;
    this.owners[slot] = owner.worker === '' ? undefined : owner.worker;
    this.orphaned[slot] = 0;
  }

  /** Forgets `slot` (its key deleted, or the bucket lost). */
  clear(slot: number): void {
    this.owners[slot] = undefined;
    this.epochs[slot] = 0;
    this.orphaned[slot] = 0;
  }

  /**
   * A worker's heartbeat lists its slots: for each, the highest epoch heard wins (a zombie's
   * stale claim loses to its successor's). Slots it owned here but no longer lists (handed
   * over, released, lost) are orphaned until their new owner's heartbeat arrives. Returns
   * whether any slot changed owner.
   */
  fromHeartbeat(worker: string, slots: readonly (readonly [number, number])[]): boolean {
    let changed = false;
    const listed = new Set<number>();
    for (const [slot, epoch] of slots) {
      if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) continue;
      listed.add(slot);
      const current = this.epochs[slot] ?? 0;
      const owner = this.owners[slot];
      if (owner === worker && epoch === current) continue;
      if (epoch > current || (epoch === current && owner === undefined)) {
        this.owners[slot] = worker;
        this.epochs[slot] = epoch;
        this.orphaned[slot] = 0;
        changed = true;
      }
    }
    for (const slot of this.slotsOf(worker)) {
      if (listed.has(slot)) continue;
      this.orphan(slot);
      changed = true;
    }
    return changed;
  }

  /** A worker missed its heartbeats: its slots are orphaned from now. Returns them. */
  dropWorker(worker: string): number[] {
    const slots = this.slotsOf(worker);
    for (const slot of slots) this.orphan(slot);
    return slots;
  }

  /** The slots `worker` owns, ascending. */
  slotsOf(worker: string): number[] {
    const out: number[] = [];
    for (let slot = 0; slot < SLOT_COUNT; slot++) if (this.owners[slot] === worker) out.push(slot);
    return out;
  }

  /** Slots orphaned and still unclaimed. */
  orphans(): number[] {
    const out: number[] = [];
    for (let slot = 0; slot < SLOT_COUNT; slot++) if (this.orphaned[slot] !== 0) out.push(slot);
    return out;
  }

  private orphan(slot: number): void {
    this.owners[slot] = undefined;
    this.orphaned[slot] = this.now() || 1; // 0 means "not orphaned"
  }
}
