import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OutageQueue, type HeldPublish } from './outage-queue.js';

const held = (n: number, bytes = 10): HeldPublish<never> => ({ subject: `s.${n}`, data: new Uint8Array(bytes), options: undefined });
const subjects = (q: OutageQueue<never>) => q.drain().map((h) => h.subject);

describe('the SIP a worker holds while NATS is unreachable', () => {
  test('comes out in the order it went in, and the queue is empty after', () => {
    const q = new OutageQueue<never>({ maxMessages: 10, maxBytes: 1_000 });
    for (let i = 1; i <= 5; i++) assert.equal(q.push(held(i)), 0);
    assert.equal(q.size, 5);
    assert.equal(q.byteSize, 50);
    assert.deepEqual(subjects(q), ['s.1', 's.2', 's.3', 's.4', 's.5']);
    assert.equal(q.size, 0);
    assert.equal(q.byteSize, 0);
    assert.deepEqual(q.drain(), []);
  });

  test('past maxMessages the oldest is dropped, one for one, and counted', () => {
    const q = new OutageQueue<never>({ maxMessages: 3, maxBytes: 1_000 });
    const dropped = [1, 2, 3, 4, 5, 6, 7].map((i) => q.push(held(i)));
    assert.deepEqual(dropped, [0, 0, 0, 1, 1, 1, 1]);
    assert.deepEqual(subjects(q), ['s.5', 's.6', 's.7']);
    // the ring wrapped: after a drain it fills and drops from its new start
    q.push(held(8));
    q.push(held(9));
    assert.deepEqual(subjects(q), ['s.8', 's.9']);
  });

  test('past maxBytes as many of the oldest go as the new one needs', () => {
    const q = new OutageQueue<never>({ maxMessages: 100, maxBytes: 100 });
    for (let i = 1; i <= 4; i++) q.push(held(i, 25));
    assert.equal(q.push(held(5, 60)), 3, 'three of 25 bytes make room for 60');
    assert.equal(q.byteSize, 85);
    assert.deepEqual(subjects(q), ['s.4', 's.5']);
  });

  test('one larger than maxBytes is dropped itself, and what is held stays', () => {
    const q = new OutageQueue<never>({ maxMessages: 100, maxBytes: 100 });
    q.push(held(1, 40));
    assert.equal(q.push(held(2, 101)), 1);
    assert.deepEqual(subjects(q), ['s.1']);
  });
});
