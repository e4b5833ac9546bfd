import type { Heartbeat, WorkerState } from './envelopes.js';
import { HEARTBEAT_INTERVAL_MS, HEARTBEATS_MISSED_TO_DROP } from './heartbeat.js';
import { RendezvousSet } from './rendezvous.js';

export interface WorkerStatus {
  workerId: string;
  state: WorkerState;
  calls: number;
  startedAt: number;
  version: string;
  lastSeen: number;
}

/**
 * The live workers as a router knows them from heartbeats. New dialogs go to the active
 * ones by rendezvous hashing on Call-ID; a draining worker keeps its dialogs; a worker
 * silent for HEARTBEATS_MISSED_TO_DROP intervals is dropped — unless the router itself lost
 * NATS: silence then says nothing about the workers, so nothing expires while it is cut off,
 * and once it is back each worker has a full timeout from then to be heard again.
 */
export class WorkerDirectory {
  private readonly workers = new Map<string, WorkerStatus>();
  private active = new RendezvousSet([]);
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private cutOff = false;
  /** When the router got NATS back: no worker's silence counts from before then. */
  private reachableSince = -Infinity;

  constructor(opts: { intervalMs?: number; missed?: number; now?: () => number } = {}) {
    this.timeoutMs = (opts.intervalMs ?? HEARTBEAT_INTERVAL_MS) * (opts.missed ?? HEARTBEATS_MISSED_TO_DROP);
    this.now = opts.now ?? Date.now;
  }

  /** Records a heartbeat; true when the set of active workers changed. */
  onHeartbeat(hb: Heartbeat): boolean {
    const known = this.workers.get(hb.workerId);
    this.workers.set(hb.workerId, {
      workerId: hb.workerId, state: hb.state, calls: hb.calls, startedAt: hb.startedAt, version: hb.version, lastSeen: this.now(),
    });
    // a draining worker, new or not, is in no active set: only a change of active membership counts
    if ((known?.state === 'active') !== (hb.state === 'active')) {
      this.rebuild();
      return true;
    }
    return false;
  }

  /** The router lost NATS: heartbeats cannot reach it, so none counts as missed. */
  suspendExpiry(): void {
    this.cutOff = true;
  }

  /** The router is back on NATS: workers get a full timeout from now to heartbeat again. */
  resumeExpiry(): void {
    this.cutOff = false;
    this.reachableSince = this.now();
  }

  /** True while expiry is suspended or within the timeout that follows its resumption. */
  get inGrace(): boolean {
    return this.cutOff || this.now() - this.reachableSince < this.timeoutMs;
  }

  /** Whether `workerId` has heartbeated at or after `since` (epoch ms). */
  heardSince(workerId: string, since: number): boolean {
    return (this.workers.get(workerId)?.lastSeen ?? -Infinity) >= since;
  }

  /** Drops workers not heard from in time; returns their ids. */
  expire(): string[] {
    if (this.cutOff) return [];
    const cutoff = this.now() - this.timeoutMs;
    const dropped: string[] = [];
    for (const [id, w] of this.workers) {
      if (Math.max(w.lastSeen, this.reachableSince) < cutoff) {
        this.workers.delete(id);
        dropped.push(id);
      }
    }
    if (dropped.length > 0) this.rebuild();
    return dropped;
  }

  isLive(workerId: string): boolean {
    return this.workers.has(workerId);
  }

  /** Whether `workerId` is live and takes new dialogs. */
  isActive(workerId: string): boolean {
    return this.workers.get(workerId)?.state === 'active';
  }

  /** The active worker that owns new dialogs for `callId`, or undefined when none is active. */
  pickForNewDialog(callId: string): string | undefined {
    return this.active.pick(callId);
  }

  get activeCount(): number {
    return this.active.size;
  }

  list(): WorkerStatus[] {
    return [...this.workers.values()];
  }

  private rebuild(): void {
    const ids: string[] = [];
    for (const w of this.workers.values()) if (w.state === 'active') ids.push(w.workerId);
    this.active = new RendezvousSet(ids);
  }
}
