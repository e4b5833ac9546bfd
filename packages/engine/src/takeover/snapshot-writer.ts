// Writes the snapshots of this worker's confirmed calls, off the path of any SIP message: a call
// only *asks* (a flag, set in its actor's turn); the capture, encoding and KV write happen on a
// later turn, coalesced per call (the latest state wins), a bounded number at a time. Each write
// is a compare-and-set on the call's last revision, so a worker whose slot was taken over while
// it was cut off (a zombie) fails its next write and learns it.
import type { CallEvent } from '@switchboard/cdr';
import type { Logger } from 'pino';
import type { Counters } from '../metrics/counters.js';
import { snapshotKey, type CallSnapshot } from './call-snapshot.js';
import { RevisionConflict, type DialogStore } from './dialog-store.js';
import { encodeSnapshot } from './snapshot-codec.js';

/** A confirmed call, as the writer sees it: it captures its state when its turn to be written comes. */
export interface SnapshotSource {
  readonly callId: string;
  readonly slot: number;
  /** The call as it stands now, without its record events; undefined once it is ending (nothing to write). */
  capture(): Omit<CallSnapshot, 'records'> | undefined;
  /** What `capture` returned is in the bucket now (its CSeq reservations hold from here on). */
  landed?(snapshot: Omit<CallSnapshot, 'records'>): void;
}

export interface SnapshotWriterOptions {
  readonly store: DialogStore;
  /** The call's record events so far, from the CDR actor (asked after the capture, so none noted before it is missing). */
  readonly records: (callId: string) => Promise<readonly CallEvent[]>;
  /** Writes at once, across calls. */
  readonly maxInFlight: number;
  /** Calls waiting for a write; a call asking beyond it is not written this time (`snapshots.dropped`). */
  readonly maxPending: number;
  readonly counters: Counters;
  readonly log: Logger;
  /** A write was refused by compare-and-set: another worker owns the call's slot now, or this one is a zombie. */
  readonly onFenced: (slot: number, callId: string) => void;
}

interface TrackedCall {
  readonly source: SnapshotSource;
  /** The revision of our last write (or of the adopter's rewrite); undefined: never written. */
  revision: number | undefined;
  inFlight: boolean;
  /** The call ended while a write was in flight: delete its key once that write lands. */
  ended: boolean;
  writes: number;
  /** Not written before this (Unix ms): a ringing call's early record waits (see `track`). */
  notBefore: number | undefined;
}

interface FlushWaiter {
  readonly slot: number;
  readonly resolve: () => void;
}

