import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotTable } from './slot-table.js';

describe('SlotTable from heartbeats', () => {
  test('a heartbeat names the owner of each slot it lists', () => {
    const t = new SlotTable();
    assert.equal(t.fromHeartbeat('w1', [[1, 1], [2, 3]]), true);
    assert.equal(t.ownerOf(1), 'w1');
    assert.equal(t.ownerOf(2), 'w1');
    assert.equal(t.epochOf(2), 3);
    assert.equal(t.ownerOf(3), undefined);
    assert.deepEqual(t.slotsOf('w1'), [1, 2]);
    assert.equal(t.fromHeartbeat('w1', [[1, 1], [2, 3]]), false, 'the same heartbeat again changes nothing');
  });

  test('the highest epoch wins, whichever heartbeat arrives last', () => {
    const t = new SlotTable();
    t.fromHeartbeat('w2', [[5, 2]]);
    t.fromHeartbeat('w1', [[5, 1]]); // a zombie's stale claim
    assert.equal(t.ownerOf(5), 'w2');
    t.fromHeartbeat('w3', [[5, 3]]);
    assert.equal(t.ownerOf(5), 'w3');
    assert.deepEqual(t.slotsOf('w2'), []);
  });

  test('a slot its owner stops listing is orphaned until its next owner heartbeats', () => {
    let now = 1_000;
    const t = new SlotTable(() => now);
    t.fromHeartbeat('w1', [[5, 1], [6, 1]]);
    now = 2_000;
    assert.equal(t.fromHeartbeat('w1', [[6, 1]]), true);
    assert.equal(t.ownerOf(5), undefined);
    assert.equal(t.orphanedSince(5), 2_000);
    assert.equal(t.orphanedSince(6), undefined);
    t.fromHeartbeat('w2', [[5, 2]]);
    assert.equal(t.ownerOf(5), 'w2');
    assert.equal(t.orphanedSince(5), undefined);
  });

  test('a stopped listing does not clear a slot another worker owns meanwhile', () => {
    const t = new SlotTable();
    t.fromHeartbeat('w1', [[5, 1]]);
    t.fromHeartbeat('w2', [[5, 2]]); // handed over: the receiver heard first
    t.fromHeartbeat('w1', []);
    assert.equal(t.ownerOf(5), 'w2');
    assert.equal(t.orphanedSince(5), undefined);
  });

  test('entries out of range are ignored', () => {
    const t = new SlotTable();
    t.fromHeartbeat('w1', [[-1, 1], [4096, 1], [1.5, 1]]);
    assert.deepEqual(t.slotsOf('w1'), []);
  });
});

describe('SlotTable: dropped workers', () => {
  test('dropWorker orphans its slots with the time, and a claim at the same epoch by the same worker (it came back) or a higher one ends it', () => {
    let now = 10;
    const t = new SlotTable(() => now);
    t.fromHeartbeat('w1', [[1, 4], [2, 4]]);
    t.fromHeartbeat('w2', [[3, 1]]);
    now = 50;
    assert.deepEqual(t.dropWorker('w1'), [1, 2]);
    assert.equal(t.ownerOf(1), undefined);
    assert.equal(t.orphanedSince(1), 50);
    assert.deepEqual(t.orphans(), [1, 2]);
    assert.equal(t.ownerOf(3), 'w2');
    t.fromHeartbeat('w2', [[3, 1], [1, 5]]);
    assert.equal(t.ownerOf(1), 'w2');
    t.fromHeartbeat('w1', [[1, 4], [2, 4]]);
    assert.equal(t.ownerOf(1), 'w2', 'epoch 4 lost the slot to epoch 5');
    assert.equal(t.ownerOf(2), 'w1', 'nobody took slot 2: its owner heard again keeps it');
    assert.deepEqual(t.orphans(), []);
  });

  test('a fake clock at 0 still marks a slot orphaned', () => {
    const t = new SlotTable(() => 0);
    t.fromHeartbeat('w1', [[1, 1]]);
    t.dropWorker('w1');
    assert.notEqual(t.orphanedSince(1), undefined);
  });
});

describe('SlotTable from the bucket', () => {
  test('apply sets the owner unless an older epoch comes late; worker "" is free, not orphaned', () => {
    const t = new SlotTable();
    t.apply(9, { worker: 'w1', epoch: 2 });
    t.apply(9, { worker: 'w0', epoch: 1 });
    assert.equal(t.ownerOf(9), 'w1');
    t.apply(9, { worker: '', epoch: 2 });
    assert.equal(t.ownerOf(9), undefined);
    assert.equal(t.orphanedSince(9), undefined);
    assert.equal(t.epochOf(9), 2);
    t.clear(9);
    assert.equal(t.epochOf(9), 0);
  });
});
