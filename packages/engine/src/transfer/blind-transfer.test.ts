// Blind transfer with REFER (RFC 3515) through the engine's actors with a fake SIP link: the PBX
// refers the carrier to a PSTN number or to a SIP peer on another domain, and the tests check the
// 202 and NOTIFYs, the new leg's INVITE (who it shows calling, a delayed offer), the re-INVITE of
// the remaining party, the release of the transferor, and a transfer of a transferred call.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest, SipUri } from '@switchboard/sip';
import { A_PORT, B_PORT, TEST_TRUNKING, answer, deliver, fromA, isReq, settle } from '../testing/harness.js';
import {
  SDP_B, SDP_C, PBX_NUMBER, CALLED, TARGET, PARTNER, OTHER, CARRIER_HOST, OVERRIDES, trunking, engineWith, bodyOf,
  callIdIs, both, waitFor, takeOne, takeResponse, finalsTo, fromPeer, establish, refer, notifies, takeNotifyAndAnswer,
  takeNewInvite, transferToPstn, transferToPartner, withPbxOrigin,
} from '../testing/transfer-fixtures.js';

describe('transfer: a blind transfer to a PSTN number', () => {
  test('202, NOTIFY 100 → 180 (one outstanding at a time) → 200 only after the answer; the remaining party re-INVITEd with the new SDP under its old origin', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call);

    const accepted = takeResponse(h, A_PORT, 202, 'REFER');
    assert.equal(accepted.reason, 'Accepted');
    const [first, ...more] = notifies(h);
    assert.ok(first, 'NOTIFY #1');
    assert.equal(more.length, 0);
    assert.equal(first.headers.callId, call.ok.headers.callId, 'in the REFER\'s dialog');
    assert.equal(first.headers.get('event'), 'refer');
    assert.match(first.headers.get('subscription-state') ?? '', /^active/);
    assert.equal(first.headers.get('content-type'), 'message/sipfrag;version=2.0');
    assert.equal(bodyOf(first).trim(), 'SIP/2.0 100 Trying');

    const cInvite = takeNewInvite(h, call);
    assert.notEqual(cInvite.headers.callId, call.bInvite.headers.callId);
    assert.ok(cInvite.uri instanceof SipUri);
    assert.equal(cInvite.uri.user, TARGET);
    assert.equal(cInvite.uri.host, CARRIER_HOST);
    assert.equal(cInvite.headers.get('referred-by'), `<sip:${PBX_NUMBER}@switchboard.example>`);
    // no diversionNumber and no DID on the trunk: the transferor's own number
    assert.equal(cInvite.headers.get('diversion'), `<sip:${PBX_NUMBER}@switchboard.example>;reason=unconditional`);
    assert.equal(bodyOf(cInvite), SDP_B, 'the new party is offered the remaining party\'s session');
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0, 'no re-INVITE of the remaining party yet');

    // the 180 while NOTIFY #1 is unanswered: queued until its answer (RFC 6665: one outstanding)
    deliver(h.engine, answer(cInvite, 180, { tag: 'ctag' }), B_PORT);
    await settle();
    assert.equal(notifies(h).length, 0, 'no second NOTIFY while the first is unanswered');
    deliver(h.engine, answer(first, 200), A_PORT);
    await settle();
    const ringing = takeOne<SipRequest>(h, A_PORT, isReq('NOTIFY'), 'NOTIFY 180');
    assert.equal(bodyOf(ringing).trim(), 'SIP/2.0 180 Ringing');
    assert.match(ringing.headers.get('subscription-state') ?? '', /^active/);
    assert.ok((ringing.headers.cseq?.seq ?? 0) > (first.headers.cseq?.seq ?? 0));
    deliver(h.engine, answer(ringing, 200), A_PORT);
    await settle();
    assert.equal(notifies(h).length, 0, 'no final NOTIFY before the target answers');
    assert.equal(h.link.take(A_PORT, isReq('BYE')).length, 0);

    deliver(h.engine, answer(cInvite, 200, { tag: 'ctag', sdp: SDP_C }), B_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, both(isReq('ACK'), callIdIs(cInvite.headers.callId))).length, 1, 'the new leg\'s 200 is ACKed');
    const done = takeOne<SipRequest>(h, A_PORT, isReq('NOTIFY'), 'final NOTIFY');
    assert.equal(bodyOf(done).trim(), 'SIP/2.0 200 OK');
    assert.equal(done.headers.get('subscription-state'), 'terminated;reason=noresource');
    assert.equal(done.headers.get('event'), 'refer');

    const reinvite = takeOne<SipRequest>(h, B_PORT, both(isReq('INVITE'), callIdIs(call.bInvite.headers.callId)), 're-INVITE of the remaining party');
    assert.equal(reinvite.headers.to?.tag, 'btag', 'in the original carrier dialog');
    assert.equal(bodyOf(reinvite), withPbxOrigin(SDP_C, 2), 'the new party\'s SDP, under the origin the carrier saw (o=pbx 1 1), version + 1');
    deliver(h.engine, answer(reinvite, 200, { sdp: SDP_B }), B_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, both(isReq('ACK'), callIdIs(call.bInvite.headers.callId))).length, 1, 'the re-INVITE\'s 200 is ACKed');
    assert.equal(h.link.take(B_PORT, both(isReq('INVITE'), callIdIs(cInvite.headers.callId))).length, 0, 'the remaining party kept its session: no re-INVITE of the new party');
    h.kernel.shutdown();
  });

  test('after the transfer the transferor\'s BYE ends only its leg; the remaining and new parties are bridged', async () => {
    const h = engineWith(trunking(), { transferorByeMs: 50 });
    const call = await establish(h);
    const { cInvite } = await transferToPstn(h, call);
    h.link.sent.splice(0);

    deliver(h.engine, fromA(call.ok, 'BYE', 3), A_PORT);
    await settle();
    takeResponse(h, A_PORT, 200, 'BYE');
    // past transferorByeMs: our own BYE must not follow the transferor's
    await new Promise((r) => setTimeout(r, 120));
    await settle();
    assert.equal(h.link.take(A_PORT, isReq('BYE')).length, 0, 'no BYE to the PBX after its own');
    assert.equal(h.link.take(B_PORT).length, 0, 'the remaining and new legs get nothing');
    assert.equal(h.ctx.calls.size, 1);

    // the remaining party (original carrier leg) now talks to the new party
    deliver(h.engine, fromPeer(call.bInvite, 'btag', 'INFO', 1, B_PORT, CARRIER_HOST, ['Content-Type: application/dtmf-relay'], 'Signal=5\r\nDuration=160\r\n'), B_PORT, 'udp', CARRIER_HOST);
    await settle();
    const info = takeOne<SipRequest>(h, B_PORT, both(isReq('INFO'), callIdIs(cInvite.headers.callId)), 'INFO relayed to the new leg');
    assert.equal(bodyOf(info), 'Signal=5\r\nDuration=160\r\n');
    assert.equal(h.link.take(A_PORT, isReq('INFO')).length, 0);
    h.kernel.shutdown();
  });

  test('the transferor that does not hang up is sent BYE after transferorByeMs; the bridged parties stay', async () => {
    const h = engineWith(trunking(), { transferorByeMs: 50 });
    const call = await establish(h);
    await transferToPstn(h, call);
    h.link.sent.splice(0);

    await waitFor(() => h.link.sent.some((s) => s.to.port === A_PORT && s.message instanceof SipRequest && s.message.method === 'BYE'), 'BYE to the PBX');
    const bye = takeOne<SipRequest>(h, A_PORT, isReq('BYE'), 'BYE');
    assert.equal(bye.headers.callId, call.ok.headers.callId);
    deliver(h.engine, answer(bye, 200), A_PORT);
    await settle();
    assert.equal(h.link.take(B_PORT, isReq('BYE')).length, 0, 'neither carrier leg is hung up');
    assert.equal(h.ctx.calls.size, 1);
    h.kernel.shutdown();
  });
});

