// A transfer that goes wrong once under way: the transferor drops the subscription (NOTIFY
// 481), the new leg is refused, or the remaining party hangs up while the new leg rings —
// through the engine's actors with a fake SIP link.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, fromA, isReq, settle } from '../testing/harness.js';
import {
  SDP_C, CARRIER_HOST, trunking, engineWith, type Harness, bodyOf, callIdIs, both, takeOne, takeResponse,
  fromPeer, establish, refer, notifies, takeNotifyAndAnswer, takeNewInvite, withPbxOrigin,
} from '../testing/transfer-fixtures.js';
import { VirtualTime } from '../testing/virtual-time.js';

describe('transfer: the subscription', () => {
  test('the transferor answers NOTIFY 481: no more NOTIFYs, but the transfer completes', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call);
    takeResponse(h, A_PORT, 202, 'REFER');
    await takeNotifyAndAnswer(h, A_PORT, 481);
    const cInvite = takeNewInvite(h, call);
    deliver(h.engine, answer(cInvite, 180, { tag: 'ctag' }), B_PORT);
    await settle();
    assert.equal(notifies(h).length, 0, 'no NOTIFY 180 after the 481');
    deliver(h.engine, answer(cInvite, 200, { tag: 'ctag', sdp: SDP_C }), B_PORT);
    await settle();
    assert.equal(notifies(h).length, 0, 'no final NOTIFY after the 481');
    const reinvite = takeOne<SipRequest>(h, B_PORT, both(isReq('INVITE'), callIdIs(call.bInvite.headers.callId)), 're-INVITE of the remaining party');
    assert.equal(bodyOf(reinvite), withPbxOrigin(SDP_C, 2));
    h.kernel.shutdown();
  });
});

describe('transfer: when the new leg fails', () => {
  test('486 from the target: final NOTIFY 486, no BYE to anyone, the original call still relays INFO both ways', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call);
    takeResponse(h, A_PORT, 202, 'REFER');
    await takeNotifyAndAnswer(h);
    const cInvite = takeNewInvite(h, call);
    deliver(h.engine, answer(cInvite, 486, { tag: 'ctag' }), B_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, both(isReq('ACK'), callIdIs(cInvite.headers.callId))).length, 1, 'the 486 is ACKed');
    const failed = await takeNotifyAndAnswer(h);
    assert.equal(bodyOf(failed).trim(), 'SIP/2.0 486 Busy Here');
    assert.equal(failed.headers.get('subscription-state'), 'terminated;reason=noresource');
    await settle();
    assert.equal(h.link.take(A_PORT, isReq('BYE')).length, 0);
    assert.equal(h.link.take(B_PORT, isReq('BYE')).length, 0);
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0, 'no re-INVITE: the remaining party is untouched');

    deliver(h.engine, fromA(call.ok, 'INFO', 3, ['Content-Type: application/dtmf-relay'], 'Signal=1\r\nDuration=160\r\n'), A_PORT);
    await settle();
    const toCarrier = takeOne<SipRequest>(h, B_PORT, isReq('INFO'), 'INFO to the carrier');
    assert.equal(toCarrier.headers.callId, call.bInvite.headers.callId);
    deliver(h.engine, answer(toCarrier, 200), B_PORT);
    await settle();
    takeResponse(h, A_PORT, 200, 'INFO');

    deliver(h.engine, fromPeer(call.bInvite, 'btag', 'INFO', 1, B_PORT, CARRIER_HOST, ['Content-Type: application/dtmf-relay'], 'Signal=2\r\nDuration=160\r\n'), B_PORT, 'udp', CARRIER_HOST);
    await settle();
    const toPbx = takeOne<SipRequest>(h, A_PORT, isReq('INFO'), 'INFO to the PBX');
    assert.equal(toPbx.headers.callId, call.ok.headers.callId);
    deliver(h.engine, answer(toPbx, 200), A_PORT);
    await settle();
    takeResponse(h, B_PORT, 200, 'INFO');
    assert.equal(h.ctx.calls.size, 1);
    h.kernel.shutdown();
  });
});

