import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalBus, type LocalMessage } from './local-bus.js';

describe('LocalBus', () => {
  it('hands a message to the subject served in the process, and says when nothing serves it', () => {
    const bus = new LocalBus<string>();
    const got: LocalMessage<string>[] = [];
    assert.equal(bus.deliver('sb.worker.w1.inbound', new Uint8Array([1])), false, 'nothing served: NATS takes it');
    bus.serve('sb.worker.w1.inbound', (m) => got.push(m));
    assert.equal(bus.deliver('sb.worker.w1.inbound', new Uint8Array([2]), 'traceparent'), true);
    assert.equal(bus.deliver('sb.worker.w2.inbound', new Uint8Array([3])), false, 'another worker: over NATS');
    assert.deepEqual(got, [{ subject: 'sb.worker.w1.inbound', data: new Uint8Array([2]), headers: 'traceparent' }]);
    assert.equal(bus.delivered, 1);
  });

  it('hands an envelope over as the object it is, unencoded, to a subject it serves', () => {
    const bus = new LocalBus();
    const got: LocalMessage<unknown>[] = [];
    const envelope = { v: 1, sip: new Uint8Array([1, 2]) };
    assert.equal(bus.handOver('s', envelope), false, 'nothing served: the sender encodes it for NATS');
    bus.serve('s', (m) => got.push(m));
    assert.equal(bus.handOver('s', envelope), true);
    assert.equal(got[0]?.value, envelope, 'the same object');
    assert.equal(got[0]?.data, undefined);
    assert.equal(bus.delivered, 1);
  });

  it('sends a subject to NATS again once it is no longer served, and refuses a second handler', () => {
    const bus = new LocalBus();
    bus.serve('s', () => {});
    assert.throws(() => bus.serve('s', () => {}), /served already/);
    bus.unserve('s');
    assert.equal(bus.deliver('s', new Uint8Array()), false);
  });
});
