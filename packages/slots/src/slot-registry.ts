// Who owns which slot, in the `sb-slots` bucket (docs/architecture.md "Worker takeover"). Every
// write is a compare-and-set on the revision this worker last saw of the key, so two workers
// racing for a slot cannot both win, and every owner change raises the epoch, which fences the
// previous owner (its heartbeat's claims lose, its verify() finds the slot gone).
import { jetstream, JetStreamApiCodes, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/nats-core';
import { SLOT_COUNT, SlotTable, type SlotOwner } from '@switchboard/wire';
import type { Logger } from 'pino';
import { DEFAULT_SLOTS_BUCKET, kvStreamName, openSlotsBucket, slotKey, slotOfKey } from './slots-bucket.js';
import { decodeSlotOwner, encodeSlotOwner } from './slot-value.js';

export interface SlotRegistryOptions {
  bucket?: string;
  /** Copies of the bucket in a JetStream cluster (1..5); used only when the bucket is created. */
  replicas: number;
  workerId: string;
  log: Logger;
  /** Which free slots to try (tests pin it). */
  random?: () => number;
}

/**
 * A slot became this worker's. `fresh`: claimed free, so it holds no calls to adopt; otherwise a
 * takeover it won or a handover to it, whose calls must be adopted before the slot is announced.
 */
export interface SlotGain {
  slot: number;
  epoch: number;
  fresh: boolean;
}

const isWrongRevision = (err: unknown): boolean =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/** How long open() waits for the watch to deliver the bucket as it is. */
const INITIAL_LOAD_MS = 5_000;
/** A watch that ended (bucket lost, server gone) is restarted after this. */
const REWATCH_MS = 500;
/**
 * How often the bucket's stream is looked at: a watch (an ordered consumer) outlives its
 * stream's deletion by resetting itself forever instead of ending, so the loss is found here.
 */
const BUCKET_CHECK_MS = 2_000;

export class SlotRegistry {
  /** The bucket as this worker's watch last delivered it (and its own writes, at once). */
  readonly table = new SlotTable();
  private readonly revisions = new Float64Array(SLOT_COUNT);
  /** The slots this worker owns, and at which epoch. */
  private readonly mine = new Map<number, number>();
  private readonly gainedListeners: ((gain: SlotGain) => void)[] = [];
  private readonly lostListeners: ((slot: number, owner: SlotOwner | undefined) => void)[] = [];
  /** Free slots this worker is claiming: the watch may report the write before the write returns. */
  private readonly claiming = new Set<number>();
  private watcher: QueuedIterator<KvWatchEntry> | undefined;
  private closed = false;
  private checker: NodeJS.Timeout | undefined;
  /** The heal in progress: a verification waits for it, or it would read a bucket being made again. */
  private healing: Promise<void> | undefined;
  private readonly bucket: string;
  private readonly random: () => number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private kv: KV,
    private readonly o: SlotRegistryOptions,
  ) {
    this.bucket = o.bucket ?? DEFAULT_SLOTS_BUCKET;
    this.random = o.random ?? Math.random;
  }

  /** Binds the bucket (creating it when missing) and resolves once the watch delivered what it holds. */
  static async open(nc: NatsConnection, o: SlotRegistryOptions): Promise<SlotRegistry> {
    const js = jetstream(nc);
    const { kv } = await openSlotsBucket(js, o.bucket ?? DEFAULT_SLOTS_BUCKET, o.replicas);
    const registry = new SlotRegistry(nc, js, kv, o);
    await registry.watch();
    void registry.followConnection();
    registry.checker = setInterval(() => void registry.checkBucket(), BUCKET_CHECK_MS);
    registry.checker.unref();
    return registry;
  }

  get workerId(): string {
    return this.o.workerId;
  }

  /** `listener` hears of each slot that becomes this worker's (once per epoch). */
  onGained(listener: (gain: SlotGain) => void): void {
    this.gainedListeners.push(listener);
  }

  /** `listener` hears of each slot this worker owned that the bucket now gives to another, or to nobody. */
  onLost(listener: (slot: number, owner: SlotOwner | undefined) => void): void {
    this.lostListeners.push(listener);
  }

  /** This worker's slots with their epochs, as its heartbeat lists them. */
  owned(): [slot: number, epoch: number][] {
    return [...this.mine];
  }

  ownsSlot(slot: number): boolean {
    return this.mine.has(slot);
  }

  /**
   * Claims up to `n` free slots (never owned, or released), random ones so that workers starting
   * together rarely race for the same key; a race lost is just another slot tried. Returns those won.
   */
  async claimFree(n: number): Promise<number[]> {
    const won: number[] = [];
    const candidates: number[] = [];
    for (let slot = 0; slot < SLOT_COUNT; slot++) if (this.table.ownerOf(slot) === undefined && this.table.orphanedSince(slot) === undefined) candidates.push(slot);
    while (won.length < n && candidates.length > 0) {
      const i = Math.floor(this.random() * candidates.length);
      const slot = candidates[i] as number;
      candidates[i] = candidates[candidates.length - 1] as number;
      candidates.pop();
      if (this.table.ownerOf(slot) !== undefined) continue; // taken meanwhile (the watch)
      if (await this.write(slot, this.o.workerId, true)) won.push(slot);
    }
    return won;
  }

  /** Takes `slot` from its (dead) owner; whether this worker won it. */
  takeOver(slot: number): Promise<boolean> {
    return this.write(slot, this.o.workerId, false);
  }

  /** Gives one of this worker's slots to `toWorker` (a planned handover); whether it was still this worker's to give. */
  async handOver(slot: number, toWorker: string): Promise<boolean> {
    if (!this.mine.has(slot)) return false;
    return this.write(slot, toWorker, false);
  }

  /** Gives a slot back (it holds no call): free for any worker's claim. */
  async release(slot: number): Promise<boolean> {
    if (!this.mine.has(slot)) return false;
    return this.write(slot, '', false);
  }

  /**
   * Reads this worker's slots from the bucket itself (not the watch, which may lag or have
   * stalled with the connection): the slots it still owns at the epoch it believes. Those it
   * lost are forgotten (onLost). Rejects when the bucket cannot be read: the caller stays fenced.
   */
  async verify(): Promise<Map<number, number>> {
    // After a reconnect the bucket may be gone (nats-server back on an empty store): bound to the
    // old one, every read below would wait out its timeout, keeping the worker fenced for seconds.
    // Binding it again first (the heal the reconnect started, or one of our own) avoids that.
    await this.heal();
    const still = new Map<number, number>();
    // every slot at once: a worker is fenced (sends no SIP) until this resolves, and right after
    // nats-server restarts each read can take a while
    await Promise.all([...this.mine].map(async ([slot, epoch]) => {
      let entry = await this.kv.get(slotKey(slot));
      if (entry === null) {
        // the key is gone (nats-server back on an empty store): no one took the slot, so it is
        // written again as ours at our epoch; a worker that wrote it first meanwhile wins
        const mineAgain: SlotOwner = { worker: this.o.workerId, epoch };
        try {
          await this.kv.create(slotKey(slot), encodeSlotOwner(mineAgain));
        } catch (err) {
          if (!isWrongRevision(err)) throw err;
        }
        entry = await this.kv.get(slotKey(slot));
      }
      const owner = entry === null || entry.operation !== 'PUT' ? undefined : decodeSlotOwner(entry.value);
      if (owner !== undefined && entry !== null) this.observe(slot, owner, entry.revision);
      if (owner?.worker === this.o.workerId && owner.epoch === epoch) still.set(slot, epoch);
      else if (this.mine.get(slot) === epoch) this.lose(slot, owner);
    }));
    return still;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.checker);
    this.watcher?.stop();
  }

  /** One compare-and-set of `slot` to `worker` at the next epoch. */
  private async write(slot: number, worker: string, fresh: boolean): Promise<boolean> {
    const revision = this.revisions[slot] ?? 0;
    const owner: SlotOwner = { worker, epoch: this.table.epochOf(slot) + 1 };
    let written: number;
    if (fresh) this.claiming.add(slot);
    try {
      written = revision === 0 ? await this.kv.create(slotKey(slot), encodeSlotOwner(owner)) : await this.kv.update(slotKey(slot), encodeSlotOwner(owner), revision);
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      // someone else wrote first: our view is stale, read the key so the next try is on its revision
      const entry = await this.kv.get(slotKey(slot));
      const now = entry === null || entry.operation !== 'PUT' ? undefined : decodeSlotOwner(entry.value);
      if (entry !== null && now !== undefined) this.observe(slot, now, entry.revision);
      return false;
    } finally {
      this.claiming.delete(slot);
    }
    this.observe(slot, owner, written, fresh);
    return true;
  }

  /** What the bucket holds for `slot` at `revision`, from the watch, a read or a write of ours. */
  private observe(slot: number, owner: SlotOwner, revision: number, fresh = false): void {
    if (revision < (this.revisions[slot] ?? 0)) return;
    this.revisions[slot] = revision;
    this.table.apply(slot, owner);
    const held = this.mine.get(slot);
    if (owner.worker === this.o.workerId) {
      if (held === owner.epoch) return;
      this.mine.set(slot, owner.epoch);
      for (const l of this.gainedListeners) l({ slot, epoch: owner.epoch, fresh: fresh || this.claiming.has(slot) });
    } else if (held !== undefined) this.lose(slot, owner);
  }

  private lose(slot: number, owner: SlotOwner | undefined): void {
    this.mine.delete(slot);
    for (const l of this.lostListeners) l(slot, owner);
  }

  /** Starts the watch; resolves once it delivered the bucket up to where it stood (or after INITIAL_LOAD_MS). */
  private async watch(): Promise<void> {
    const info = await (await this.js.jetstreamManager()).streams.info(kvStreamName(this.bucket));
    const upTo = info.state.messages === 0 ? 0 : info.state.last_seq;
    const watcher = await this.kv.watch({ key: 'slot.>' });
    this.watcher = watcher;
    let loaded: () => void = () => {};
    const initial = new Promise<void>((resolve) => (loaded = resolve));
    if (upTo === 0) loaded();
    const timer = setTimeout(() => loaded(), INITIAL_LOAD_MS);
    void (async () => {
      for await (const e of watcher) {
        const slot = slotOfKey(e.key);
        if (slot !== undefined) {
          if (e.operation === 'PUT') {
            const owner = decodeSlotOwner(e.value);
            if (owner === undefined) this.o.log.warn({ event: 'slot-unreadable', key: e.key }, 'unreadable slot owner ignored');
            else this.observe(slot, owner, e.revision);
          } else this.forget(slot, e.revision);
        }
        if (e.revision >= upTo) loaded();
      }
    })()
      .catch((err: unknown) => this.o.log.warn({ event: 'slots-watch-failed', err: (err as Error).message }, 'slot watch failed'))
      .finally(() => {
        clearTimeout(timer);
        loaded();
        if (!this.closed && this.watcher === watcher) this.rewatchLater();
      });
    await initial;
    clearTimeout(timer);
  }

  /** A deleted key (an operator's): nobody owns the slot; if it was ours, it is lost. */
  private forget(slot: number, revision: number): void {
    this.revisions[slot] = revision;
    this.table.clear(slot);
    if (this.mine.has(slot)) this.lose(slot, undefined);
  }

  private rewatchLater(): void {
    setTimeout(() => void this.heal(), REWATCH_MS).unref();
  }

  /**
   * The watch ended or NATS came back: bind the bucket again (recreating it if an outage lost
   * it: each owner then writes its own slots back, at the epochs it holds them) and watch anew.
   */
  private heal(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.healing ??= this.rebind().finally(() => (this.healing = undefined));
    return this.healing;
  }

  private async rebind(): Promise<void> {
    try {
      const { kv, created } = await openSlotsBucket(this.js, this.bucket, this.o.replicas);
      this.kv = kv;
      if (created) {
        this.o.log.warn({ event: 'slots-bucket-recreated', bucket: this.bucket, slots: this.mine.size }, 'slot bucket was missing: recreated it, writing this worker\'s slots back');
        for (let slot = 0; slot < SLOT_COUNT; slot++) if (!this.mine.has(slot)) this.table.clear(slot);
        this.revisions.fill(0);
        for (const [slot, epoch] of [...this.mine]) {
          try {
            this.revisions[slot] = await kv.create(slotKey(slot), encodeSlotOwner({ worker: this.o.workerId, epoch }));
          } catch (err) {
            if (!isWrongRevision(err)) throw err;
          }
        }
      }
      const old = this.watcher;
      this.watcher = undefined;
      old?.stop();
      await this.watch();
    } catch (err) {
      this.o.log.warn({ event: 'slots-heal-failed', err: (err as Error).message }, 'slot bucket not reachable: retrying');
      this.rewatchLater();
    }
  }

  private async checkBucket(): Promise<void> {
    try {
      await (await this.js.jetstreamManager()).streams.info(kvStreamName(this.bucket));
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) await this.heal();
    }
  }

  private async followConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.closed) return;
      if (status.type === 'reconnect') void this.heal();
    }
  }
}
