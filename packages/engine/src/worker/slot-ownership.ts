// Which slots this worker owns, and what that means for its traffic (docs/architecture.md
// "Worker takeover"): claims at start, takeover of a dead worker's slots, adoption before a
// slot is announced, handover on drain, and the gate in front of the router that holds a
// slot's messages while it is adopted or handed over and passes them on once it is another's.
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { SlotGain, SlotRegistry } from '@switchboard/slots';
import {
  encodeEnvelope, HEARTBEAT_INTERVAL_MS, RendezvousSet, scopeOf, slotOfScope, SlotTable, Subjects, TRACEPARENT_HEADER, WorkerDirectory,
  type Heartbeat, type InboundSip, type SlotOwner,
} from '@switchboard/wire';
import type { Logger } from 'pino';
import type { WorkerSlots } from '../context.js';
import type { CallAdopter } from '../takeover/call-adopter.js';

/** After a worker is dropped, how long the rendezvous winner of each of its slots has before anyone takes it. */
export const TAKEOVER_FALLBACK_MS = 2_000;
/** Inbound messages held for slots being adopted or handed over, across all of them. */
const HELD_MAX = 10_000;

type SlotState = 'adopting' | 'ready' | 'handing-over';

interface Held {
  env: InboundSip;
  traceparent: string | undefined;
}

export interface SlotOwnershipOptions {
  workerId: string;
  registry: SlotRegistry;
  adopter: CallAdopter;
  nc: NatsConnection;
  log: Logger;
  /** Where messages the gate lets through go (the router). */
  deliver: (env: InboundSip, traceparent: string | undefined) => void;
  /** The heartbeat, sent at once (a slot became ready). */
  announce: () => void;
  random?: () => number;
}

/** The slot named by a message's own routing fields: our tag (in-dialog requests) or our branch (responses). */
export function slotOfRoute(env: InboundSip): number | undefined {
  const id = env.route.kind === 'response' ? env.route.branch : env.route.toTag;
  if (id === '') return undefined;
  const scope = scopeOf(id);
  return scope === undefined ? undefined : slotOfScope(scope);
}

export class SlotOwnership implements WorkerSlots {
  /** Every worker's heartbeats (takeover follows its drops). */
  readonly directory = new WorkerDirectory();
  /** What the other workers announce in their heartbeats (a handover waits for it). */
  readonly announced = new SlotTable();
  private readonly states = new Map<number, SlotState>();
  private ready: number[] = [];
  private readonly held = new Map<number, Held[]>();
  private heldCount = 0;
  private readonly random: () => number;
  /** Counted for stats. */
  readonly counts = { takenOver: 0, adopted: 0, adoptFailed: 0, lost: 0, forwarded: 0, heldDropped: 0, handedOver: 0 };

  constructor(private readonly o: SlotOwnershipOptions) {
    this.random = o.random ?? Math.random;
    o.registry.onGained((g) => this.gained(g));
    o.registry.onLost((slot, owner) => this.lost(slot, owner));
  }

  pickSlot(): number | undefined {
    const n = this.ready.length;
    return n === 0 ? undefined : this.ready[Math.floor(this.random() * n)];
  }

  ownerOf(slot: number): string | undefined {
    return this.o.registry.table.ownerOf(slot);
  }

  /** The slots the heartbeat lists: owned and adopted (being handed over included: still ours until written). */
  heartbeatSlots(): [slot: number, epoch: number][] {
    const out: [number, number][] = [];
    for (const [slot, epoch] of this.o.registry.owned()) if (this.states.get(slot) !== 'adopting') out.push([slot, epoch]);
    return out;
  }

  get readyCount(): number {
    return this.ready.length;
  }

  /** Claims `count` free slots (fresh: nothing to adopt, ready at once). */
  async claim(count: number): Promise<number> {
    const won = await this.o.registry.claimFree(count);
    return won.length;
  }

  onHeartbeat(hb: Heartbeat): void {
    if (hb.workerId === this.o.workerId) return;
    this.directory.onHeartbeat(hb);
    this.announced.fromHeartbeat(hb.workerId, hb.slots);
  }

  /** Drops workers gone silent and races for their slots: the rendezvous winner of each at once, anyone after TAKEOVER_FALLBACK_MS. */
  expire(): void {
    for (const dead of this.directory.expire()) {
      this.announced.dropWorker(dead);
      const slots = this.o.registry.table.slotsOf(dead);
      this.o.log.warn({ event: 'worker-lost', worker: dead, slots: slots.length }, 'worker missed its heartbeats: taking its slots over');
      const survivors = new RendezvousSet([this.o.workerId, ...this.directory.list().filter((w) => w.state === 'active').map((w) => w.workerId)]);
      for (const slot of slots) {
        if (survivors.pick(String(slot)) === this.o.workerId) void this.takeOver(slot, dead);
        else setTimeout(() => void this.takeOver(slot, dead), TAKEOVER_FALLBACK_MS).unref();
      }
    }
  }

  /**
   * The gate in front of the router: a message for a slot being adopted or handed over waits; one
   * for a slot another worker now owns goes to that worker, once; everything else goes through.
   */
  onInbound(env: InboundSip, traceparent: string | undefined): void {
    const slot = slotOfRoute(env);
    if (slot === undefined) return this.o.deliver(env, traceparent);
    const state = this.states.get(slot);
    if (state === 'ready') return this.o.deliver(env, traceparent);
    if (state !== undefined) return this.hold(slot, { env, traceparent });
    const owner = this.ownerOf(slot);
    if (owner === undefined || owner === this.o.workerId || env.forwarded === true) return this.o.deliver(env, traceparent);
    this.forward(owner, env, traceparent);
  }

