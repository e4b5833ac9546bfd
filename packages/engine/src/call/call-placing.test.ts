// The INVITE the call actor places (delayed offer, topology hiding, caller ID), its CANCEL,
// and origination calls from a carrier to a DID — through the engine with a fake SIP link.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipUri } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, inviteFromA, isReq, isRes, makeEngine, settle } from '../testing/harness.js';
import {
  SDP_B, C1, PBX1, PBX2, CARRIER_SOURCE, CARRIER_PORT, DID, carrier, trunking, originationTrunking, engineWith, text,
  bodyOf, cancelOf, takeInvite, takeFinal,
} from '../testing/call-fixtures.js';

describe('call actor: cancelling a placed attempt', () => {
  test('a CANCEL waits for the carrier\'s first provisional (§9.1: MUST NOT be sent before one)', async (t) => {
    const h = engineWith(trunking([carrier('carrierB', C1)]));
    t.after(() => h.kernel.shutdown());
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    const bInvite = takeInvite(h, C1);
    deliver(h.engine, cancelOf(invite), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(487, 'INVITE')).length, 1);
    assert.equal(h.link.take(C1, isReq('CANCEL')).length, 0, 'no CANCEL before a provisional');
    deliver(h.engine, answer(bInvite, 180), C1);
    await settle();
    assert.equal(h.link.take(C1, isReq('CANCEL')).length, 1, 'CANCEL once the 180 arrived');
  });
});

describe('call actor: the INVITE it places', () => {
  test('delayed offer: the INVITE goes without SDP, the ACK carries the caller\'s, the caller gets the carrier\'s', async () => {
    const h = engineWith(trunking([carrier('carrierB', C1, { offer: 'delayed' })]));
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    const bInvite = takeInvite(h, C1);
    assert.equal(bInvite.body.length, 0);
    assert.equal(bInvite.headers.get('content-type'), undefined);
    deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), C1);
    await settle();
    const [ack] = h.link.take(C1, isReq('ACK'));
    assert.ok(ack);
    assert.match(bodyOf(ack), /^v=0\r\no=pbx 1 1 IN IP4 192\.0\.2\.10/);
    assert.equal(ack.headers.get('content-type'), 'application/sdp');
    const ok = takeFinal(h, A_PORT);
    assert.equal(ok.status, 200);
    assert.equal(bodyOf(ok), SDP_B);
    h.kernel.shutdown();
  });

  test('topology hiding: nothing of the caller\'s headers, the caller as P-Asserted-Identity, an E.164 user=phone R-URI, Max-Forwards less one', async () => {
    const h = makeEngine();
    const invite = inviteFromA({ headers: ['User-Agent: PBX-9000', 'X-Internal: extension 42', 'Record-Route: <sip:edge.pbx.example;lr>'] })
      .replace('Max-Forwards: 70', 'Max-Forwards: 12')
      .replace('INVITE sip:+14155550100@', 'INVITE sip:14155550100@');
    deliver(h.engine, invite, A_PORT);
    await settle();
    const bInvite = takeInvite(h, B_PORT);
    const wire = text(bInvite);
    const head = wire.slice(0, wire.indexOf('\r\n\r\n'));
    assert.notEqual(bInvite.headers.callId, /Call-ID: (\S+)/.exec(invite)?.[1]);
    assert.doesNotMatch(wire, /pbx\.example/i);
    assert.doesNotMatch(head, /PBX-9000|X-Internal|Record-Route|sip:pbx@/i);
    assert.equal(bInvite.headers.via.length, 1);
    assert.equal(bInvite.headers.maxForwards, 11);
    const pai = bInvite.headers.getAll('p-asserted-identity');
    assert.equal(pai.length, 1);
    assert.match(pai[0] ?? '', /^<sip:\+12125550123@[^>]*;user=phone>$/);
    const ruri = bInvite.uri as SipUri;
    assert.equal(ruri.user, DID);
    assert.equal(ruri.param('user'), 'phone');
    assert.equal(ruri.host, '127.0.0.9');
    assert.equal((bInvite.headers.from?.uri as SipUri | undefined)?.user, '+12125550123');
    assert.equal(bInvite.headers.get('privacy'), undefined);
    h.kernel.shutdown();
  });

  test('a caller withholding its number: anonymous From, Privacy: id, the number only in P-Asserted-Identity', async () => {
    const h = makeEngine();
    deliver(h.engine, inviteFromA({ headers: ['Privacy: id'] }), A_PORT);
    await settle();
    const bInvite = takeInvite(h, B_PORT);
    assert.equal((bInvite.headers.from?.uri as SipUri | undefined)?.user, 'anonymous');
    assert.equal(bInvite.headers.get('privacy'), 'id');
    assert.match(bInvite.headers.get('p-asserted-identity') ?? '', /\+12125550123/);
    assert.doesNotMatch(bInvite.headers.get('from') ?? '', /2125550123/);
    h.kernel.shutdown();
  });

  test('e164-digits carrier: R-URI and asserted number without "+"', async () => {
    const h = engineWith(trunking([carrier('carrierB', C1, { numberFormat: 'e164-digits' })]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const bInvite = takeInvite(h, C1);
    assert.equal((bInvite.uri as SipUri).user, '14155550100');
    assert.match(bInvite.headers.get('p-asserted-identity') ?? '', /^<sip:12125550123@/);
    h.kernel.shutdown();
  });
});

describe('call actor: origination', () => {
  test('an INVITE from a carrier to a DID goes to the trunk\'s first origination URI with the DID as R-URI user', async () => {
    const h = engineWith(originationTrunking());
    const invite = inviteFromA().replace('INVITE sip:+14155550100@', 'INVITE sip:14155550100@');
    deliver(h.engine, invite, CARRIER_PORT, 'udp', CARRIER_SOURCE);
    await settle();
    assert.equal(h.link.take(CARRIER_PORT, isRes(100)).length, 1);
    const pbxInvite = takeInvite(h, PBX1);
    assert.equal(h.link.take(PBX2, isReq('INVITE')).length, 0);
    const ruri = pbxInvite.uri as SipUri;
    assert.equal(ruri.user, DID);
    assert.equal(ruri.host, '127.0.0.1');
    assert.equal(ruri.port, PBX1);
    assert.equal((pbxInvite.headers.from?.uri as SipUri | undefined)?.user, '+12125550123');
    assert.match(bodyOf(pbxInvite), /o=pbx 1 1/);
    deliver(h.engine, answer(pbxInvite, 200, { sdp: SDP_B, port: PBX1 }), PBX1);
    await settle();
    assert.equal(h.link.take(PBX1, isReq('ACK')).length, 1);
    const ok = takeFinal(h, CARRIER_PORT);
    assert.equal(ok.status, 200);
    assert.equal(bodyOf(ok), SDP_B);
    h.kernel.shutdown();
  });

  test('an INVITE from a carrier to a number no trunk has: 404', async () => {
    const h = engineWith(originationTrunking());
    deliver(h.engine, inviteFromA().replace('INVITE sip:+14155550100@', 'INVITE sip:+14155550199@'), CARRIER_PORT, 'udp', CARRIER_SOURCE);
    await settle();
    assert.equal(takeFinal(h, CARRIER_PORT).status, 404);
    assert.equal(h.ctx.counters.get('refused.unknown-did'), 1);
    assert.equal(h.link.take(PBX1).length + h.link.take(PBX2).length, 0);
    h.kernel.shutdown();
  });
});
