// Test driver: runs a transaction machine on virtual time. It executes start-timer and
// cancel-timer effects on its own timer table and feeds the fires back as timer events, so a
// test can cover a 32 s path without waiting. It also checks the effect protocol: a cancel
// only for an armed timer, no timer left armed at `terminated`, nothing after `terminated`.
// (Named fake-clock, not test-clock: `node --test <dir>` would take test-*.js for a test file.)
import type { Effect, TimerEvent, TimerName } from './effects.js';

/** Anything with the machines' shape: events in, effects out. */
export interface Driven<E> {
  handle(event: E | TimerEvent): Effect[];
}

/** An effect with the virtual time it was emitted at. */
export interface Timed {
  readonly at: number;
  readonly effect: Effect;
}

export class FakeClock<E> {
  /** Virtual milliseconds since the clock was created. */
  now = 0;
  /** Every effect in order, with its time. */
  readonly log: Timed[] = [];
  private readonly table = new Map<TimerName, { due: number; seq: number }>();
  private seq = 0;
  private ended = false;

  constructor(readonly machine: Driven<E>) {}

  /** Handles `event` now and executes the effects; returns them. */
  dispatch(event: E | TimerEvent): Effect[] {
    const effects = this.machine.handle(event);
    for (const effect of effects) this.apply(effect);
    return effects;
  }

  /** Moves time forward by `ms`, firing every timer due on the way in due order (ties: arming order). */
  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }

  advanceTo(target: number): void {
    if (target < this.now) throw new Error(`time runs forward: ${target} < ${this.now}`);
    for (;;) {
      const next = this.nextDue();
      if (next === undefined || next.due > target) break;
      this.table.delete(next.timer);
      this.now = next.due;
      this.dispatch({ type: 'timer', timer: next.timer });
    }
    this.now = target;
  }

  /** Fires timers until none is armed (at most `limit` fires). */
  runUntilIdle(limit = 10_000): void {
    for (let i = 0; i < limit; i++) {
      const next = this.nextDue();
      if (next === undefined) return;
      this.advanceTo(next.due);
    }
    throw new Error(`still busy after ${limit} timer fires`);
  }

  /** The armed timers and when each fires. */
  armed(): Map<TimerName, number> {
    return new Map([...this.table].map(([timer, { due }]) => [timer, due]));
  }

  /** The logged effects of one type, with their times. */
  ofType<T extends Effect['type']>(type: T): Array<{ at: number; effect: Extract<Effect, { type: T }> }> {
    return this.log.filter((t): t is { at: number; effect: Extract<Effect, { type: T }> } => t.effect.type === type);
  }

  /** The times of every `send`. */
  sendTimes(): number[] {
    return this.ofType('send').map((t) => t.at);
  }

  /** The gaps between consecutive sends. */
  sendIntervals(): number[] {
    const times = this.sendTimes();
    return times.slice(1).map((t, i) => t - (times[i] as number));
  }

  get terminated(): boolean {
    return this.ended;
  }

  private nextDue(): { timer: TimerName; due: number } | undefined {
    let best: { timer: TimerName; due: number; seq: number } | undefined;
    for (const [timer, { due, seq }] of this.table) {
      if (best === undefined || due < best.due || (due === best.due && seq < best.seq)) best = { timer, due, seq };
    }
    return best;
  }

  private apply(effect: Effect): void {
    if (this.ended) throw new Error(`effect ${effect.type} after terminated`);
    this.log.push({ at: this.now, effect });
    switch (effect.type) {
      case 'start-timer':
        if (!(effect.ms > 0)) throw new Error(`timer ${effect.timer} armed for ${effect.ms} ms`);
        this.table.set(effect.timer, { due: this.now + effect.ms, seq: this.seq++ });
        break;
      case 'cancel-timer':
        if (!this.table.delete(effect.timer)) throw new Error(`cancel of timer ${effect.timer}, which is not armed`);
        break;
      case 'terminated':
        if (this.table.size > 0) throw new Error(`terminated with timers armed: ${[...this.table.keys()].join(', ')}`);
        this.ended = true;
        break;
      default:
        break;
    }
  }
}
