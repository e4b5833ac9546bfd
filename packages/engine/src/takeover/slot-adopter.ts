// The calls of the slots a worker owns, as ownership moves (docs/architecture.md "Worker
// takeover"): it snapshots this worker's confirmed calls (through its SnapshotWriter), rebuilds a
// slot's calls from their snapshots when the slot becomes this worker's, writes them all before a
// handover, and drops them without a word when the slot went elsewhere.
import type { Logger } from 'pino';
import { CallActor } from '../call/call-actor.js';
import type { EngineContext, LiveCall } from '../context.js';
import { LegActor } from '../dialog/leg-actor.js';
import { EARLY_SNAPSHOT_VERSION } from './call-snapshot.js';
import type { CallAdopter, SlotAdoption } from './call-adopter.js';
import { CSEQ_RESERVATION, reservedAgain, slotOfScope, type CallSnapshot, type LegSnapshot } from './call-snapshot.js';
import type { CallSnapshotting } from './call-snapshotting.js';
import { RevisionConflict, type DialogStore } from './dialog-store.js';
import { failRunningTransfer } from './running-transfer.js';
import { decodeSnapshot, encodeSnapshot, SnapshotError } from './snapshot-codec.js';
import { SnapshotWriter, type SnapshotSource } from './snapshot-writer.js';
import type { SnapshotRequests } from '../dialog/transaction-driver.js';

export interface SlotAdopterOptions {
  readonly store: DialogStore;
  readonly maxInFlight: number;
  readonly maxPending: number;
  /** How long a call rings (after its first relayed 18x) before its early record is written; 0: only at a handover. */
  readonly earlyAfterMs?: number;
  /** A snapshot write was fenced: the worker may be a zombie (see docs "Fencing"). */
  readonly onFenced?: (slot: number, callId: string) => void;
}

export class SlotAdopter implements CallAdopter, CallSnapshotting {
  readonly writer: SnapshotWriter;
  /** The calls being snapshotted (confirmed here, ringing past earlyAfterMs or handed over ringing, or adopted), with their slot. */
  private readonly calls = new Map<string, SnapshottedCall>();
  private readonly log: Logger;

  constructor(
    private readonly ctx: EngineContext,
    private readonly o: SlotAdopterOptions,
  ) {
    this.log = ctx.log.child({ component: 'takeover' });
    this.writer = new SnapshotWriter({
      store: o.store, maxInFlight: o.maxInFlight, maxPending: o.maxPending, counters: ctx.counters, log: this.log,
      records: (callId) => new Promise((reply) => ctx.cdr.tell({ ledgerOf: callId, reply })),
      onFenced: (slot, callId) => o.onFenced?.(slot, callId),
    });
  }

  // ---- this worker's calls ----------------------------------------------------------------------

  confirmed(live: LiveCall): void {
    // every live call is a CallActor; anything else (a test's stand-in) has nothing to snapshot
    if (!(live instanceof CallActor)) return;
    const call = live;
    const a = call.legActors.get('a');
    if (a === undefined) return;
    // a ringing call tracked for its early record: its confirmed snapshot replaces it, at once
    if (this.calls.has(call.callId)) return this.writer.expedite(call.callId);
    const slot = slotOfScope(a.scope);
    this.writer.track(this.snapshotted(new SnapshottedCall(this, call, slot)));
  }

  ringing(live: LiveCall): void {
    const earlyAfterMs = this.o.earlyAfterMs ?? 0;
    if (earlyAfterMs > 0 && live instanceof CallActor) this.trackEarly(live, Date.now() + earlyAfterMs);
  }

  /** A call still being set up, tracked for its early record (written at `notBefore`, or now: a handover). */
  private trackEarly(call: CallActor, notBefore?: number): void {
    if (this.calls.has(call.callId)) return; // every later 18x of the call asks again: one lookup
    const a = call.legActors.get('a');
    if (a === undefined) return;
    const slot = slotOfScope(a.scope);
    this.writer.track(this.snapshotted(new SnapshottedCall(this, call, slot)), undefined, notBefore);
  }

  changed(callId: string): void {
    this.writer.request(callId);
  }

  ended(callId: string): void {
    if (!this.calls.delete(callId)) return;
    this.writer.end(callId);
  }

  /** The call is snapshotted from now on: its entry here is the writer's source too. */
  private snapshotted(entry: SnapshottedCall): SnapshottedCall {
    this.calls.set(entry.callId, entry);
    return entry;
  }

  /** The call as a snapshot holds it, now: its early record while it is set up; undefined once it ends (nothing worth carrying on). */
  captureOf(entry: SnapshottedCall): Omit<CallSnapshot, 'records'> | undefined {
    return earlyOrNot(entry.call, this.captureCall(entry));
  }

