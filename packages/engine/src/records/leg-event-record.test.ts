import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { legEventRecord } from './leg-event-record.js';

describe('legEventRecord', () => {
  const at = 1_000;
  it('a ringing provisional is noted; a 100 is not', () => {
    assert.deepEqual(legEventRecord({ type: 'provisional', leg: 'b1', status: 180, reason: 'Ringing', body: new Uint8Array(), contentType: undefined }, at), { event: { type: 'ringing', leg: 'b1', at } });
    assert.deepEqual(legEventRecord({ type: 'provisional', leg: 'b1', status: 100, reason: 'Trying', body: new Uint8Array(), contentType: undefined }, at), {});
  });

  it('a final answer of the party ends the call by that party; our own timeout does not name it', () => {
    const busy = legEventRecord({ type: 'failed', leg: 'b1', status: 486, reason: 'Busy Here', cause: 'response', reasonHeader: 'Q.850;cause=17' }, at);
    assert.deepEqual(busy, { event: { type: 'failed', leg: 'b1', at, status: 486, statusText: 'Busy Here', cause: 'response', reason: 'Q.850;cause=17' }, endingBy: 'b1' });
    const timeout = legEventRecord({ type: 'failed', leg: 'b1', status: 408, reason: 'Request Timeout', cause: 'timeout' }, at);
    assert.equal(timeout.endingBy, undefined);
  });

  it('a party\'s BYE or CANCEL is its hang-up; a BYE the leg sent itself (session expired) is a release of ours', () => {
    assert.deepEqual(legEventRecord({ type: 'bye', leg: 'a' }, at), { event: { type: 'hangup', leg: 'a', at, cancel: false }, endingBy: 'a', endingAt: at });
    assert.deepEqual(legEventRecord({ type: 'cancelled', leg: 'a', reasonHeader: 'SIP;cause=200' }, at), { event: { type: 'hangup', leg: 'a', at, cancel: true, reason: 'SIP;cause=200' }, endingBy: 'a', endingAt: at });
    assert.deepEqual(legEventRecord({ type: 'bye', leg: 'a', reason: 'session expired' }, at), { event: { type: 'released', leg: 'a', at } });
  });

  it('a BYE that got through late (after a NATS outage) ends the call when the transport first received it', () => {
    const late = legEventRecord({ type: 'bye', leg: 'b1', at: at - 7_000 }, at);
    assert.deepEqual(late, { event: { type: 'hangup', leg: 'b1', at: at - 7_000, cancel: false }, endingBy: 'b1', endingAt: at - 7_000 });
  });

  it('other events note nothing', () => {
    assert.deepEqual(legEventRecord({ type: 'confirmed', leg: 'a' }, at), {});
    assert.deepEqual(legEventRecord({ type: 'ended', leg: 'a', cause: 'bye' }, at), {});
  });
});
