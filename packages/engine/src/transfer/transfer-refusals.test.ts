// REFERs the engine refuses (RFC 3515 §2.4.2) or stops before dialling: the trunk's transfer
// settings, malformed or looping REFERs, one transfer at a time, and the trunk's limits on the
// new leg — through the engine's actors with a fake SIP link.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest, SipUri } from '@switchboard/sip';
import { LocalCallLimiter } from '@switchboard/limits';
import { A_PORT, B_PORT, answer, deliver, isReq, settle } from '../testing/harness.js';
import {
  CALLED, TARGET, REFER_TO, PARTNER, OTHER, CARRIER_HOST, trunking, engineWith, bodyOf, takeOne, takeResponse, finalsTo,
  fromPeer, establish, refer, notifies, takeNotifyAndAnswer, takeNewInvite, transferToPartner,
} from '../testing/transfer-fixtures.js';

describe('transfer: the trunk\'s transfer settings', () => {
  test('mode disabled: 403, nothing placed', async () => {
    const h = engineWith(trunking({ transfer: { mode: 'disabled' } }));
    const call = await establish(h);
    await refer(h, call);
    const [refused, ...more] = finalsTo(h, A_PORT, 'REFER');
    assert.equal(more.length, 0);
    assert.equal(refused?.status, 403);
    assert.equal(notifies(h).length, 0);
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0);
    h.kernel.shutdown();
  });

  test('diversionNumber: the new PSTN leg\'s Diversion names it', async () => {
    const h = engineWith(trunking({ transfer: { diversionNumber: '+14155559999' } }));
    const call = await establish(h);
    await refer(h, call);
    const cInvite = takeNewInvite(h, call);
    assert.equal(cInvite.headers.get('diversion'), '<sip:+14155559999@switchboard.example>;reason=unconditional');
    h.kernel.shutdown();
  });

  test('mode sip-only: a number on the trunk\'s domain → 403 PSTN Transfer Not Allowed; another domain → 202', async () => {
    const h = engineWith(trunking({ transfer: { mode: 'sip-only' } }));
    const call = await establish(h);
    await refer(h, call);
    const refused = takeResponse(h, A_PORT, 403, 'REFER');
    assert.equal(refused.reason, 'PSTN Transfer Not Allowed');
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0);

    await refer(h, call, [`Refer-To: <sip:bob@${PARTNER.domain}>`], 3);
    takeResponse(h, A_PORT, 202, 'REFER');
    assert.equal(h.link.take(PARTNER.port, isReq('INVITE')).length, 1);
    h.kernel.shutdown();
  });

  test('mode pstn-only: another domain → 403 SIP Transfer Not Allowed; a number on the trunk\'s domain → 202', async () => {
    const h = engineWith(trunking({ transfer: { mode: 'pstn-only' } }));
    const call = await establish(h);
    await refer(h, call, [`Refer-To: <sip:bob@${PARTNER.domain}>`]);
    const refused = takeResponse(h, A_PORT, 403, 'REFER');
    assert.equal(refused.reason, 'SIP Transfer Not Allowed');
    assert.equal(h.link.take(PARTNER.port, isReq('INVITE')).length, 0);

    await refer(h, call, undefined, 3);
    takeResponse(h, A_PORT, 202, 'REFER');
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 1);
    h.kernel.shutdown();
  });

  test('maxPerCall 1: after a failed transfer, the next REFER → 403 Too Many Transfers', async () => {
    const h = engineWith(trunking({ transfer: { maxPerCall: 1 } }));
    const call = await establish(h);
    await refer(h, call);
    takeResponse(h, A_PORT, 202, 'REFER');
    await takeNotifyAndAnswer(h);
    deliver(h.engine, answer(takeNewInvite(h, call), 486, { tag: 'ctag' }), B_PORT);
    await settle();
    const failed = await takeNotifyAndAnswer(h);
    assert.equal(bodyOf(failed).trim(), 'SIP/2.0 486 Busy Here');
    h.link.sent.splice(0);

    await refer(h, call, [REFER_TO], 3);
    const refused = takeResponse(h, A_PORT, 403, 'REFER');
    assert.equal(refused.reason, 'Too Many Transfers');
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0);
    h.kernel.shutdown();
  });

  test('maxPerCall 1: after a completed transfer to another domain, the new party\'s REFER → 403 Too Many Transfers', async () => {
    const h = engineWith(trunking({ transfer: { maxPerCall: 1 } }));
    const call = await establish(h);
    const { cInvite } = await transferToPartner(h, call);
    h.link.sent.splice(0);

    deliver(h.engine, fromPeer(cInvite, 'bobtag', 'REFER', 1, PARTNER.port, PARTNER.host, [`Refer-To: <sip:carol@${OTHER.domain}>`]), PARTNER.port, 'udp', PARTNER.host);
    await settle();
    const refused = takeResponse(h, PARTNER.port, 403, 'REFER');
    assert.equal(refused.reason, 'Too Many Transfers');
    assert.equal(h.link.take(OTHER.port).length, 0);
    h.kernel.shutdown();
  });
});

