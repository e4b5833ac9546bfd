// The pure admission decision, on plain values with a clock of the test's own.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideLimits, refilled, type LimitDecisionInput, type Limits, type Verdict } from './limit-decision.js';
import type { LimitValue } from './limit-value.js';

const NOW = 1_700_000_000_000;
const LEASE = 15_000;

function decide(over: Partial<LimitDecisionInput> & { requests: readonly Limits[] }) {
  return decideLimits({ current: undefined, now: NOW, workerId: 'w1', held: 0, leaseMs: LEASE, ...over });
}

const ADMITTED_SLOT: Verdict = { admitted: true, slot: true };
const ADMITTED_RATE_ONLY: Verdict = { admitted: true, slot: false };
const REFUSED_CONCURRENCY: Verdict = { admitted: false, limit: 'concurrency' };
const REFUSED_RATE: Verdict = { admitted: false, limit: 'rate' };
const times = <T>(n: number, item: T): T[] => Array.from({ length: n }, () => item);

describe('concurrency only', () => {
  test('a new key admits up to the maximum and records this worker with a lease', () => {
    const d = decide({ requests: times(4, { maxConcurrent: 3 }) });
    assert.deepEqual(d.verdicts, [ADMITTED_SLOT, ADMITTED_SLOT, ADMITTED_SLOT, REFUSED_CONCURRENCY]);
    assert.equal(d.held, 3);
    assert.deepEqual(d.value, { w: { w1: { c: 3, l: NOW + LEASE } } });
  });

  test('counts the live shares of other workers', () => {
    const current: LimitValue = { w: { w2: { c: 2, l: NOW + 1 }, w3: { c: 1, l: NOW + 5000 } } };
    const d = decide({ current, requests: times(3, { maxConcurrent: 5 }) });
    assert.deepEqual(d.verdicts, [ADMITTED_SLOT, ADMITTED_SLOT, REFUSED_CONCURRENCY]);
    assert.deepEqual(d.value.w, { w1: { c: 2, l: NOW + LEASE }, w2: { c: 2, l: NOW + 1 }, w3: { c: 1, l: NOW + 5000 } });
  });

  test('ignores and prunes shares whose lease has ended (a lease ending exactly now has ended)', () => {
    const current: LimitValue = { w: { w2: { c: 4, l: NOW }, w3: { c: 4, l: NOW - 60_000 }, w4: { c: 1, l: NOW + 1 } } };
    const d = decide({ current, requests: times(5, { maxConcurrent: 5 }) });
    assert.deepEqual(d.verdicts, [...times(4, ADMITTED_SLOT), REFUSED_CONCURRENCY]);
    assert.deepEqual(Object.keys(d.value.w), ['w1', 'w4']);
  });

  test('a batch is admitted in order until the limit, counting what this worker already holds', () => {
    const current: LimitValue = { w: { w2: { c: 2, l: NOW + 1000 } } };
    const d = decide({ current, held: 1, requests: times(4, { maxConcurrent: 5 }) });
    assert.deepEqual(d.verdicts, [ADMITTED_SLOT, ADMITTED_SLOT, REFUSED_CONCURRENCY, REFUSED_CONCURRENCY]);
    assert.equal(d.held, 3);
    assert.equal(d.value.w.w1?.c, 3);
  });

  test("this worker's stored share is replaced by what it holds now", () => {
    const current: LimitValue = { w: { w1: { c: 9, l: NOW + 1000 }, w2: { c: 1, l: NOW + 1000 } } };
    const d = decide({ current, held: 2, requests: [{ maxConcurrent: 4 }, { maxConcurrent: 4 }] });
    assert.deepEqual(d.verdicts, [ADMITTED_SLOT, REFUSED_CONCURRENCY]);
    assert.deepEqual(d.value.w.w1, { c: 3, l: NOW + LEASE });
  });

  test('releases and lease refreshes are writes without requests; holding nothing removes the share', () => {
    const current: LimitValue = { w: { w1: { c: 3, l: NOW + 10 }, w2: { c: 1, l: NOW + 10 } } };
    const refresh = decide({ current, held: 2, requests: [] });
    assert.deepEqual(refresh.verdicts, []);
    assert.deepEqual(refresh.value.w.w1, { c: 2, l: NOW + LEASE });
    const empty = decide({ current, held: 0, requests: [] });
    assert.deepEqual(empty.value, { w: { w2: { c: 1, l: NOW + 10 } } });
    assert.equal(empty.held, 0);
  });

  test('a maximum of 0 refuses everything', () => {
    assert.deepEqual(decide({ requests: [{ maxConcurrent: 0 }] }).verdicts, [REFUSED_CONCURRENCY]);
  });

  test('workers appear in id order, whatever order they were stored in', () => {
    const current: LimitValue = { w: { zz: { c: 1, l: NOW + 1 }, aa: { c: 1, l: NOW + 1 } } };
    assert.deepEqual(Object.keys(decide({ current, held: 1, requests: [] }).value.w), ['aa', 'w1', 'zz']);
  });

  test('a bucket already in the value is kept untouched by requests without a rate', () => {
    const current: LimitValue = { w: {}, b: { t: 2, at: NOW - 5000 } };
    assert.deepEqual(decide({ current, requests: [{ maxConcurrent: 1 }] }).value.b, { t: 2, at: NOW - 5000 });
  });
});

