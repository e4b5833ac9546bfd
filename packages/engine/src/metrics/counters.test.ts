import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counters, Histogram } from './counters.js';

describe('Histogram', () => {
  it('counts values into fixed buckets and reads percentiles off the bucket bounds', () => {
    const h = new Histogram();
    for (let i = 0; i < 90; i++) h.observe(8); // ≤ 10
    for (let i = 0; i < 9; i++) h.observe(150); // ≤ 200
    h.observe(40_000); // beyond the last bound
    const s = h.snapshot();
    assert.equal(s.count, 100);
    assert.equal(s.sum, 90 * 8 + 9 * 150 + 40_000);
    assert.equal(s.buckets.find((b) => b.le === 10)?.count, 90);
    assert.equal(s.buckets.find((b) => b.le === 200)?.count, 9);
    assert.equal(s.buckets.at(-1)?.le, Infinity);
    assert.equal(s.buckets.at(-1)?.count, 1);
    assert.deepEqual([s.p50, s.p95, s.p99], [10, 200, 200]);
  });

  it('an empty histogram reads as zeros; Counters keeps one per name', () => {
    const c = new Counters();
    assert.deepEqual(c.histograms(), {});
    c.observe('call.setup_ms', 3);
    const snap = c.histograms()['call.setup_ms'];
    assert.equal(snap?.count, 1);
    assert.equal(snap?.p99, 5);
    assert.equal(new Histogram().snapshot().p50, 0);
  });
});