describe('transfer: REFERs that are refused', () => {
  test('a REFER from the carrier side → 403 Transfer Not Allowed, nothing sent toward the PBX', async () => {
    const h = engineWith();
    const call = await establish(h);
    deliver(h.engine, fromPeer(call.bInvite, 'btag', 'REFER', 1, B_PORT, CARRIER_HOST, [`Refer-To: <sip:${TARGET}@switchboard.example>`]), B_PORT, 'udp', CARRIER_HOST);
    await settle();
    const refused = takeResponse(h, B_PORT, 403, 'REFER');
    assert.equal(refused.reason, 'Transfer Not Allowed');
    assert.equal(h.link.take(A_PORT).length, 0, 'the PBX sees nothing (no REFER relayed, no NOTIFY)');
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0);
    h.kernel.shutdown();
  });

  test('no Refer-To → 400 Missing Refer-To', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call, []);
    const refused = takeResponse(h, A_PORT, 400, 'REFER');
    assert.equal(refused.reason, 'Missing Refer-To');
    assert.equal(h.link.take(B_PORT).length, 0);
    h.kernel.shutdown();
  });

  test('a REFER whose CSeq is not below 2**31 → 400 Bad CSeq, and the call stays up', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call, undefined, 2 ** 31);
    const refused = takeResponse(h, A_PORT, 400, 'REFER');
    assert.equal(refused.reason, 'Bad CSeq');
    assert.equal(h.link.take(A_PORT, isReq('BYE')).length + h.link.take(B_PORT, isReq('BYE')).length, 0, 'no party hung up');
    assert.equal(h.ctx.calls.size, 1);
    h.kernel.shutdown();
  });

  test('a Refer-To whose Replaces names no dialog of ours → 202, then final NOTIFY 481; nothing dialled', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call, [`Refer-To: <sip:${TARGET}@switchboard.example?Replaces=c9%40pbx.example%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>`]);
    takeResponse(h, A_PORT, 202, 'REFER');
    await takeNotifyAndAnswer(h);
    await settle();
    const [last] = notifies(h);
    assert.ok(last, 'a final NOTIFY');
    assert.equal(bodyOf(last).trim(), 'SIP/2.0 481 Call/Transaction Does Not Exist');
    assert.equal(last.headers.get('subscription-state'), 'terminated;reason=noresource');
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0);
    h.kernel.shutdown();
  });

  test('a REFER while a transfer is in progress → 491; only one new leg', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call);
    takeResponse(h, A_PORT, 202, 'REFER');
    await refer(h, call, ['Refer-To: <sip:+14155553000@switchboard.example>'], 3);
    takeResponse(h, A_PORT, 491, 'REFER');
    const invite = takeOne<SipRequest>(h, B_PORT, isReq('INVITE'), 'new INVITE');
    assert.equal((invite.uri as SipUri).user, TARGET, 'the first REFER\'s target, not the second\'s');
    h.kernel.shutdown();
  });

  test('a Refer-To naming the call\'s own remote number → 403 Transfer Loop', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call, [`Refer-To: <sip:${CALLED}@switchboard.example>`]);
    const refused = takeResponse(h, A_PORT, 403, 'REFER');
    assert.equal(refused.reason, 'Transfer Loop');
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0);
    h.kernel.shutdown();
  });
});

describe('transfer: the new PSTN leg passes the trunk\'s limits', () => {
  test('maxConcurrent 1 held by the original call: final NOTIFY 503, the original call stays', async () => {
    const limiter = new LocalCallLimiter();
    const h = engineWith(trunking({ restrictions: { maxConcurrent: 1 } }), { limiter });
    const call = await establish(h);
    assert.deepEqual([...limiter.held()], [['trunk.acme', 1]]);
    await refer(h, call);
    takeResponse(h, A_PORT, 202, 'REFER');
    await takeNotifyAndAnswer(h);
    const failed = await takeNotifyAndAnswer(h);
    assert.match(bodyOf(failed), /^SIP\/2\.0 503 /);
    assert.equal(failed.headers.get('subscription-state'), 'terminated;reason=noresource');
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0, 'no new leg');
    assert.equal(h.link.take(A_PORT, isReq('BYE')).length, 0);
    assert.equal(h.link.take(B_PORT, isReq('BYE')).length, 0);
    assert.equal(h.ctx.calls.size, 1);
    assert.deepEqual([...limiter.held()], [['trunk.acme', 1]], 'the original call keeps its slot, and only it');
    h.kernel.shutdown();
  });
});
