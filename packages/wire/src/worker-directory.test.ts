import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerDirectory } from './worker-directory.js';
import { RendezvousSet } from './rendezvous.js';
import { HEARTBEAT_INTERVAL_MS, HEARTBEATS_MISSED_TO_DROP } from './heartbeat.js';
import type { Heartbeat, WorkerState } from './envelopes.js';

const INTERVAL = 1_000;

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void; set: (t: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (v) => void (t = v) };
}

function hb(workerId: string, state: WorkerState = 'active', calls = 0): Heartbeat {
  return { v: 1, workerId, state, calls, startedAt: 1, sentAt: 2, version: '0.1.0', slots: [] };
}

const CALL_IDS = Array.from({ length: 2_000 }, (_, i) => `${i.toString(36)}-f81d4fae@192.0.2.${i % 250}`);

describe('WorkerDirectory', () => {
  test('a heartbeat makes a worker live and pickable', () => {
    const c = clock();
    const dir = new WorkerDirectory({ intervalMs: INTERVAL, now: c.now });
    assert.equal(dir.isLive('w1'), false);
    assert.equal(dir.pickForNewDialog('call-1'), undefined);
    assert.equal(dir.activeCount, 0);
    dir.onHeartbeat(hb('w1', 'active', 4));
    assert.equal(dir.isLive('w1'), true);
    assert.equal(dir.pickForNewDialog('call-1'), 'w1');
    assert.equal(dir.activeCount, 1);
    assert.deepEqual(dir.list(), [{ workerId: 'w1', state: 'active', calls: 4, startedAt: 1, version: '0.1.0', lastSeen: c.now() }]);
  });

  test('isActive: a live worker taking new dialogs; not a draining one, nor one never heard or dropped', () => {
    const c = clock();
    const dir = new WorkerDirectory({ intervalMs: INTERVAL, missed: 3, now: c.now });
    dir.onHeartbeat(hb('w1'));
    dir.onHeartbeat(hb('w2', 'draining'));
    assert.equal(dir.isActive('w1'), true);
    assert.equal(dir.isActive('w2'), false);
    assert.equal(dir.isActive('w3'), false);
    c.advance(3 * INTERVAL + 1);
    dir.expire();
    assert.equal(dir.isActive('w1'), false);
  });

  test('a draining worker is live but never picked for new dialogs', () => {
    const dir = new WorkerDirectory({ intervalMs: INTERVAL, now: clock().now });
    dir.onHeartbeat(hb('w1'));
    dir.onHeartbeat(hb('w2', 'draining'));
    dir.onHeartbeat(hb('w3'));
    assert.equal(dir.isLive('w2'), true);
    assert.equal(dir.activeCount, 2);
    const picked = new Set(CALL_IDS.map((k) => dir.pickForNewDialog(k)));
    assert.deepEqual([...picked].sort(), ['w1', 'w3']);

    dir.onHeartbeat(hb('w1', 'draining'));
    dir.onHeartbeat(hb('w3', 'draining'));
    assert.equal(dir.pickForNewDialog('call-1'), undefined, 'all draining: nobody takes new dialogs');
    assert.equal(dir.isLive('w1') && dir.isLive('w2') && dir.isLive('w3'), true);
  });

  test('a worker silent for 3 intervals is dropped by expire(), and not before', () => {
    const c = clock();
    const dir = new WorkerDirectory({ intervalMs: INTERVAL, missed: 3, now: c.now });
    dir.onHeartbeat(hb('w1'));
    dir.onHeartbeat(hb('w2', 'draining'));
    c.advance(2_900);
    assert.deepEqual(dir.expire(), []);
    assert.equal(dir.isLive('w1'), true);
    assert.equal(dir.pickForNewDialog('call-1'), 'w1');
    c.advance(101); // 3 intervals and 1 ms
    assert.deepEqual(dir.expire().sort(), ['w1', 'w2']);
    assert.equal(dir.isLive('w1'), false);
    assert.equal(dir.isLive('w2'), false);
    assert.equal(dir.pickForNewDialog('call-1'), undefined);
    assert.equal(dir.activeCount, 0);
    assert.deepEqual(dir.list(), []);
  });

  test('a worker that keeps sending heartbeats stays while a silent one is dropped', () => {
    const c = clock();
    const dir = new WorkerDirectory({ intervalMs: INTERVAL, missed: 3, now: c.now });
    dir.onHeartbeat(hb('w1'));
    dir.onHeartbeat(hb('w2'));
    for (let i = 0; i < 3; i++) {
      c.advance(INTERVAL);
      dir.onHeartbeat(hb('w2'));
      assert.deepEqual(dir.expire(), []);
    }
    c.advance(1);
    assert.deepEqual(dir.expire(), ['w1']);
    assert.equal(dir.isLive('w2'), true);
    for (const k of CALL_IDS.slice(0, 200)) assert.equal(dir.pickForNewDialog(k), 'w2');
    assert.deepEqual(dir.expire(), [], 'a dropped worker is reported once');
  });

  test('while the router is cut off from NATS nothing expires; back, each worker has a full timeout to be heard', () => {
    const c = clock();
    const dir = new WorkerDirectory({ intervalMs: INTERVAL, missed: 3, now: c.now });
    dir.onHeartbeat(hb('w1'));
    dir.onHeartbeat(hb('w2', 'draining'));
    c.advance(1_000);
    dir.suspendExpiry();
    assert.equal(dir.inGrace, true);
    c.advance(60_000);
    assert.deepEqual(dir.expire(), []);
    assert.equal(dir.isLive('w1'), true);
    assert.equal(dir.pickForNewDialog('call-1'), 'w1');
    dir.resumeExpiry();
    const back = c.now();
    c.advance(2_000);
    dir.onHeartbeat(hb('w1'));
    assert.equal(dir.heardSince('w1', back), true);
    assert.equal(dir.heardSince('w2', back), false);
    c.advance(999);
    assert.deepEqual(dir.expire(), [], 'the grace runs 3 intervals from the reconnection');
    assert.equal(dir.inGrace, true);
    c.advance(2);
    assert.equal(dir.inGrace, false);
    assert.deepEqual(dir.expire(), ['w2'], 'still silent after the grace: dropped');
    assert.equal(dir.isLive('w1'), true);
    c.advance(3_000);
    assert.deepEqual(dir.expire(), ['w1'], 'after the grace, the usual timeout');
  });

  test('the defaults drop after HEARTBEATS_MISSED_TO_DROP × HEARTBEAT_INTERVAL_MS', () => {
    const c = clock();
    const dir = new WorkerDirectory({ now: c.now });
    dir.onHeartbeat(hb('w1'));
    c.advance(HEARTBEATS_MISSED_TO_DROP * HEARTBEAT_INTERVAL_MS - HEARTBEAT_INTERVAL_MS / 10);
    assert.deepEqual(dir.expire(), []);
    c.advance(HEARTBEAT_INTERVAL_MS / 10 + 1);
    assert.deepEqual(dir.expire(), ['w1']);
  });

  test('onHeartbeat returns true only when the set of active workers changes', () => {
    const c = clock();
    const dir = new WorkerDirectory({ intervalMs: INTERVAL, now: c.now });
    assert.equal(dir.onHeartbeat(hb('w1')), true, 'new active worker');
    assert.equal(dir.onHeartbeat(hb('w1')), false, 'same state again');
    assert.equal(dir.onHeartbeat(hb('w1', 'active', 9)), false, 'only the call count changed');
    assert.equal(dir.list()[0]?.calls, 9, 'the status is still updated');
    assert.equal(dir.onHeartbeat(hb('w2', 'draining')), false, 'a new draining worker joins no active set');
    assert.equal(dir.isLive('w2'), true);
    assert.equal(dir.onHeartbeat(hb('w1', 'draining')), true, 'active → draining');
    assert.equal(dir.onHeartbeat(hb('w1', 'draining')), false, 'still draining');
    assert.equal(dir.onHeartbeat(hb('w1', 'active')), true, 'draining → active');
    c.advance(3 * INTERVAL + 1);
    dir.expire();
    assert.equal(dir.onHeartbeat(hb('w1')), true, 'back after being dropped');
  });

  test('pickForNewDialog agrees with a RendezvousSet of the active ids', () => {
    const dir = new WorkerDirectory({ intervalMs: INTERVAL, now: clock().now });
    for (const id of ['wC', 'wA', 'wD', 'wB']) dir.onHeartbeat(hb(id));
    dir.onHeartbeat(hb('wE', 'draining'));
    dir.onHeartbeat(hb('wD', 'draining'));
    const reference = new RendezvousSet(['wA', 'wB', 'wC']);
    for (const k of CALL_IDS) assert.equal(dir.pickForNewDialog(k), reference.pick(k), k);
  });
});