  /** Drain by handover: each slot to the survivor that wins it; resolves with how many were handed over (others stay). */
  async handOverAll(flushTimeoutMs: number): Promise<number> {
    let handed = 0;
    const survivors = () => this.directory.list().filter((w) => w.state === 'active').map((w) => w.workerId);
    // a worker drained just after it started may not have heard the others yet: one heartbeat round
    const deadline = Date.now() + 2 * HEARTBEAT_INTERVAL_MS;
    while (survivors().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const [slot] of this.o.registry.owned()) {
      const to = new RendezvousSet(survivors()).pick(String(slot));
      if (to === undefined) break;
      this.setState(slot, 'handing-over');
      try {
        await this.o.adopter.flushSlot(slot, flushTimeoutMs);
        if (await this.o.registry.handOver(slot, to)) {
          handed++;
          this.counts.handedOver++;
          continue; // lost(): its calls dropped, its held messages passed on
        }
      } catch (err) {
        this.o.log.warn({ event: 'handover-failed', slot, to, err: (err as Error).message }, 'slot not handed over: kept');
      }
      this.setState(slot, 'ready');
      this.releaseHeld(slot);
    }
    return handed;
  }

  /** Whether every slot this worker handed over is announced by its new owner. */
  handedOverAnnounced(): boolean {
    for (const slot of this.handedTo.keys()) if (this.announced.ownerOf(slot) !== this.handedTo.get(slot)) return false;
    return true;
  }

  /** Gives back slots beyond `count` that hold no call (adopted ones, once their calls ended). */
  async releaseSpare(count: number, callsIn: (slot: number) => number): Promise<void> {
    let spare = this.ready.length - count;
    for (const slot of [...this.ready]) {
      if (spare <= 0) return;
      if (callsIn(slot) > 0) continue;
      this.setState(slot, 'handing-over');
      if (await this.o.registry.release(slot)) spare--;
      else this.setState(slot, 'ready');
    }
  }

  /** Fencing: the slots it still owns at its epochs, from the bucket itself; the calls of the others are dropped (lost()). */
  async verify(): Promise<Set<number>> {
    return new Set((await this.o.registry.verify()).keys());
  }

  private readonly handedTo = new Map<number, string>();

  private async takeOver(slot: number, dead: string): Promise<void> {
    if (this.ownerOf(slot) !== dead) return;
    try {
      if (await this.o.registry.takeOver(slot)) {
        this.counts.takenOver++;
        this.o.log.info({ event: 'slot-taken-over', slot, from: dead }, 'slot taken over');
      }
    } catch (err) {
      this.o.log.warn({ event: 'takeover-failed', slot, err: (err as Error).message }, 'slot takeover failed');
    }
  }

  private gained(g: SlotGain): void {
    if (g.fresh) {
      this.setState(g.slot, 'ready');
      return;
    }
    this.setState(g.slot, 'adopting');
    const epoch = g.epoch;
    this.o.adopter.adoptSlot(g.slot).then(
      (adoption) => {
        this.counts.adopted += adoption.calls;
        this.o.log.info({ event: 'slot-adopted', slot: g.slot, calls: adoption.calls, unreadable: adoption.unreadable }, 'slot adopted');
      },
      (err: unknown) => {
        this.counts.adoptFailed++;
        this.o.log.error({ event: 'slot-adopt-failed', slot: g.slot, err: (err as Error).message }, 'slot adoption failed: its calls are lost, the slot is served');
      },
    ).finally(() => {
      if (!this.o.registry.owned().some(([s, e]) => s === g.slot && e === epoch)) return; // lost meanwhile
      this.setState(g.slot, 'ready');
      this.o.announce();
      this.releaseHeld(g.slot);
    });
  }

  private lost(slot: number, owner: SlotOwner | undefined): void {
    const state = this.states.get(slot);
    this.states.delete(slot);
    this.ready = this.ready.filter((s) => s !== slot);
    const dropped = this.o.adopter.dropSlot(slot);
    if (state === 'handing-over' && owner !== undefined && owner.worker !== '') this.handedTo.set(slot, owner.worker);
    else this.counts.lost++;
    this.o.log.info({ event: 'slot-lost', slot, to: owner?.worker, calls: dropped, handover: state === 'handing-over' }, 'slot no longer this worker\'s');
    this.releaseHeld(slot);
  }

  private setState(slot: number, state: SlotState): void {
    this.states.set(slot, state);
    const i = this.ready.indexOf(slot);
    if (state === 'ready' && i === -1) this.ready.push(slot);
    else if (state !== 'ready' && i !== -1) this.ready.splice(i, 1);
  }

  private hold(slot: number, m: Held): void {
    if (this.heldCount >= HELD_MAX) {
      // the peer retransmits (UDP) or the dialog's next request finds the slot settled
      this.counts.heldDropped++;
      return;
    }
    let queue = this.held.get(slot);
    if (queue === undefined) this.held.set(slot, (queue = []));
    queue.push(m);
    this.heldCount++;
  }

  /** The slot settled (ready, or another's): what waited goes through the gate again, in order. */
  private releaseHeld(slot: number): void {
    const queue = this.held.get(slot);
    if (queue === undefined) return;
    this.held.delete(slot);
    this.heldCount -= queue.length;
    for (const m of queue) this.onInbound(m.env, m.traceparent);
  }

  private forward(owner: string, env: InboundSip, traceparent: string | undefined): void {
    const h = natsHeaders();
    if (traceparent !== undefined) h.set(TRACEPARENT_HEADER, traceparent);
    this.o.nc.publish(Subjects.workerInbound(owner), encodeEnvelope({ ...env, forwarded: true }), { headers: h });
    this.counts.forwarded++;
  }
}
