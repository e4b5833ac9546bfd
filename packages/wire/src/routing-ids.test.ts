import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newRoutingScope, RoutingIds, scopeOf, SLOT_COUNT, slotOfScope } from './routing-ids.js';

const SECRET = 'correct horse battery staple';
const ids = new RoutingIds(SECRET);

/** Replaces the character at `i` with a different one of the same class. */
function flipAt(s: string, i: number): string {
  const c = s[i] as string;
  const replacement = /[0-9]/.test(c) ? (c === '0' ? '1' : '0') : c === 'a' ? 'b' : 'a';
  return s.slice(0, i) + replacement + s.slice(i + 1);
}

describe('RoutingIds branches', () => {
  test('newBranch carries the RFC 3261 magic cookie and slotOfBranch returns its slot', () => {
    const branch = ids.newBranch(newRoutingScope(7));
    assert.ok(branch.startsWith('z9hG4bK-'), branch);
    assert.match(branch, /^z9hG4bK-[0-9a-f]{16}-[0-9a-f]{12}$/);
    assert.equal(ids.slotOfBranch(branch), 7);
  });

  test('branches are unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(ids.newBranch(newRoutingScope(1)));
    assert.equal(seen.size, 100);
  });

  test('another instance with the same secret verifies it', () => {
    assert.equal(new RoutingIds(SECRET).slotOfBranch(ids.newBranch(newRoutingScope(4095))), 4095);
  });

  test('a branch forged without the secret, or altered anywhere, is refused', () => {
    assert.equal(ids.slotOfBranch(new RoutingIds('some other secret value').newBranch(newRoutingScope(1))), undefined);
    const branch = ids.newBranch(newRoutingScope(1));
    const [cookie, random = '', mac = ''] = branch.split('-');
    for (let i = 0; i < random.length; i++) {
      assert.equal(ids.slotOfBranch(`${cookie}-${flipAt(random, i)}-${mac}`), undefined, `random[${i}]`);
    }
    for (let i = 0; i < mac.length; i++) {
      assert.equal(ids.slotOfBranch(`${cookie}-${random}-${flipAt(mac, i)}`), undefined, `mac[${i}]`);
    }
    assert.equal(ids.slotOfBranch(`${cookie}-${random.slice(1)}-${mac}`), undefined);
    assert.equal(ids.slotOfBranch(`${cookie}-${random}0-${mac}`), undefined);
    assert.equal(ids.slotOfBranch(`${cookie}-${random}-${mac.slice(1)}`), undefined);
    assert.equal(ids.slotOfBranch(`${branch}x`), undefined);
    assert.equal(ids.slotOfBranch(` ${branch}`), undefined);
    assert.equal(ids.slotOfBranch(`${cookie}-${random.toUpperCase()}-${mac}`), random === random.toUpperCase() ? 1 : undefined);
  });

  test('branches that are not ours', () => {
    assert.equal(ids.slotOfBranch('z9hG4bK776asdhds'), undefined);
    assert.equal(ids.slotOfBranch('z9hG4bK'), undefined);
    assert.equal(ids.slotOfBranch(''), undefined);
    assert.equal(ids.slotOfBranch(ids.newTag(newRoutingScope(1))), undefined);
    // the old worker-named form
    assert.equal(ids.slotOfBranch('z9hG4bK-w1-0011223344556677-aabbccddeeff'), undefined);
  });

  test('a branch without a scope still verifies (its slot is whatever its random digits say)', () => {
    const slot = ids.slotOfBranch(ids.newBranch());
    assert.ok(slot !== undefined && slot >= 0 && slot < SLOT_COUNT);
  });
});

describe('RoutingIds tags', () => {
  test('newTag / slotOfTag round trip, no worker id in it', () => {
    const tag = ids.newTag(newRoutingScope(300));
    assert.match(tag, /^[0-9a-f]{16}\.[0-9a-f]{12}$/);
    assert.equal(ids.slotOfTag(tag), 300);
    assert.notEqual(ids.newTag(newRoutingScope(300)), tag);
  });

  test('forged or altered tags are refused', () => {
    assert.equal(ids.slotOfTag(new RoutingIds('some other secret value').newTag(newRoutingScope(1))), undefined);
    const tag = ids.newTag(newRoutingScope(1));
    const [random = '', mac = ''] = tag.split('.');
    assert.equal(ids.slotOfTag(`${flipAt(random, 0)}.${mac}`), undefined);
    assert.equal(ids.slotOfTag(`${flipAt(random, 2)}.${mac}`), undefined);
    assert.equal(ids.slotOfTag(`${random}.${flipAt(mac, 11)}`), undefined);
    assert.equal(ids.slotOfTag(`${random.slice(2)}.${mac}`), undefined);
    assert.equal(ids.slotOfTag(`${random}.${mac.slice(0, -1)}`), undefined);
    assert.equal(ids.slotOfTag(`${tag};x`), undefined);
    assert.equal(ids.slotOfTag(`${tag}.0`), undefined);
  });

  test('a branch used as a tag, a client tag and an empty tag are not ours', () => {
    assert.equal(ids.slotOfTag(ids.newBranch(newRoutingScope(1))), undefined);
    assert.equal(ids.slotOfTag('1928301774'), undefined);
    assert.equal(ids.slotOfTag(''), undefined);
  });
});