  private captureCall(entry: SnapshottedCall): Omit<CallSnapshot, 'records'> | undefined {
    const { call, slot } = entry;
    const early = EARLY_STATES.has(call.state);
    if (!early && (call.state !== 'confirmed' || call.answeredAt === undefined)) return undefined;
    const legs: LegSnapshot[] = [];
    for (const leg of call.legActors.values()) {
      // a leg placed since (a transfer's) asks for snapshots too, and reserves its CSeqs here
      leg.snapshots ??= entry;
      const snapshot = leg.snapshot();
      // a confirmed call carries on its dialogs only (a transfer's leg still ringing is not carried)
      if (snapshot !== undefined && (early || snapshot.invite === undefined)) legs.push(snapshot);
    }
    if (early && !legs.some((l) => l.invite !== undefined)) return undefined;
    const sipCallId = call.logContext.callId;
    // (asked only when a record says one runs: `transfers` makes the call's transfer state)
    const transfer = call.transferRecords.some((t) => t.outcome === 'in-progress') ? call.transfers.running : undefined;
    return {
      v: 1, callId: call.callId, slot, worker: this.ctx.workerId, sipCallId: typeof sipCallId === 'string' ? sipCallId : '',
      ...(call.trunk === undefined ? {} : { trunk: call.trunk }),
      ...(call.direction === undefined ? {} : { direction: call.direction }),
      ...(call.customerLeg === undefined ? {} : { customerLeg: call.customerLeg }),
      parties: {
        ...(call.parties.customer === undefined ? {} : { customer: call.parties.customer }),
        ...(call.parties.remote === undefined ? {} : { remote: call.parties.remote }),
        remoteAnonymous: call.parties.remoteAnonymous,
      },
      pair: [...call.pair], startedAt: call.startedAt, answeredAt: call.answeredAt,
      holds: call.heldLimits.map((h) => ({ key: h.key, id: h.id })), ingress: { ...call.ingress },
      legs, sessions: call.sessions.toJSON(), transfers: call.transferRecords.map((t) => ({ ...t })),
      ...(transfer === undefined ? {} : { transfer }),
    };
  }

  // ---- ownership moves (CallAdopter) --------------------------------------------------------------

  async adoptSlot(slot: number): Promise<SlotAdoption> {
    let calls = 0;
    let unreadable = 0;
    for (const key of await this.o.store.keys(String(slot))) {
      const stored = await this.o.store.get(key);
      if (stored === undefined) continue;
      let snapshot: CallSnapshot;
      try {
        snapshot = decodeSnapshot(stored.value);
      } catch (err) {
        if (!(err instanceof SnapshotError)) throw err;
        unreadable++;
        this.ctx.counters.add('snapshots.unreadable');
        this.log.error({ event: 'snapshot-unreadable', key, slot, code: err.code, reason: err.message }, `snapshot ${key} refused (${err.message}): its call cannot be carried on`);
        continue;
      }
      if (this.calls.has(snapshot.callId)) continue;
      let revision: number;
      try {
        // the rewrite fences the worker that wrote it: its next write fails the compare-and-set; and
        // it reserves our own block of CSeqs before we send anything (see reservedAgain)
        revision = await this.o.store.put(key, encodeSnapshot(reservedAgain(snapshot)), stored.revision);
      } catch (err) {
        if (!(err instanceof RevisionConflict)) throw err;
        this.log.warn({ event: 'snapshot-raced', key, slot }, 'snapshot changed while adopting it: left to its writer');
        continue;
      }
      this.restore(snapshot, revision);
      calls++;
    }
    if (calls > 0 || unreadable > 0) this.log.info({ event: 'slot-adopted', slot, calls, unreadable }, 'slot adopted');
    return { calls, unreadable };
  }

  flushSlot(slot: number, timeoutMs: number): Promise<void> {
    // a handover carries ringing calls too, as early records: their adopter ends them cleanly
    if (this.ctx.snapshots === this) {
      for (const live of this.ctx.calls.values()) {
        if (live instanceof CallActor && live.routingSlot === slot && EARLY_STATES.has(live.state)) this.trackEarly(live);
      }
    }
    return this.writer.flush(slot, timeoutMs);
  }