describe('transfer: to another domain', () => {
  test('INVITE straight to the located peer: R-URI as referred, Referred-By, no Diversion, no P-Asserted-Identity', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call, [`Refer-To: <sip:bob@${PARTNER.domain}>`]);
    takeResponse(h, A_PORT, 202, 'REFER');
    const sent = h.link.sent.find((s) => s.to.port === PARTNER.port && s.message instanceof SipRequest && s.message.method === 'INVITE');
    assert.ok(sent, 'an INVITE to the partner\'s port');
    assert.equal(sent.to.address, PARTNER.host);
    const cInvite = takeOne<SipRequest>(h, PARTNER.port, isReq('INVITE'), 'INVITE to the partner');
    assert.equal(cInvite.uri.toString(), `sip:bob@${PARTNER.domain}`);
    assert.equal(cInvite.headers.get('diversion'), undefined);
    assert.equal(cInvite.headers.get('p-asserted-identity'), undefined);
    assert.equal(cInvite.headers.get('referred-by'), `<sip:${PBX_NUMBER}@switchboard.example>`);
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0, 'nothing to the carrier');
    assert.equal(h.ctx.limiter.held().get('platform.sip-transfers'), 1, 'the platform-wide SIP-transfer slot is held');
    h.kernel.shutdown();
  });

  test('sipTransfers.maxConcurrent 0: final NOTIFY 503, nothing placed', async () => {
    const h = engineWith(trunking({}, { maxConcurrent: 0, overrides: OVERRIDES }));
    const call = await establish(h);
    await refer(h, call, [`Refer-To: <sip:bob@${PARTNER.domain}>`]);
    takeResponse(h, A_PORT, 202, 'REFER');
    const trying = await takeNotifyAndAnswer(h);
    assert.equal(bodyOf(trying).trim(), 'SIP/2.0 100 Trying');
    const failed = await takeNotifyAndAnswer(h);
    assert.match(bodyOf(failed), /^SIP\/2\.0 503 /);
    assert.equal(failed.headers.get('subscription-state'), 'terminated;reason=noresource');
    assert.equal(h.link.take(PARTNER.port).length, 0);
    assert.equal(h.link.take(B_PORT).length, 0, 'the original call is untouched');
    h.kernel.shutdown();
  });
});

