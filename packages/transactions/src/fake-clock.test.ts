// The test driver itself: virtual time, timer replacement and ordering, protocol checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Effect, TimerEvent } from './effects.js';
import { FakeClock } from './fake-clock.js';

type Poke = { type: 'poke'; effects: Effect[] };

/** A machine that returns what it is told to, and records the timer fires. */
class Puppet {
  readonly fires: Array<string> = [];
  onFire: (timer: string) => Effect[] = () => [];
  handle(event: Poke | TimerEvent): Effect[] {
    if (event.type === 'poke') return event.effects;
    this.fires.push(event.timer);
    return this.onFire(event.timer);
  }
}

describe('FakeClock', () => {
  test('fires timers in due order, ties in arming order, and a restart replaces the timer', () => {
    const p = new Puppet();
    const clock = new FakeClock<Poke>(p);
    clock.dispatch({ type: 'poke', effects: [
      { type: 'start-timer', timer: 'B', ms: 100 },
      { type: 'start-timer', timer: 'A', ms: 100 },
      { type: 'start-timer', timer: 'D', ms: 50 },
      { type: 'start-timer', timer: 'E', ms: 10 },
    ] });
    clock.dispatch({ type: 'poke', effects: [{ type: 'start-timer', timer: 'E', ms: 70 }] });
    clock.advance(99);
    assert.deepEqual(p.fires, ['D', 'E']);
    assert.equal(clock.now, 99);
    clock.advance(1);
    assert.deepEqual(p.fires, ['D', 'E', 'B', 'A']);
  });

  test('a timer re-armed by its own fire keeps firing', () => {
    const p = new Puppet();
    p.onFire = () => [{ type: 'send', message: undefined as never }, { type: 'start-timer', timer: 'E', ms: 100 }];
    const clock = new FakeClock<Poke>(p);
    clock.dispatch({ type: 'poke', effects: [{ type: 'start-timer', timer: 'E', ms: 100 }] });
    clock.advance(350);
    assert.deepEqual(clock.sendTimes(), [100, 200, 300]);
    assert.deepEqual(clock.armed(), new Map([['E', 400]]));
  });

  test('checks the effect protocol', () => {
    const clock = new FakeClock<Poke>(new Puppet());
    assert.throws(() => clock.dispatch({ type: 'poke', effects: [{ type: 'cancel-timer', timer: 'A' }] }), /not armed/);
    assert.throws(() => clock.dispatch({ type: 'poke', effects: [{ type: 'start-timer', timer: 'A', ms: 0 }] }), /armed for 0 ms/);
    clock.dispatch({ type: 'poke', effects: [{ type: 'start-timer', timer: 'K', ms: 5 }] });
    assert.throws(() => clock.dispatch({ type: 'poke', effects: [{ type: 'terminated' }] }), /timers armed: K/);
    assert.throws(() => clock.advanceTo(-1), /time runs forward/);
    const done = new FakeClock<Poke>(new Puppet());
    done.dispatch({ type: 'poke', effects: [{ type: 'terminated' }] });
    assert.ok(done.terminated);
    assert.throws(() => done.dispatch({ type: 'poke', effects: [{ type: 'timeout', timer: 'B' }] }), /after terminated/);
  });

  test('runUntilIdle stops a machine that never settles', () => {
    const p = new Puppet();
    p.onFire = () => [{ type: 'start-timer', timer: 'A', ms: 1 }];
    const clock = new FakeClock<Poke>(p);
    clock.dispatch({ type: 'poke', effects: [{ type: 'start-timer', timer: 'A', ms: 1 }] });
    assert.throws(() => clock.runUntilIdle(20), /still busy after 20/);
  });
});
