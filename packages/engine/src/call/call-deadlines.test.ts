// CallDeadlines: every call's maximum duration on one timer, to the second.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { CallDeadlines, type DeadlineTarget } from './call-deadlines.js';

const START = 1_800_000_000_000; // a whole second
/** Deadlines on mocked timers, the clock at START. */
const deadlinesAtStart = (t: TestContext): CallDeadlines => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  return new CallDeadlines();
};
const target = () => {
  const told: number[] = [];
  return { told, ref: { tell: () => told.push(Date.now()) } satisfies DeadlineTarget };
};

describe('CallDeadlines', () => {
  test('tells each target once, within the second after its deadline, never before', (t) => {
    const deadlines = deadlinesAtStart(t);
    const a = target();
    const b = target();
    deadlines.add(START + 1_200, a.ref);
    deadlines.add(START + 1_900, b.ref);
    assert.equal(deadlines.size, 2);
    t.mock.timers.tick(1_199);
    assert.deepEqual([a.told, b.told], [[], []]);
    t.mock.timers.tick(801);
    assert.deepEqual([a.told, b.told], [[START + 2_000], [START + 2_000]], 'both at the second their deadline falls in');
    t.mock.timers.tick(10_000);
    assert.equal(a.told.length + b.told.length, 2, 'once');
    assert.equal(deadlines.size, 0);
  });

  test('a cancelled deadline is not told; a later one still is', (t) => {
    const deadlines = deadlinesAtStart(t);
    const a = target();
    const b = target();
    const key = deadlines.add(START + 3_000, a.ref);
    deadlines.add(START + 5_000, b.ref);
    deadlines.cancel(key, a.ref);
    deadlines.cancel(key, a.ref); // twice: nothing more
    t.mock.timers.tick(5_000);
    assert.deepEqual([a.told, b.told], [[], [START + 5_000]]);
  });

  test('a deadline earlier than every other one re-arms the timer for it', (t) => {
    const deadlines = deadlinesAtStart(t);
    const late = target();
    const early = target();
    deadlines.add(START + 3_600_000, late.ref);
    deadlines.add(START + 2_000, early.ref);
    t.mock.timers.tick(2_000);
    assert.deepEqual(early.told, [START + 2_000]);
    assert.deepEqual(late.told, []);
    t.mock.timers.tick(3_598_000);
    assert.deepEqual(late.told, [START + 3_600_000]);
  });

  test('a deadline already past is told on the next turn; stop() tells nothing more', (t) => {
    const deadlines = deadlinesAtStart(t);
    const past = target();
    const stopped = target();
    deadlines.add(START - 5_000, past.ref);
    t.mock.timers.tick(0);
    assert.equal(past.told.length, 1);
    deadlines.add(START + 1_000, stopped.ref);
    deadlines.stop();
    t.mock.timers.tick(5_000);
    assert.equal(stopped.told.length, 0);
  });
});