  dropSlot(slot: number): number {
    let dropped = 0;
    for (const [callId, { call, slot: of }] of [...this.calls]) {
      if (of !== slot) continue;
      this.calls.delete(callId);
      this.writer.forget(callId);
      this.ctx.cdr.tell({ forget: callId });
      // stopping the actors sends nothing: their transactions and timers are dropped, the call's holds released
      for (const leg of call.legActors.values()) this.ctx.kernel.stop(leg.actorId);
      this.ctx.kernel.stop(call.actorId);
      dropped++;
    }
    if (dropped > 0) this.log.info({ event: 'slot-dropped', slot, calls: dropped }, 'slot no longer ours: its calls dropped without a word');
    return dropped;
  }

  /**
   * The call of `s`, confirmed, on this worker: its record ledger first (so the call's next event
   * finds it), then the call and its legs, their timers, its limit holds.
   */
  private restore(s: CallSnapshot, revision: number): CallActor {
    const ctx = this.ctx;
    ctx.cdr.tell({ adopt: s.callId, events: s.records, takenOver: { at: Date.now(), from: s.worker } });
    const call = new CallActor(ctx, s.callId, s.slot, s.startedAt);
    call.logContext.callId = s.sipCallId;
    call.ingress = s.ingress;
    call.answeredAt = s.answeredAt;
    call.trunkConfig = s.trunk === undefined ? undefined : call.policy.trunk(s.trunk);
    call.direction = s.direction;
    call.customerLeg = s.customerLeg;
    call.parties = { customer: s.parties.customer, remote: s.parties.remote, remoteAnonymous: s.parties.remoteAnonymous };
    call.pair = [s.pair[0], s.pair[1]];
    call.sessions.restore(s.sessions);
    if (s.transfers.length > 0) call.transfers.records.push(...s.transfers.map((t) => ({ ...t })));
    for (const hold of s.holds) call.hold(ctx.limiter.adopt(hold));
    call.self = ctx.kernel.spawn(call.actorId, call);
    ctx.calls.set(call.callId, call);
    const entry = new SnapshottedCall(this, call, s.slot);
    for (const l of s.legs) {
      const leg = LegActor.restore(ctx, l, call.self);
      leg.reservationLanded(l.cseqReservation + CSEQ_RESERVATION);
      leg.snapshots = entry;
      call.adopt(leg);
      const view = call.legViews.get(l.name);
      if (view !== undefined && s.answeredAt !== undefined) view.dialog = 'confirmed';
    }
    if (s.answeredAt === undefined) return this.endRinging(entry, s, revision);
    call.state = 'confirmed';
    failRunningTransfer(call, s);
    call.armMaxDuration();
    ctx.counters.add('calls.adopted');
    this.writer.track(this.snapshotted(entry), revision);
    return call;
  }

  /**
   * An early record's call, rebuilt ringing (its INVITE transactions resumed), is ended at once:
   * 500 to the caller, CANCEL to the carrier, one record; its key is deleted when it is over.
   */
  private endRinging(entry: SnapshottedCall, s: CallSnapshot, revision: number): CallActor {
    const call = entry.call;
    call.state = 'early';
    this.ctx.counters.add('calls.adopted-early');
    this.writer.track(this.snapshotted(entry), revision);
    call.self.tell({ type: 'taken-over-ringing' });
    return call;
  }
}

/** A call not answered yet: what an early record holds. */
const EARLY_STATES: ReadonlySet<string> = new Set(['admitting', 'routing', 'early']);

/**
 * The early record of a call still being set up: its own version, no answer time, and no SDP (an
 * adopter only ends the call, and the caller's offer would double the record).
 */
function earlyOrNot(call: CallActor, captured: Omit<CallSnapshot, 'records'> | undefined): Omit<CallSnapshot, 'records'> | undefined {
  if (captured === undefined || !EARLY_STATES.has(call.state)) return captured;
  const { answeredAt: _unanswered, ...early } = captured;
  return { ...early, v: EARLY_SNAPSHOT_VERSION, sessions: [] };
}

/**
 * A call being snapshotted and its slot: the adopter's table entry and the writer's source in
 * one object, its methods on the prototype (an object and two closures a held call were ~200 bytes).
 */
class SnapshottedCall implements SnapshotSource, SnapshotRequests {
  constructor(
    private readonly adopter: SlotAdopter,
    readonly call: CallActor,
    readonly slot: number,
  ) {}

  get callId(): string {
    return this.call.callId;
  }

  capture(): Omit<CallSnapshot, 'records'> | undefined {
    return this.adopter.captureOf(this);
  }

  /** A leg of the call changed what its snapshot holds. */
  due(): void {
    this.adopter.changed(this.call.callId);
  }

  landed(s: Omit<CallSnapshot, 'records'>): void {
    for (const l of s.legs) {
      const leg = this.call.legActors.get(l.name);
      if (leg?.scope === l.scope) leg.reservationLanded(l.cseqReservation);
    }
  }
}