describe('RoutingIds: verified ids are remembered', () => {
  test('a branch or tag seen again is not verified again; a forgery of it still is, and fails', (t) => {
    const fresh = new RoutingIds(SECRET);
    const mac = t.mock.method(fresh as unknown as { mac: (kind: string, random: string) => string }, 'mac');
    const branch = ids.newBranch(newRoutingScope(7));
    const tag = ids.newTag(newRoutingScope(9));
    for (let i = 0; i < 5; i++) {
      assert.equal(fresh.slotOfBranch(branch), 7);
      assert.equal(fresh.slotOfTag(tag), 9);
    }
    assert.equal(mac.mock.callCount(), 2, 'one MAC per id, the first time it is seen');
    const [cookie, random = '', code = ''] = branch.split('-');
    assert.equal(fresh.slotOfBranch(`${cookie}-${random}-${flipAt(code, 0)}`), undefined);
    assert.equal(fresh.slotOfTag(branch), undefined, 'a branch is still no tag');
    assert.equal(mac.mock.callCount(), 3);
  });

  test('forged ids are not remembered: each is checked and refused', (t) => {
    const fresh = new RoutingIds(SECRET);
    const mac = t.mock.method(fresh as unknown as { mac: (kind: string, random: string) => string }, 'mac');
    const forged = new RoutingIds('some other secret value').newTag(newRoutingScope(1));
    for (let i = 0; i < 3; i++) assert.equal(fresh.slotOfTag(forged), undefined);
    assert.equal(mac.mock.callCount(), 3);
  });

  test('what is remembered is bounded: the oldest id is verified again after 4,096 newer ones', (t) => {
    const fresh = new RoutingIds(SECRET);
    const first = ids.newTag(newRoutingScope(3));
    assert.equal(fresh.slotOfTag(first), 3);
    for (let i = 0; i < 4096; i++) fresh.slotOfTag(ids.newTag(newRoutingScope(i % SLOT_COUNT)));
    const mac = t.mock.method(fresh as unknown as { mac: (kind: string, random: string) => string }, 'mac');
    assert.equal(fresh.slotOfTag(first), 3);
    assert.equal(mac.mock.callCount(), 1);
    assert.equal((fresh as unknown as { verified: { tag: Map<string, number> } }).verified.tag.size, 4096);
  });
});

describe('RoutingIds secret', () => {
  test('a secret shorter than 16 characters is refused', () => {
    assert.throws(() => new RoutingIds(''), /at least 16/);
    assert.throws(() => new RoutingIds('x'.repeat(15)), /at least 16/);
    assert.doesNotThrow(() => new RoutingIds('x'.repeat(16)));
  });
});

describe('RoutingIds: branch and tag MACs are kept apart', () => {
  test('a valid tag rewritten in branch form (same random and MAC) is refused', () => {
    const ids = new RoutingIds('a-cluster-routing-secret');
    const [random, mac] = ids.newTag(newRoutingScope(9)).split('.');
    assert.equal(ids.slotOfBranch(`z9hG4bK-${random}-${mac}`), undefined);
    const [, r2, m2] = ids.newBranch(newRoutingScope(9)).split('-');
    assert.equal(ids.slotOfTag(`${r2}.${m2}`), undefined);
  });
});

describe('RoutingIds: scopes and slots', () => {
  const scoped = new RoutingIds('a-cluster-routing-secret');
  test('a scope is 11 hex digits: its slot in 3, then 8 random', () => {
    assert.match(newRoutingScope(0), /^000[0-9a-f]{8}$/);
    assert.match(newRoutingScope(0xabc), /^abc[0-9a-f]{8}$/);
    assert.equal(slotOfScope(newRoutingScope(4095)), 4095);
    assert.equal(slotOfScope('xyz'), undefined);
    assert.notEqual(newRoutingScope(5), newRoutingScope(5));
  });
  test('a slot outside 0..4095 has no scope', () => {
    for (const bad of [-1, SLOT_COUNT, 1.5, Number.NaN]) assert.throws(() => newRoutingScope(bad), /slot/, String(bad));
  });
  test('a scope written into a branch and a tag is read back, and the MAC still verifies', () => {
    const scope = newRoutingScope(42);
    const branch = scoped.newBranch(scope);
    const tag = scoped.newTag(scope);
    assert.equal(scopeOf(branch), scope);
    assert.equal(scopeOf(tag), scope);
    assert.equal(scoped.slotOfBranch(branch), 42);
    assert.equal(scoped.slotOfTag(tag), 42);
    assert.notEqual(scoped.newBranch(scope), branch);
  });
  test('a malformed scope is refused; foreign strings have none', () => {
    assert.throws(() => scoped.newBranch('XYZ'));
    assert.throws(() => scoped.newTag('0011223344'));
    assert.equal(scopeOf('z9hG4bK776asdhds'), undefined);
    assert.equal(scopeOf('a73kszlfl'), undefined);
  });
});
