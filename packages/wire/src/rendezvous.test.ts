import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RendezvousSet } from './rendezvous.js';

/** Deterministic Call-ID-like keys (xorshift32), so every run sees the same sample. */
function callIds(count: number, seed = 0x9e3779b9): string[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(`${next().toString(16).padStart(8, '0')}${next().toString(36)}@10.${next() % 256}.${next() % 256}.1`);
  }
  return out;
}

const FIVE = ['worker1', 'worker2', 'worker3', 'worker4', 'worker5'];
const KEYS = callIds(100_000);

function tally(set: RendezvousSet, keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const k of keys) {
    const w = set.pick(k);
    assert.ok(w !== undefined);
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

describe('RendezvousSet', () => {
  test('the same key picks the same member, whatever the instance or member order', () => {
    const a = new RendezvousSet(FIVE);
    const b = new RendezvousSet([...FIVE].reverse());
    const c = new RendezvousSet(['worker3', 'worker1', 'worker5', 'worker2', 'worker4', 'worker1']);
    for (const k of KEYS.slice(0, 5_000)) {
      const pick = a.pick(k);
      assert.equal(a.pick(k), pick, 'repeated pick changed');
      assert.equal(b.pick(k), pick, `reversed order disagrees for ${k}`);
      assert.equal(c.pick(k), pick, `shuffled order disagrees for ${k}`);
    }
  });

  test('duplicates count once and members are listed sorted', () => {
    const set = new RendezvousSet(['b', 'a', 'b', 'c']);
    assert.equal(set.size, 3);
    assert.deepEqual(set.members, ['a', 'b', 'c']);
  });

  test('an empty set picks nothing', () => {
    const set = new RendezvousSet([]);
    assert.equal(set.size, 0);
    assert.equal(set.pick('a84b4c76e66710@pc33.atlanta.com'), undefined);
    assert.equal(set.pick(''), undefined);
  });

  test('a single member wins every key', () => {
    const set = new RendezvousSet(['only']);
    for (const k of KEYS.slice(0, 100)) assert.equal(set.pick(k), 'only');
  });

  test('100,000 Call-IDs spread evenly over 5 members (each within ±5% of the mean)', () => {
    // mean 20,000, binomial σ ≈ 126: ±1,000 is ~8σ, yet a hash that ignores the key puts all on one member
    const counts = tally(new RendezvousSet(FIVE), KEYS);
    assert.equal(counts.size, 5, 'every member gets keys');
    const mean = KEYS.length / FIVE.length;
    for (const id of FIVE) {
      const n = counts.get(id) ?? 0;
      assert.ok(Math.abs(n - mean) <= mean * 0.05, `${id} got ${n}, mean ${mean}`);
    }
  });

  test('similar keys (a counter suffix) still spread evenly', () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `call-${i}@host`);
    const counts = tally(new RendezvousSet(FIVE), keys);
    const mean = keys.length / FIVE.length;
    for (const id of FIVE) {
      const n = counts.get(id) ?? 0;
      assert.ok(Math.abs(n - mean) <= mean * 0.05, `${id} got ${n}, mean ${mean}`);
    }
  });

  test('adding a 6th member moves only keys to it, and about 1/6 of them', () => {
    const before = new RendezvousSet(FIVE);
    const after = new RendezvousSet([...FIVE, 'worker6']);
    let moved = 0;
    for (const k of KEYS) {
      const was = before.pick(k);
      const now = after.pick(k);
      if (was !== now) {
        assert.equal(now, 'worker6', `${k} moved from ${was} to ${now}, not to the new member`);
        moved++;
      }
    }
    const expected = KEYS.length / 6; // σ ≈ 118
    assert.ok(Math.abs(moved - expected) <= expected * 0.05, `moved ${moved}, expected about ${expected}`);
  });

  test("removing a member moves only that member's keys, spread over the rest", () => {
    const before = new RendezvousSet(FIVE);
    const after = new RendezvousSet(FIVE.filter((id) => id !== 'worker3'));
    const receivers = new Set<string>();
    let orphans = 0;
    for (const k of KEYS) {
      const was = before.pick(k);
      const now = after.pick(k);
      if (was === 'worker3') {
        orphans++;
        assert.ok(now !== undefined && now !== 'worker3');
        receivers.add(now);
      } else {
        assert.equal(now, was, `${k} moved from ${was} to ${now} though its member stayed`);
      }
    }
    assert.ok(orphans > 0);
    assert.equal(receivers.size, 4, 'the removed member’s keys go to every remaining member');
  });
});
