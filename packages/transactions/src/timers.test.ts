// Timer values (RFC 3261 §17 Table 4, RFC 6026 §7.3) and the armed-timer bookkeeping.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Effect } from './effects.js';
import { ArmedTimers, DEFAULT_TIMER_SETTINGS, doubled, timerD, timerJ, timerSettings, timerT4, transactionTimeout } from './timers.js';

describe('timer settings', () => {
  test('defaults are T1 500 ms, T2 4 s, T4 5 s', () => {
    assert.deepEqual({ ...DEFAULT_TIMER_SETTINGS }, { t1: 500, t2: 4000, t4: 5000 });
    assert.deepEqual({ ...timerSettings() }, { t1: 500, t2: 4000, t4: 5000 });
    assert.deepEqual({ ...timerSettings({ t1: 250 }) }, { t1: 250, t2: 4000, t4: 5000 });
  });

  test('refuses non-positive, non-finite values and T1 > T2', () => {
    for (const bad of [{ t1: 0 }, { t2: -1 }, { t4: Number.NaN }, { t1: Number.POSITIVE_INFINITY }, { t1: 5000 }]) {
      assert.throws(() => timerSettings(bad), RangeError);
    }
  });

  test('derived values on unreliable and reliable transports', () => {
    const s = DEFAULT_TIMER_SETTINGS;
    assert.equal(transactionTimeout(s), 32_000); // B, F, H, L, M
    assert.equal(timerD(s, false), 32_000);
    assert.equal(timerD(s, true), 0);
    assert.equal(timerT4(s, false), 5000); // I, K
    assert.equal(timerT4(s, true), 0);
    assert.equal(timerJ(s, false), 32_000);
    assert.equal(timerJ(s, true), 0);
    assert.equal(doubled(500), 1000);
    assert.equal(doubled(16_000), 32_000, 'uncapped (Timer A)');
    assert.equal(doubled(2000, 4000), 4000);
    assert.equal(doubled(4000, 4000), 4000);
  });
});

describe('ArmedTimers', () => {
  test('emits start and cancel effects, cancels only armed timers, ignores stale fires', () => {
    const armed = new ArmedTimers();
    const out: Effect[] = [];
    armed.start(out, 'A', 500);
    armed.start(out, 'B', 32_000);
    armed.cancel(out, 'D');
    assert.deepEqual(armed.list(), ['A', 'B']);
    assert.ok(armed.fired('A'));
    assert.ok(!armed.fired('A'), 'a second fire of a fired timer is stale');
    armed.cancel(out, 'A');
    assert.ok(armed.has('B'));
    armed.cancelAll(out);
    assert.ok(!armed.has('B'));
    assert.deepEqual(out, [
      { type: 'start-timer', timer: 'A', ms: 500 },
      { type: 'start-timer', timer: 'B', ms: 32_000 },
      { type: 'cancel-timer', timer: 'B' },
    ]);
  });
});
