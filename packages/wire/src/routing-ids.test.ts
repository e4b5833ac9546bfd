import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newRoutingScope, RoutingIds, scopeOf } from './routing-ids.js';

const SECRET = 'correct horse battery staple';
const ids = new RoutingIds(SECRET);

/** Replaces the character at `i` with a different one of the same class. */
function flipAt(s: string, i: number): string {
  const c = s[i] as string;
  const replacement = /[0-9]/.test(c) ? (c === '0' ? '1' : '0') : c === 'a' ? 'b' : 'a';
  return s.slice(0, i) + replacement + s.slice(i + 1);
}

describe('RoutingIds branches', () => {
  test('newBranch carries the RFC 3261 magic cookie and ownerOfBranch returns the worker', () => {
    const branch = ids.newBranch('worker7');
    assert.ok(branch.startsWith('z9hG4bK'), branch);
    assert.equal(ids.ownerOfBranch(branch), 'worker7');
  });

  test('each branch is new', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(ids.newBranch('w1'));
    assert.equal(seen.size, 100);
  });

  test('another instance with the same secret accepts it (the cluster shares the secret)', () => {
    assert.equal(new RoutingIds(SECRET).ownerOfBranch(ids.newBranch('w1')), 'w1');
  });

  test('a branch written with another secret is refused (forged MAC)', () => {
    const forged = new RoutingIds('some other secret value').newBranch('w1');
    assert.equal(ids.ownerOfBranch(forged), undefined);
  });

  test('tampering with the worker id, the random part or the MAC is refused', () => {
    const branch = ids.newBranch('w1');
    const [cookie, worker, random, mac] = branch.split('-') as [string, string, string, string];
    assert.equal(ids.ownerOfBranch(`${cookie}-w2-${random}-${mac}`), undefined);
    assert.equal(ids.ownerOfBranch(`${cookie}-W1-${random}-${mac}`), undefined);
    for (let i = 0; i < random.length; i++) {
      assert.equal(ids.ownerOfBranch(`${cookie}-${worker}-${flipAt(random, i)}-${mac}`), undefined, `random[${i}]`);
    }
    for (let i = 0; i < mac.length; i++) {
      assert.equal(ids.ownerOfBranch(`${cookie}-${worker}-${random}-${flipAt(mac, i)}`), undefined, `mac[${i}]`);
    }
    assert.equal(ids.ownerOfBranch(`${cookie}-${worker}-${random}-${mac.toUpperCase()}`), mac === mac.toUpperCase() ? 'w1' : undefined);
  });

  test('wrong lengths and extra suffixes are refused', () => {
    const branch = ids.newBranch('w1');
    const [cookie, worker, random, mac] = branch.split('-') as [string, string, string, string];
    assert.equal(ids.ownerOfBranch(`${cookie}-${worker}-${random.slice(1)}-${mac}`), undefined);
    assert.equal(ids.ownerOfBranch(`${cookie}-${worker}-${random}0-${mac}`), undefined);
    assert.equal(ids.ownerOfBranch(`${cookie}-${worker}-${random}-${mac.slice(1)}`), undefined);
    assert.equal(ids.ownerOfBranch(`${cookie}-${worker}-${random}-${mac}0`), undefined);
    assert.equal(ids.ownerOfBranch(`${branch}x`), undefined);
    assert.equal(ids.ownerOfBranch(`${branch}-00`), undefined);
    assert.equal(ids.ownerOfBranch(` ${branch}`), undefined);
    assert.equal(ids.ownerOfBranch(`x${branch}`), undefined);
  });

  test('a plain client branch, an empty string and a tag are not ours', () => {
    assert.equal(ids.ownerOfBranch('z9hG4bK776asdhds'), undefined);
    assert.equal(ids.ownerOfBranch('z9hG4bK'), undefined);
    assert.equal(ids.ownerOfBranch(''), undefined);
    assert.equal(ids.ownerOfBranch(ids.newTag('w1')), undefined);
  });

  test('worker ids that are not 1-32 letters or digits are refused', () => {
    for (const bad of ['w-1', 'w.1', '', 'w 1', 'w*', 'x'.repeat(33)]) {
      assert.throws(() => ids.newBranch(bad), /worker id/, JSON.stringify(bad));
      assert.throws(() => ids.newTag(bad), /worker id/, JSON.stringify(bad));
    }
    assert.equal(ids.ownerOfBranch(ids.newBranch('x'.repeat(32))), 'x'.repeat(32));
  });
});

describe('RoutingIds tags', () => {
  test('newTag / ownerOfTag round trip', () => {
    const tag = ids.newTag('worker12');
    assert.equal(ids.ownerOfTag(tag), 'worker12');
    assert.notEqual(ids.newTag('worker12'), tag);
  });

  test('a tag from another secret, tampered or malformed, is refused', () => {
    assert.equal(ids.ownerOfTag(new RoutingIds('some other secret value').newTag('w1')), undefined);
    const tag = ids.newTag('w1');
    const [worker, random, mac] = tag.split('.') as [string, string, string];
    assert.equal(ids.ownerOfTag(`w2.${random}.${mac}`), undefined);
    assert.equal(ids.ownerOfTag(`${worker}.${flipAt(random, 0)}.${mac}`), undefined);
    assert.equal(ids.ownerOfTag(`${worker}.${random}.${flipAt(mac, 11)}`), undefined);
    assert.equal(ids.ownerOfTag(`${worker}.${random.slice(2)}.${mac}`), undefined);
    assert.equal(ids.ownerOfTag(`${worker}.${random}.${mac.slice(0, -1)}`), undefined);
    assert.equal(ids.ownerOfTag(`${tag};x`), undefined);
    assert.equal(ids.ownerOfTag(`${tag}.0`), undefined);
  });

  test('a branch used as a tag, a client tag and an empty tag are not ours', () => {
    assert.equal(ids.ownerOfTag(ids.newBranch('w1')), undefined);
    assert.equal(ids.ownerOfTag('1928301774'), undefined);
    assert.equal(ids.ownerOfTag(''), undefined);
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
  test('a valid tag rewritten in branch form (same worker, random and MAC) is refused', () => {
    const ids = new RoutingIds('a-cluster-routing-secret');
    const [worker, random, mac] = ids.newTag('w7').split('.');
    assert.equal(ids.ownerOfBranch(`z9hG4bK-${worker}-${random}-${mac}`), undefined);
    const [, w2, r2, m2] = ids.newBranch('w7').split('-');
    assert.equal(ids.ownerOfTag(`${w2}.${r2}.${m2}`), undefined);
  });
});

describe('RoutingIds: scopes', () => {
  const scoped = new RoutingIds('a-cluster-routing-secret');
  test('a scope written into a branch and a tag is read back, and the MAC still verifies', () => {
    const scope = newRoutingScope();
    const branch = scoped.newBranch('w3', scope);
    const tag = scoped.newTag('w3', scope);
    assert.equal(scopeOf(branch), scope);
    assert.equal(scopeOf(tag), scope);
    assert.equal(scoped.ownerOfBranch(branch), 'w3');
    assert.equal(scoped.ownerOfTag(tag), 'w3');
    assert.notEqual(scoped.newBranch('w3', scope), branch);
  });
  test('a malformed scope is refused; foreign strings have none', () => {
    assert.throws(() => scoped.newBranch('w3', 'XYZ'));
    assert.equal(scopeOf('z9hG4bK776asdhds'), undefined);
    assert.equal(scopeOf('a73kszlfl'), undefined);
  });
});
