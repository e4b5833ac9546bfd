import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_BLOCKED_MS, EventLoopWatch } from './event-loop-watch.js';

describe('EventLoopWatch', () => {
  test('a turn on time is no lag; a late one is its lateness', () => {
    let clock = 1_000;
    const watch = new EventLoopWatch({ intervalMs: 500, blockedMs: 5_000, now: () => clock });
    clock += 500;
    watch.tick();
    assert.equal(watch.blockedFor(), 0);
    clock += 500 + 1_200;
    watch.tick();
    assert.equal(watch.blockedFor(), 1_200);
    assert.equal(watch.responsive, true);
  });

  test('unresponsive once held past the threshold, and again responsive after a turn on time', () => {
    let clock = 0;
    const watch = new EventLoopWatch({ intervalMs: 500, blockedMs: 5_000, now: () => clock });
    clock += 500 + 5_000;
    watch.tick();
    assert.equal(watch.responsive, false);
    clock += 500;
    watch.tick();
    assert.equal(watch.responsive, true);
  });

  test('a turn that has not come yet counts as soon as it is overdue past the threshold', () => {
    let clock = 0;
    const watch = new EventLoopWatch({ intervalMs: 500, blockedMs: 5_000, now: () => clock });
    clock += 500 + 4_999;
    assert.equal(watch.responsive, true);
    clock += 1;
    assert.equal(watch.responsive, false);
    assert.equal(watch.blockedFor(), 5_000);
  });

  test('defaults to 5 s: a busy loop is not a dead one', () => {
    assert.equal(new EventLoopWatch().blockedMs, DEFAULT_BLOCKED_MS);
    assert.equal(DEFAULT_BLOCKED_MS, 5_000);
  });

  test('its timer keeps no process alive, and start() twice runs one timer', () => {
    const watch = new EventLoopWatch({ intervalMs: 10 });
    watch.start().start();
    watch.stop();
    assert.equal(watch.responsive, true);
  });
});