describe('rate only', () => {
  test('a new bucket starts full: maxPerSecond admitted at once, the rest refused, no slot taken', () => {
    const d = decide({ requests: times(12, { maxPerSecond: 10 }) });
    assert.deepEqual(d.verdicts, [...times(10, ADMITTED_RATE_ONLY), REFUSED_RATE, REFUSED_RATE]);
    assert.equal(d.held, 0);
    assert.deepEqual(d.value, { w: {}, b: { t: 0, at: NOW } });
  });

  test('tokens refill at maxPerSecond per second of wall clock', () => {
    const current: LimitValue = { w: {}, b: { t: 0, at: NOW - 250 } };
    const d = decide({ current, requests: times(3, { maxPerSecond: 10 }) });
    assert.deepEqual(d.verdicts, [ADMITTED_RATE_ONLY, ADMITTED_RATE_ONLY, REFUSED_RATE]);
    assert.deepEqual(d.value.b, { t: 0.5, at: NOW });
  });

  test('refill stops at capacity', () => {
    const current: LimitValue = { w: {}, b: { t: 3, at: NOW - 3_600_000 } };
    const d = decide({ current, requests: times(11, { maxPerSecond: 10 }) });
    assert.equal(d.verdicts.filter((v) => v.admitted).length, 10);
    assert.deepEqual(d.verdicts[10], REFUSED_RATE);
  });

  test('a lowered rate caps the tokens already saved', () => {
    const current: LimitValue = { w: {}, b: { t: 10, at: NOW } };
    const d = decide({ current, requests: times(4, { maxPerSecond: 3 }) });
    assert.deepEqual(d.verdicts, [...times(3, ADMITTED_RATE_ONLY), REFUSED_RATE]);
  });

  test('fractional refills that add up to a token admit (no float shortfall)', () => {
    const current: LimitValue = { w: {}, b: { t: 0.3, at: NOW - 70 } };
    assert.deepEqual(decide({ current, requests: [{ maxPerSecond: 10 }] }).verdicts, [ADMITTED_RATE_ONLY]);
  });

  test('less than a token refuses', () => {
    const current: LimitValue = { w: {}, b: { t: 0, at: NOW - 99 } };
    assert.deepEqual(decide({ current, requests: [{ maxPerSecond: 10 }] }).verdicts, [REFUSED_RATE]);
  });

  test('a bucket stamped later than this clock (another worker runs ahead) neither refills nor moves back', () => {
    const current: LimitValue = { w: {}, b: { t: 1, at: NOW + 500 } };
    const d = decide({ current, requests: times(2, { maxPerSecond: 10 }) });
    assert.deepEqual(d.verdicts, [ADMITTED_RATE_ONLY, REFUSED_RATE]);
    assert.deepEqual(d.value.b, { t: 0, at: NOW + 500 });
  });

  test('a rate of 0 refuses everything', () => {
    assert.deepEqual(decide({ requests: [{ maxPerSecond: 0 }] }).verdicts, [REFUSED_RATE]);
  });

  test('other workers keep their shares when only the rate is asked', () => {
    const current: LimitValue = { w: { w2: { c: 7, l: NOW + 10 } } };
    const d = decide({ current, requests: [{ maxPerSecond: 1 }] });
    assert.deepEqual(d.verdicts, [ADMITTED_RATE_ONLY]);
    assert.deepEqual(d.value.w, { w2: { c: 7, l: NOW + 10 } });
  });

  test('refilled(): a missing bucket is full, elapsed time adds tokens up to capacity', () => {
    assert.deepEqual(refilled(undefined, 5, NOW), { t: 5, at: NOW });
    assert.deepEqual(refilled({ t: 1, at: NOW - 200 }, 5, NOW), { t: 2, at: NOW });
    assert.deepEqual(refilled({ t: 1, at: NOW - 5000 }, 5, NOW), { t: 5, at: NOW });
  });
});