describe('transfer: the remaining party hangs up while the new leg rings', () => {
  /** A call whose PBX referred it to TARGET, the new leg ringing (180), both NOTIFYs answered. */
  async function ringing(h: Harness) {
    const call = await establish(h);
    await refer(h, call);
    takeResponse(h, A_PORT, 202, 'REFER');
    await takeNotifyAndAnswer(h);
    const cInvite = takeNewInvite(h, call);
    deliver(h.engine, answer(cInvite, 180, { tag: 'ctag' }), B_PORT);
    await settle();
    await takeNotifyAndAnswer(h);
    h.link.sent.splice(0);
    deliver(h.engine, fromPeer(call.bInvite, 'btag', 'BYE', 1, B_PORT, CARRIER_HOST), B_PORT, 'udp', CARRIER_HOST);
    await settle();
    return { call, cInvite };
  }

  test('a 200 from the new leg that crosses our CANCEL is ACKed and hung up with BYE (nobody is on that call)', async () => {
    const h = engineWith();
    const { cInvite } = await ringing(h);
    h.link.take(B_PORT, isReq('CANCEL'));
    deliver(h.engine, answer(cInvite, 200, { tag: 'ctag', sdp: 'v=0\r\no=c 1 1 IN IP4 192.0.2.30\r\ns=-\r\nc=IN IP4 192.0.2.30\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n' }), B_PORT);
    await settle();
    const sent = h.link.take(B_PORT, (m) => m instanceof SipRequest && m.headers.callId === cInvite.headers.callId && (m.method === 'ACK' || m.method === 'BYE'));
    assert.deepEqual(sent.map((m) => (m as SipRequest).method), ['ACK', 'BYE']);
    h.kernel.shutdown();
  });

  test('CANCEL to the new leg, final NOTIFY 487, then (once it is answered) BYE to the PBX', async () => {
    const h = engineWith();
    const { call, cInvite } = await ringing(h);
    takeResponse(h, B_PORT, 200, 'BYE');
    const cancel = takeOne<SipRequest>(h, B_PORT, isReq('CANCEL'), 'CANCEL');
    assert.equal(cancel.headers.callId, cInvite.headers.callId);
    assert.equal(cancel.headers.topVia?.branch, cInvite.headers.topVia?.branch);
    const [last, ...more] = notifies(h);
    assert.equal(more.length, 0);
    assert.ok(last, 'a final NOTIFY to the PBX');
    assert.equal(bodyOf(last).trim(), 'SIP/2.0 487 Request Terminated');
    assert.equal(last.headers.get('subscription-state'), 'terminated;reason=noresource');
    // the transferor hears how its transfer ended before the engine hangs up on it
    assert.equal(h.link.take(A_PORT, isReq('BYE')).length, 0, 'no BYE before the final NOTIFY is answered');
    deliver(h.engine, answer(last, 200), A_PORT);
    await settle();
    const bye = takeOne<SipRequest>(h, A_PORT, isReq('BYE'), 'BYE to the PBX');
    assert.equal(bye.headers.callId, call.ok.headers.callId);
    h.kernel.shutdown();
  });

  test('once every party has answered, no call and no actor is left', async (t) => {
    // virtual time: on a busy machine a real T1 of 10 ms retransmits a request between two steps
    // of the test (one INVITE to the carrier, one NOTIFY to the PBX, seen twice)
    const clock = new VirtualTime(t);
    const h = engineWith(trunking(), {}, { t1: 10, t2: 40, t4: 10 });
    const baseline = h.kernel.size;
    const { cInvite } = await ringing(h);
    for (const cancel of h.link.take(B_PORT, isReq('CANCEL'))) deliver(h.engine, answer(cancel, 200, { tag: 'ctag' }), B_PORT);
    deliver(h.engine, answer(cInvite, 487, { tag: 'ctag' }), B_PORT);
    for (const req of h.link.take(A_PORT, (m) => m instanceof SipRequest && (m.method === 'BYE' || m.method === 'NOTIFY'))) deliver(h.engine, answer(req, 200), A_PORT);
    await settle();
    // a NOTIFY sent after these answers (the final one, if late) is answered too
    for (const req of h.link.take(A_PORT, isReq('NOTIFY'))) deliver(h.engine, answer(req, 200), A_PORT);
    // the longest a transaction outlives its last message is Timer D, 32 s on UDP (§17.1.1.2)
    await clock.until(() => h.ctx.calls.size === 0, 'the call is gone', 32_000);
    await clock.until(() => h.kernel.size === baseline, `every actor stopped (size ${h.kernel.size}, was ${baseline})`, 32_000);
    assert.equal([...h.ctx.limiter.held().values()].reduce((a, b) => a + b, 0), 0, 'no limit slot left');
    h.kernel.shutdown();
  });
});
