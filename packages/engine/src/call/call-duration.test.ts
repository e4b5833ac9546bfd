// A call nobody ends (a lost BYE, a peer that gave up during a NATS outage) ends at its trunk's
// maximum duration: both parties get BYE with a Reason saying why, and so does its record.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_DURATION_REASON } from './call-actor.js';
import { RECORD_GRACE_MS } from '../records/cdr-actor.js';
import { A_PORT, B_PORT, TEST_TRUNKING, answer, deliver, fromA, isReq, makeEngine } from '../testing/harness.js';
import { establish, takeOne } from '../testing/transfer-fixtures.js';
import { VirtualTime } from '../testing/virtual-time.js';

const [acme] = TEST_TRUNKING.trunks;
const withMaxCall = (maxCallSeconds: number) => ({ ...TEST_TRUNKING, trunks: [{ ...acme, restrictions: { maxCallSeconds } }] });


describe('call: the trunk\'s maximum call duration', () => {
  test('reached: both parties get BYE with a Reason; the record is ended by us and says why', async (t) => {
    // virtual time: on a busy machine a real wait past the maximum also lets Timer E retransmit the BYEs
    const clock = new VirtualTime(t);
    const h = makeEngine(undefined, undefined, undefined, { trunking: withMaxCall(1) });
    t.after(() => h.kernel.shutdown());
    await establish(h);
    await clock.advance(900, 100);
    assert.equal(h.link.take(A_PORT, isReq('BYE')).length + h.link.take(B_PORT, isReq('BYE')).length, 0, 'not before its maximum');
    assert.equal(h.ctx.deadlines.size, 1);
    // deadlines are kept to the second (call-deadlines.ts): within a second after the maximum
    await clock.advance(1_100, 100);
    const byeA = takeOne(h, A_PORT, isReq('BYE'), 'BYE to the PBX');
    const byeB = takeOne(h, B_PORT, isReq('BYE'), 'BYE to the carrier');
    assert.equal(byeA.headers.get('reason'), MAX_DURATION_REASON);
    assert.equal(byeB.headers.get('reason'), MAX_DURATION_REASON);
    deliver(h.engine, answer(byeA, 200, { port: A_PORT }), A_PORT);
    deliver(h.engine, answer(byeB, 200), B_PORT);
    await clock.until(() => h.records.length > 0, 'the record', 2 * RECORD_GRACE_MS, 100);
    const [record] = h.records;
    assert.equal(record?.disposition, 'answered');
    assert.equal(record?.endedBy, 'system');
    assert.equal(record?.reason, MAX_DURATION_REASON);
    assert.equal(h.ctx.counters.get('calls.max-duration'), 1);
    assert.equal(h.ctx.calls.size, 0, 'the call is gone');
    assert.equal(h.ctx.deadlines.size, 0);
  });

  test('a call hung up before its maximum leaves no deadline behind', async (t) => {
    const clock = new VirtualTime(t);
    const h = makeEngine(undefined, undefined, undefined, { trunking: withMaxCall(60) });
    t.after(() => h.kernel.shutdown());
    const call = await establish(h);
    assert.equal(h.ctx.deadlines.size, 1);
    deliver(h.engine, fromA(call.ok, 'BYE', 2), A_PORT);
    await clock.advance(100, 10);
    deliver(h.engine, answer(takeOne(h, B_PORT, isReq('BYE'), 'BYE to the carrier'), 200), B_PORT);
    await clock.until(() => h.ctx.calls.size === 0, 'the call gone', 5_000, 100);
    assert.equal(h.ctx.deadlines.size, 0, 'its deadline was cancelled');
  });

  test('0 is no limit: the call stays up', async (t) => {
    const clock = new VirtualTime(t);
    const h = makeEngine(undefined, undefined, undefined, { trunking: withMaxCall(0) });
    t.after(() => h.kernel.shutdown());
    await establish(h);
    await clock.advance(5 * 3_600_000, 60_000); // past the default maximum (4 h)
    assert.equal(h.link.take(A_PORT, isReq('BYE')).length + h.link.take(B_PORT, isReq('BYE')).length, 0);
    assert.equal(h.ctx.calls.size, 1);
  });
});
