import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceGuard, type EdgeLimits } from './source-guard.js';

const LIMITS: EdgeLimits = { perSourceRate: 10, burst: 5, banSeconds: 30, maxBans: 3, maxTracked: 100 };

function guardAt(limits: Partial<EdgeLimits> = {}): { guard: SourceGuard; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { guard: new SourceGuard({ ...LIMITS, ...limits }, () => clock.now), clock };
}

describe('SourceGuard', () => {
  test('every source is open until the first set of known networks is learned', () => {
    const { guard } = guardAt();
    assert.equal(guard.standing('203.0.113.9'), 'open');
    guard.learn(['192.0.2.0/24']);
    assert.equal(guard.standing('203.0.113.9'), 'stranger');
    assert.equal(guard.standing('192.0.2.77'), 'known');
  });

  test('blocks and bare addresses of both families are known; what reads as neither is handed back', () => {
    const { guard } = guardAt();
    const ignored = guard.learn(['192.0.2.0/24', '198.51.100.7', '2001:db8::/32', '::1', 'pbx.example.com', '10.0.0.0/33', '10.0.0.0/x']);
    assert.deepEqual(ignored, ['pbx.example.com', '10.0.0.0/33', '10.0.0.0/x']);
    assert.equal(guard.standing('198.51.100.7'), 'known');
    assert.equal(guard.standing('198.51.100.8'), 'stranger');
    assert.equal(guard.standing('2001:db8:1::5'), 'known');
    assert.equal(guard.standing('2001:db9::5'), 'stranger');
    assert.equal(guard.standing('::1'), 'known');
    assert.equal(guard.snapshot().networks, 4);
  });

  test('a new set replaces the old one', () => {
    const { guard } = guardAt();
    guard.learn(['192.0.2.0/24']);
    guard.learn(['198.51.100.0/24']);
    assert.equal(guard.standing('192.0.2.1'), 'stranger');
    assert.equal(guard.standing('198.51.100.1'), 'known');
  });

  test('what an address was is not kept past a new set: known before, a stranger after, and the other way round', () => {
    const { guard } = guardAt();
    guard.learn(['192.0.2.0/24']);
    assert.equal(guard.standing('192.0.2.1'), 'known');
    assert.equal(guard.standing('198.51.100.1'), 'stranger');
    guard.learn(['198.51.100.0/24']);
    assert.equal(guard.standing('192.0.2.1'), 'stranger');
    assert.equal(guard.standing('198.51.100.1'), 'known');
  });

  test('a source that passed digest authentication is known until its time is up', () => {
    const { guard, clock } = guardAt();
    guard.learn([]);
    guard.authenticate('203.0.113.9', clock.now + 60_000);
    assert.equal(guard.standing('203.0.113.9'), 'known');
    clock.now += 60_000;
    assert.equal(guard.standing('203.0.113.9'), 'stranger');
    guard.authenticate('203.0.113.10', clock.now - 1);
    assert.equal(guard.standing('203.0.113.10'), 'stranger');
    assert.equal(guard.snapshot().authenticated, 0);
  });

  test('trunk domains with credentials are matched without regard to case', () => {
    const { guard } = guardAt();
    guard.learn([], ['PBX.example.com']);
    assert.equal(guard.challengesFor('pbx.EXAMPLE.com'), true);
    assert.equal(guard.challengesFor('example.com'), false);
  });

  test('a source gets its burst, then its rate; over it the source is banned for banSeconds', () => {
    const { guard, clock } = guardAt();
    for (let i = 0; i < 5; i++) assert.equal(guard.take('192.0.2.1'), 'pass', `request ${i}`);
    assert.equal(guard.take('192.0.2.1'), 'ban');
    assert.equal(guard.take('192.0.2.1'), 'banned');
    assert.equal(guard.take('192.0.2.2'), 'pass', 'another source has its own bucket');
    clock.now += 29_999;
    assert.equal(guard.take('192.0.2.1'), 'banned');
    clock.now += 1;
    assert.equal(guard.take('192.0.2.1'), 'pass', 'the ban is over, the bucket full again');
    assert.deepEqual([guard.snapshot().banned, guard.snapshot().bans], [0, 1]);
  });

  test('a source within its rate is never banned', () => {
    const { guard, clock } = guardAt();
    for (let i = 0; i < 1_000; i++) {
      assert.equal(guard.take('192.0.2.1'), 'pass');
      clock.now += 100; // 10/s, the rate
    }
  });

  test('the ban list is bounded: past maxBans the ban nearest its end is lifted', () => {
    const { guard, clock } = guardAt({ burst: 1 });
    for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']) {
      guard.take(a);
      assert.equal(guard.take(a), 'ban');
      clock.now += 1;
    }
    assert.equal(guard.snapshot().banned, 3);
    assert.equal(guard.take('192.0.2.1'), 'pass', 'the oldest ban was lifted');
    assert.equal(guard.take('192.0.2.4'), 'banned');
  });

  test('buckets are bounded: past maxTracked the oldest is forgotten', () => {
    const { guard } = guardAt({ maxTracked: 2 });
    guard.take('192.0.2.1');
    guard.take('192.0.2.2');
    guard.take('192.0.2.3');
    assert.equal(guard.snapshot().tracked, 2);
  });

  test('a source in an override has its own rate and burst (a carrier over a PBX\'s rate); first match wins', () => {
    const { guard, clock } = guardAt({
      overrides: [{ sources: ['198.51.100.0/24', '2001:db8::/32'], perSourceRate: 100, burst: 20 }, { sources: ['198.51.100.7'], perSourceRate: 1, burst: 1 }],
    });
    for (let i = 0; i < 20; i++) assert.equal(guard.take('198.51.100.7'), 'pass', `request ${i}`);
    assert.equal(guard.take('198.51.100.7'), 'ban');
    for (let i = 0; i < 20; i++) assert.equal(guard.take('2001:db8::5'), 'pass', `IPv6 request ${i}`);
    for (let i = 0; i < 1_000; i++) {
      assert.equal(guard.take('198.51.100.8'), 'pass');
      clock.now += 10; // 100/s, its rate: ten times the default
    }
    for (let i = 0; i < 5; i++) guard.take('192.0.2.1');
    assert.equal(guard.take('192.0.2.1'), 'ban', 'anyone else keeps the default');
  });

  test('an override naming no address or block is a configuration error', () => {
    assert.throws(() => guardAt({ overrides: [{ sources: ['carrier.example'], perSourceRate: 1, burst: 1 }] }), /carrier\.example/);
  });
});