describe('transfer: who the target sees calling', () => {
  test('callerId transferor: From and P-Asserted-Identity carry the PBX\'s number', async () => {
    const h = engineWith(trunking({ transfer: { callerId: 'transferor' } }));
    const call = await establish(h);
    await refer(h, call);
    const cInvite = takeNewInvite(h, call);
    assert.equal((cInvite.headers.from?.uri as SipUri).user, PBX_NUMBER);
    assert.match(cInvite.headers.get('p-asserted-identity') ?? '', new RegExp(`sip:\\${PBX_NUMBER}@`));
    h.kernel.shutdown();
  });

  test('callerId transferee (default): From and P-Asserted-Identity carry the remaining party\'s number', async () => {
    const h = engineWith();
    const call = await establish(h);
    await refer(h, call);
    const cInvite = takeNewInvite(h, call);
    assert.equal((cInvite.headers.from?.uri as SipUri).user, CALLED);
    assert.match(cInvite.headers.get('p-asserted-identity') ?? '', new RegExp(`sip:\\${CALLED}@`));
    h.kernel.shutdown();
  });
});

describe('transfer: chains', () => {
  test('after a transfer to another domain, the new SIP party may transfer again: 202 and a second new leg', async () => {
    const h = engineWith();
    const call = await establish(h);
    const { cInvite } = await transferToPartner(h, call);
    h.link.sent.splice(0);

    deliver(h.engine, fromPeer(cInvite, 'bobtag', 'REFER', 1, PARTNER.port, PARTNER.host, [`Refer-To: <sip:carol@${OTHER.domain}>`]), PARTNER.port, 'udp', PARTNER.host);
    await settle();
    takeResponse(h, PARTNER.port, 202, 'REFER');
    const n = takeOne<SipRequest>(h, PARTNER.port, isReq('NOTIFY'), 'NOTIFY to the new transferor');
    assert.equal(n.headers.callId, cInvite.headers.callId);
    assert.equal(bodyOf(n).trim(), 'SIP/2.0 100 Trying');
    const second = takeOne<SipRequest>(h, OTHER.port, isReq('INVITE'), 'INVITE to the second target');
    assert.equal(second.uri.toString(), `sip:carol@${OTHER.domain}`);
    assert.equal(h.link.take(A_PORT, isReq('NOTIFY')).length, 0, 'the first transferor is not told');
    h.kernel.shutdown();
  });

  test('the SIP party on another domain may not bill the trunk: its REFER to a number on the trunk → 403 PSTN Transfer Not Allowed', async () => {
    const h = engineWith();
    const call = await establish(h);
    const { cInvite } = await transferToPartner(h, call);
    h.link.sent.splice(0);
    deliver(h.engine, fromPeer(cInvite, 'bobtag', 'REFER', 1, PARTNER.port, PARTNER.host, ['Refer-To: <sip:+14155553000@switchboard.example>']), PARTNER.port, 'udp', PARTNER.host);
    await settle();
    const refused = takeResponse(h, PARTNER.port, 403, 'REFER');
    assert.equal(refused.reason, 'PSTN Transfer Not Allowed');
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0, 'nothing placed on the trunk');
    h.kernel.shutdown();
  });

  test('after a transfer to a PSTN number, the new PSTN party\'s REFER → 403', async () => {
    const h = engineWith();
    const call = await establish(h);
    const { cInvite } = await transferToPstn(h, call);
    h.link.sent.splice(0);

    deliver(h.engine, fromPeer(cInvite, 'ctag', 'REFER', 1, B_PORT, CARRIER_HOST, ['Refer-To: <sip:+14155553000@switchboard.example>']), B_PORT, 'udp', CARRIER_HOST);
    await settle();
    const [refused, ...more] = finalsTo(h, B_PORT, 'REFER');
    assert.equal(more.length, 0);
    assert.equal(refused?.status, 403);
    assert.equal(h.link.take(B_PORT, isReq('INVITE')).length, 0);
    h.kernel.shutdown();
  });
});