export class SnapshotWriter {
  private readonly calls = new Map<string, TrackedCall>();
  /** Calls asking to be written, in the order they asked (a Set keeps one entry per call: coalescing). */
  private readonly pending = new Set<string>();
  private inFlight = 0;
  private pumpScheduled = false;
  private waiters: FlushWaiter[] = [];
  /** Calls waiting for their `notBefore`, earliest first; one timer for all, armed for the first. */
  private deferred: TrackedCall[] = [];
  private deferTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: SnapshotWriterOptions) {}

  /** Calls whose snapshots this worker writes. */
  get tracked(): number {
    return this.calls.size;
  }

  /** Writes so far of a call still tracked (for the README's writes-per-call figure). */
  writesOf(callId: string): number {
    return this.calls.get(callId)?.writes ?? 0;
  }

  /**
   * A call is confirmed (or adopted at `revision`): from now on its requests are written. A
   * ringing call is tracked with `notBefore`: nothing is written before then (a call answered or
   * failed sooner costs no write at all), unless `expedite` or a handover's `flush` asks first.
   */
  track(source: SnapshotSource, revision?: number, notBefore?: number): void {
    if (this.calls.has(source.callId)) return;
    const call: TrackedCall = { source, revision, inFlight: false, ended: false, writes: 0, notBefore };
    this.calls.set(source.callId, call);
    if (notBefore !== undefined) this.defer(call);
    else if (revision === undefined) this.request(source.callId);
  }

  /** The call must be written now, whatever its `notBefore` (a ringing call was answered). */
  expedite(callId: string): void {
    const call = this.calls.get(callId);
    if (call === undefined) return;
    call.notBefore = undefined;
    this.request(callId);
  }

  /** Cheap, for any actor's turn: the call's state changed, write it when its turn comes. */
  request(callId: string): void {
    const call = this.calls.get(callId);
    if (call === undefined || call.ended || this.pending.has(callId)) return;
    if (call.notBefore !== undefined) return; // written when it is due, with whatever it holds then
    if (this.pending.size >= this.o.maxPending) {
      this.o.counters.add('snapshots.dropped');
      return;
    }
    this.pending.add(callId);
    this.schedule();
  }

  /** The call ended: its key is deleted (after a write in flight lands). */
  end(callId: string): void {
    const call = this.calls.get(callId);
    if (call === undefined) return;
    this.pending.delete(callId);
    call.ended = true;
    if (!call.inFlight) void this.remove(call);
  }

  /** The call is no longer this worker's (its slot went elsewhere): stop writing it, delete nothing. */
  forget(callId: string): void {
    this.pending.delete(callId);
    this.calls.delete(callId);
    this.settleWaiters();
  }

  /** Writes every call of `slot` now (ringing ones too, due or not) and resolves once all are confirmed; rejects after `timeoutMs`. */
  flush(slot: number, timeoutMs: number): Promise<void> {
    for (const [callId, call] of this.calls) {
      if (call.source.slot !== slot || call.ended) continue;
      call.notBefore = undefined;
      this.pending.add(callId);
    }
    this.schedule();
    if (this.slotSettled(slot)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`snapshots of slot ${slot} not written within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: FlushWaiter = { slot, resolve: () => (clearTimeout(timer), resolve()) };
      this.waiters.push(waiter);
    });
  }

  /** Keeps `deferred` in due order (appending is the rule: every ringing call waits as long). */
  private defer(call: TrackedCall): void {
    const due = call.notBefore ?? 0;
    let i = this.deferred.length;
    while (i > 0 && (this.deferred[i - 1]?.notBefore ?? 0) > due) i--;
    this.deferred.splice(i, 0, call);
    if (i === 0) this.armDeferred();
  }

  private armDeferred(): void {
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    const first = this.deferred[0];
    if (first === undefined) return;
    this.deferTimer = setTimeout(() => this.releaseDue(), Math.max(0, (first.notBefore ?? 0) - Date.now()));
    this.deferTimer.unref();
  }

  /** Ringing calls whose time came are asked for; those answered, expedited, flushed or ended meanwhile are skipped. */
  private releaseDue(): void {
    const now = Date.now();
    while (this.deferred.length > 0) {
      const call = this.deferred[0] as TrackedCall;
      if (call.notBefore !== undefined && call.notBefore > now) break;
      this.deferred.shift();
      if (call.notBefore === undefined || this.calls.get(call.source.callId) !== call) continue;
      call.notBefore = undefined;
      this.request(call.source.callId);
    }
    this.armDeferred();
  }

  private schedule(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // a later turn: never inside the turn that sent a 200 or handled an ACK
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    for (const callId of this.pending) {
      if (this.inFlight >= this.o.maxInFlight) return;
      const call = this.calls.get(callId);
      if (call === undefined || call.ended) {
        this.pending.delete(callId);
        continue;
      }
      if (call.inFlight) continue; // written again once its write in flight lands
      this.pending.delete(callId);
      void this.write(call);
    }
  }

  private async write(call: TrackedCall): Promise<void> {
    const { callId, slot } = call.source;
    const captured = call.source.capture();
    if (captured === undefined) return this.settleWaiters();
    call.inFlight = true;
    this.inFlight++;
    const key = snapshotKey(slot, callId);
    try {
      const records = await this.o.records(callId);
      const revision = await this.o.store.put(key, encodeSnapshot({ ...captured, records }), call.revision);
      call.revision = revision;
      call.writes++;
      call.source.landed?.(captured);
      this.o.counters.add('snapshots.written');
    } catch (err) {
      if (err instanceof RevisionConflict) {
        this.o.counters.add('snapshots.fenced');
        this.o.log.warn({ event: 'snapshot-fenced', call: callId, slot }, 'snapshot write refused by compare-and-set: another worker owns this call now');
        this.calls.delete(callId);
        this.o.onFenced(slot, callId);
      } else {
        this.o.counters.add('snapshots.failed');
        this.o.log.warn({ err, event: 'snapshot-failed', call: callId, slot }, 'snapshot write failed: the next change writes it again');
      }
    } finally {
      call.inFlight = false;
      this.inFlight--;
    }
    if (call.ended && this.calls.has(callId)) await this.remove(call);
    this.settleWaiters();
    if (this.pending.size > 0) this.schedule();
  }

  private async remove(call: TrackedCall): Promise<void> {
    const { callId, slot } = call.source;
    this.calls.delete(callId);
    if (call.revision !== undefined) {
      try {
        await this.o.store.delete(snapshotKey(slot, callId), call.revision);
      } catch (err) {
        // a conflict: the call's slot is another worker's, and so is the key
        if (!(err instanceof RevisionConflict)) this.o.log.warn({ err, event: 'snapshot-delete-failed', call: callId, slot }, 'snapshot of an ended call not deleted');
      }
    }
    this.settleWaiters();
  }

  private slotSettled(slot: number): boolean {
    for (const [callId, call] of this.calls) {
      if (call.source.slot === slot && (call.inFlight || this.pending.has(callId))) return false;
    }
    return true;
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (this.slotSettled(w.slot)) w.resolve();
      else this.waiters.push(w);
    }
  }
}