describe('concurrency and rate together', () => {
  test('a request refused by the rate takes no slot', () => {
    const current: LimitValue = { w: {}, b: { t: 1, at: NOW } };
    const d = decide({ current, requests: times(3, { maxConcurrent: 10, maxPerSecond: 10 }) });
    assert.deepEqual(d.verdicts, [ADMITTED_SLOT, REFUSED_RATE, REFUSED_RATE]);
    assert.equal(d.held, 1);
    assert.equal(d.value.w.w1?.c, 1);
  });

  test('a request refused by concurrency takes no token', () => {
    const d = decide({ held: 1, requests: times(3, { maxConcurrent: 2, maxPerSecond: 10 }) });
    assert.deepEqual(d.verdicts, [ADMITTED_SLOT, REFUSED_CONCURRENCY, REFUSED_CONCURRENCY]);
    assert.deepEqual(d.value.b, { t: 9, at: NOW });
  });

  test('when both would refuse, concurrency is named', () => {
    const current: LimitValue = { w: { w2: { c: 1, l: NOW + 1 } }, b: { t: 0, at: NOW } };
    assert.deepEqual(decide({ current, requests: [{ maxConcurrent: 1, maxPerSecond: 1 }] }).verdicts, [REFUSED_CONCURRENCY]);
  });

  test('a batch mixing rate-only, concurrency-only and both shares one value', () => {
    const current: LimitValue = { w: { w2: { c: 1, l: NOW + 1 } }, b: { t: 2, at: NOW } };
    const d = decide({
      current,
      requests: [
        { maxPerSecond: 10 }, // token 2 → 1
        { maxConcurrent: 2 }, // slot: 1 + 1 ≤ 2
        { maxConcurrent: 2, maxPerSecond: 10 }, // no slot left
        { maxPerSecond: 10 }, // token 1 → 0
        { maxPerSecond: 10 }, // no token left
      ],
    });
    assert.deepEqual(d.verdicts, [ADMITTED_RATE_ONLY, ADMITTED_SLOT, REFUSED_CONCURRENCY, ADMITTED_RATE_ONLY, REFUSED_RATE]);
    assert.deepEqual(d.value, { w: { w1: { c: 1, l: NOW + LEASE }, w2: { c: 1, l: NOW + 1 } }, b: { t: 0, at: NOW } });
  });

  test('two workers taking turns on one value never exceed the limits between them', () => {
    let value: LimitValue | undefined;
    const held = { a: 0, b: 0 };
    let admitted = 0;
    for (let round = 0; round < 6; round++) {
      for (const workerId of ['a', 'b'] as const) {
        const d = decideLimits({
          current: value, now: NOW + round, workerId, held: held[workerId], leaseMs: LEASE,
          requests: times(2, { maxConcurrent: 7, maxPerSecond: 1000 }),
        });
        value = d.value;
        held[workerId] = d.held;
        admitted += d.verdicts.filter((v) => v.admitted).length;
      }
    }
    assert.equal(admitted, 7);
    assert.equal(held.a + held.b, 7);
    assert.equal((value?.w.a?.c ?? 0) + (value?.w.b?.c ?? 0), 7);
  });

  test('the input value is not modified', () => {
    const current: LimitValue = { w: { w2: { c: 1, l: NOW - 1 } }, b: { t: 5, at: NOW - 100 } };
    const copy = structuredClone(current);
    decide({ current, held: 1, requests: times(3, { maxConcurrent: 4, maxPerSecond: 5 }) });
    assert.deepEqual(current, copy);
  });
});
