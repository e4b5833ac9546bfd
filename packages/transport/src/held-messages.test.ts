import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HeldMessages, type HeldMessage } from './held-messages.js';

function message(n: number, slot = 1): HeldMessage {
  return {
    slot,
    sip: new Uint8Array([n]),
    route: { kind: 'request', method: 'BYE', status: 0, callId: `c${n}`, branch: `b${n}`, toTag: `${slot}.x`, fromTag: 'a', cseq: n, cseqMethod: 'BYE' },
    transport: { protocol: 'tcp', localAddress: '127.0.0.1', localPort: 5060, remoteAddress: '127.0.0.1', remotePort: 40000, connectionId: 'c1', nodeId: 't1' },
    receivedAt: 1_000 + n,
  };
}

const callIds = (ms: HeldMessage[]) => ms.map((m) => m.route.callId);

describe('HeldMessages', () => {
  test('releases a connection\'s messages in the order they came', () => {
    const held = new HeldMessages(10, 100);
    for (let i = 0; i < 4; i++) assert.equal(held.hold('c1', message(i)), true);
    assert.equal(held.size, 4);
    const out: HeldMessage[] = [];
    held.release('c1', (m) => (out.push(m), true));
    assert.deepEqual(callIds(out), ['c0', 'c1', 'c2', 'c3']);
    assert.deepEqual(out.map((m) => m.receivedAt), [1_000, 1_001, 1_002, 1_003], 'each keeps its own receive time');
    assert.equal(held.size, 0);
    assert.equal(held.holds('c1'), false);
    assert.deepEqual(held.connections(), []);
  });

  test('a declined message stops the release: it and those behind it stay, in order', () => {
    const held = new HeldMessages(10, 100);
    held.hold('c1', message(0, 1));
    held.hold('c1', message(1, 2));
    held.hold('c1', message(2, 1));
    const out: HeldMessage[] = [];
    held.release('c1', (m) => m.slot === 1 && (out.push(m), true));
    assert.deepEqual(callIds(out), ['c0']);
    assert.equal(held.size, 2);
    held.release('c1', (m) => (out.push(m), true));
    assert.deepEqual(callIds(out), ['c0', 'c1', 'c2']);
  });

  test('bounded per connection and in total', () => {
    const held = new HeldMessages(2, 3);
    assert.equal(held.hold('c1', message(0)), true);
    assert.equal(held.hold('c1', message(1)), true);
    assert.equal(held.hold('c1', message(2)), false, 'the connection\'s bound');
    assert.equal(held.hold('c2', message(3)), true);
    assert.equal(held.hold('c2', message(4)), false, 'the total bound');
    assert.equal(held.hold('c3', message(5)), false);
    assert.equal(held.size, 3);
    held.release('c1', () => true);
    assert.equal(held.hold('c3', message(6)), true, 'released room is room again');
  });

  test('a closed connection\'s messages are discarded and counted', () => {
    const held = new HeldMessages(10, 100);
    held.hold('c1', message(0));
    held.hold('c1', message(1));
    held.hold('c2', message(2));
    assert.equal(held.discard('c1'), 2);
    assert.equal(held.discard('c1'), 0);
    assert.equal(held.size, 1);
    assert.deepEqual(held.connections(), ['c2']);
  });
});