describe('transfer: a carrier configured for delayed offer (RFC 3725)', () => {
  test('the new INVITE has no SDP; the carrier\'s offer re-points the remaining party; the ACK carries the remaining party\'s session', async () => {
    const delayed = { ...trunking(), carriers: [{ ...TEST_TRUNKING.carriers[0], offer: 'delayed' }] };
    const h = engineWith(delayed);
    const call = await establish(h);
    await refer(h, call);
    takeResponse(h, A_PORT, 202, 'REFER');
    await takeNotifyAndAnswer(h);
    const cInvite = takeNewInvite(h, call);
    assert.equal(cInvite.body.length, 0, 'no offer in the new INVITE');
    deliver(h.engine, answer(cInvite, 200, { tag: 'ctag', sdp: SDP_C }), B_PORT);
    await settle();
    const ack = takeOne<SipRequest>(h, B_PORT, both(isReq('ACK'), callIdIs(cInvite.headers.callId)), 'ACK to the new leg');
    assert.equal(bodyOf(ack).replace(/^o=.*$/m, ''), SDP_B.replace(/^o=.*$/m, ''), 'the remaining party\'s session answers the carrier\'s offer');
    const reinvite = takeOne<SipRequest>(h, B_PORT, both(isReq('INVITE'), callIdIs(call.bInvite.headers.callId)), 're-INVITE of the remaining party');
    assert.match(bodyOf(reinvite), /m=audio 7000 /, 'the carrier\'s media');
    h.kernel.shutdown();
  });
});
