// Call transfer with REFER (RFC 3515) through the engine's actors with a fake SIP link: a
// termination call (the PBX at 127.0.0.1 is trunk `acme`, the carrier at 127.0.0.9) is
// established, the PBX refers the carrier to a third party, and the tests check what each
// party is sent — the 202 and NOTIFYs, the new leg's INVITE, the re-INVITE of the remaining
// party, the release of the transferor — and what is refused.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest, SipResponse, SipUri, type SipMessage } from '@switchboard/sip';
import {
  A_PORT, B_PORT, TEST_TRUNKING, answer, deliver, fromA, inviteFromA, isReq, isRes, makeEngine, settle, type EngineOptions,
} from '../testing/harness.js';
import { LocalCallLimiter } from '@switchboard/limits';
import { scopeOf } from '@switchboard/wire';
import type { JoinReply } from '../protocol/bridge-messages.js';
import type { TimerSettings } from '@switchboard/transactions';

/** What the carrier answered the call with (the remaining party's session). */
const SDP_B = 'v=0\r\no=carrier 9 9 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';
/** What the transfer target answers with. */
const SDP_C = 'v=0\r\no=newparty 5 5 IN IP4 203.0.113.7\r\ns=-\r\nc=IN IP4 203.0.113.7\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n';

/** The PBX's number (From of inviteFromA) and the number it called (the remaining party). */
const PBX_NUMBER = '+12125550123';
const CALLED = '+14155550100';
const TARGET = '+14155552000';
const REFER_TO = `Refer-To: <sip:${TARGET}@switchboard.example>`;

/** A SIP peer on another domain, reached through the locator's overrides (no DNS in unit tests). */
const PARTNER = { domain: 'partner.example', host: '127.0.0.50', port: 5090 };
const OTHER = { domain: 'other.example', host: '127.0.0.51', port: 5091 };
const CARRIER_HOST = '127.0.0.9';

const OVERRIDES = [
  { domain: PARTNER.domain, addresses: [{ host: PARTNER.host, port: PARTNER.port }] },
  { domain: OTHER.domain, addresses: [{ host: OTHER.host, port: OTHER.port }] },
];

/** TEST_TRUNKING with the trunk's fields overridden, and the platform's SIP transfer settings. */
function trunking(trunk: Record<string, unknown> = {}, sipTransfers: Record<string, unknown> = { overrides: OVERRIDES }) {
  const [acme] = TEST_TRUNKING.trunks;
  return { carriers: TEST_TRUNKING.carriers, trunks: [{ ...acme, ...trunk }], sipTransfers };
}

function engineWith(config: unknown = trunking(), options: Omit<EngineOptions, 'trunking'> = {}, timers?: TimerSettings) {
  return makeEngine(timers, undefined, undefined, { ...options, trunking: config });
}

type Harness = ReturnType<typeof makeEngine>;

interface Call {
  ok: SipResponse;
  bInvite: SipRequest;
}

const bodyOf = (m: SipMessage | undefined) => Buffer.from(m?.body ?? []).toString();
const callIdIs = (id: string | undefined) => (m: SipMessage) => m.headers.callId === id;
const both = (...checks: ((m: SipMessage) => boolean)[]) => (m: SipMessage) => checks.every((c) => c(m));
const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
};

/** The one message to `port` that `match` accepts, sent since the last take. */
function takeOne<T extends SipMessage>(h: Harness, port: number, match: (m: SipMessage) => boolean, what: string): T {
  const all = h.link.take(port, match);
  assert.equal(all.length, 1, `one ${what} to port ${port}, got ${all.length}`);
  return all[0] as T;
}

/** The engine's response to a request, by status and method. */
function takeResponse(h: Harness, port: number, status: number, method: string): SipResponse {
  return takeOne<SipResponse>(h, port, isRes(status, method), `${status} to ${method}`);
}

/** The final responses to `method` sent to `port` (to see a refusal whatever its status). */
function finalsTo(h: Harness, port: number, method: string): SipResponse[] {
  return h.link.take(port, (m) => m instanceof SipResponse && m.status >= 200 && m.headers.cseq?.method === method) as SipResponse[];
}

/**
 * A request from the far end of a leg the engine placed (the carrier, or a transfer target):
 * From is the INVITE's To with the peer's tag, To is the INVITE's From (our tag), the
 * request goes to the Contact we sent.
 */
function fromPeer(invite: SipRequest, tag: string, method: string, cseq: number, port: number, host: string, extra: string[] = [], body = ''): string {
  return [
    `${method} ${invite.headers.contact[0]?.uri.toString() ?? 'sip:sb@127.0.0.1:5060'} SIP/2.0`,
    `Via: SIP/2.0/UDP ${host}:${port};branch=z9hG4bKp${method.toLowerCase()}${cseq}${Math.random().toString(36).slice(2)}`,
    'Max-Forwards: 70',
    `From: ${invite.headers.get('to')};tag=${tag}`,
    `To: ${invite.headers.get('from')}`,
    `Call-ID: ${invite.headers.callId}`,
    `CSeq: ${cseq} ${method}`,
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** A termination call from the PBX, answered by the carrier with SDP_B and ACKed; the link is emptied afterwards. */
async function establish(h: Harness): Promise<Call> {
  deliver(h.engine, inviteFromA(), A_PORT);
  await settle();
  const bInvite = takeOne<SipRequest>(h, B_PORT, isReq('INVITE'), 'INVITE');
  deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), B_PORT);
  await settle();
  const ok = takeResponse(h, A_PORT, 200, 'INVITE');
  deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT);
  await settle();
  h.link.sent.splice(0);
  return { ok, bInvite };
}

/** The PBX sends REFER (CSeq `cseq`) with `extra` headers. */
async function refer(h: Harness, call: Call, extra: string[] = [REFER_TO], cseq = 2): Promise<void> {
  deliver(h.engine, fromA(call.ok, 'REFER', cseq, extra), A_PORT);
  await settle();
}

/** The NOTIFYs sent to the PBX since the last take. */
function notifies(h: Harness, port = A_PORT): SipRequest[] {
  return h.link.take(port, isReq('NOTIFY')) as SipRequest[];
}

/** The one NOTIFY sent to `port`, answered 200 by its receiver. */
async function takeNotifyAndAnswer(h: Harness, port = A_PORT, status = 200): Promise<SipRequest> {
  const n = takeOne<SipRequest>(h, port, isReq('NOTIFY'), 'NOTIFY');
  deliver(h.engine, answer(n, status), port);
  await settle();
  return n;
}

/** The new leg's INVITE: to the carrier, on a Call-ID other than the original leg's. */
function takeNewInvite(h: Harness, call: Call, port = B_PORT): SipRequest {
  return takeOne<SipRequest>(h, port, both(isReq('INVITE'), (m) => m.headers.callId !== call.bInvite.headers.callId), 'new INVITE');
}

/**
 * A REFER to `TARGET` taken all the way: 202, NOTIFYs answered, the new party answers with
 * SDP_C, the remaining party accepts the re-INVITE with SDP_B. Returns the new leg's INVITE.
 */
async function transferToPstn(h: Harness, call: Call): Promise<{ cInvite: SipRequest; reinvite: SipRequest }> {
  await refer(h, call);
  takeResponse(h, A_PORT, 202, 'REFER');
  await takeNotifyAndAnswer(h);
  const cInvite = takeNewInvite(h, call);
  deliver(h.engine, answer(cInvite, 200, { tag: 'ctag', sdp: SDP_C }), B_PORT);
  await settle();
  await takeNotifyAndAnswer(h);
  const reinvite = takeOne<SipRequest>(h, B_PORT, both(isReq('INVITE'), callIdIs(call.bInvite.headers.callId)), 're-INVITE');
  deliver(h.engine, answer(reinvite, 200, { sdp: SDP_B }), B_PORT);
  await settle();
  h.link.take(B_PORT, isReq('ACK'));
  return { cInvite, reinvite };
}

/** A REFER to sip:bob@partner.example taken all the way: the peer answers with SDP_C. */
async function transferToPartner(h: Harness, call: Call): Promise<{ cInvite: SipRequest }> {
  await refer(h, call, [`Refer-To: <sip:bob@${PARTNER.domain}>`]);
  takeResponse(h, A_PORT, 202, 'REFER');
  await takeNotifyAndAnswer(h);
  const cInvite = takeOne<SipRequest>(h, PARTNER.port, isReq('INVITE'), 'INVITE to the partner');
  deliver(h.engine, answer(cInvite, 200, { tag: 'bobtag', sdp: SDP_C, port: PARTNER.port }), PARTNER.port);
  await settle();
  await takeNotifyAndAnswer(h);
  const reinvite = takeOne<SipRequest>(h, B_PORT, both(isReq('INVITE'), callIdIs(call.bInvite.headers.callId)), 're-INVITE');
  deliver(h.engine, answer(reinvite, 200, { sdp: SDP_B }), B_PORT);
  await settle();
  h.link.take(B_PORT, isReq('ACK'));
  h.link.take(PARTNER.port, isReq('ACK'));
  return { cInvite };
}

/** The SDP the remaining party should see: `sdp` with the PBX's origin (what it saw before) at `version`. */
const withPbxOrigin = (sdp: string, version: number) => sdp.replace(/^o=.*$/m, `o=pbx 1 ${version} IN IP4 192.0.2.10`);

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

  test('once every party has answered, no call and no actor is left', async () => {
    const h = engineWith(trunking(), {}, { t1: 10, t2: 40, t4: 10 });
    const baseline = h.kernel.size;
    const { cInvite } = await ringing(h);
    for (const cancel of h.link.take(B_PORT, isReq('CANCEL'))) deliver(h.engine, answer(cancel, 200, { tag: 'ctag' }), B_PORT);
    deliver(h.engine, answer(cInvite, 487, { tag: 'ctag' }), B_PORT);
    for (const req of h.link.take(A_PORT, (m) => m instanceof SipRequest && (m.method === 'BYE' || m.method === 'NOTIFY'))) deliver(h.engine, answer(req, 200), A_PORT);
    await settle();
    // a NOTIFY sent after these answers (the final one, if late) is answered too
    for (const req of h.link.take(A_PORT, isReq('NOTIFY'))) deliver(h.engine, answer(req, 200), A_PORT);
    await waitFor(() => h.ctx.calls.size === 0, 'the call is gone');
    await waitFor(() => h.kernel.size === baseline, `every actor stopped (size ${h.kernel.size}, was ${baseline})`);
    assert.equal([...h.ctx.limiter.held().values()].reduce((a, b) => a + b, 0), 0, 'no limit slot left');
    h.kernel.shutdown();
  });
});

describe('transfer: the call that holds a replaced dialog (attended transfer)', () => {
  /** Asks the engine, as another call would, to hand over the far party of the PBX's dialog of `call`. */
  function join(h: ReturnType<typeof engineWith>, call: Call, master = { worker: 'w1', call: 'nobody' }): Promise<JoinReply> {
    const ourTag = call.ok.headers.to?.tag ?? '';
    const pbxTag = call.ok.headers.from?.tag ?? '';
    return new Promise((resolve) => h.engine.onJoin({ legScope: scopeOf(ourTag) ?? '', callId: call.ok.headers.callId ?? '', tags: [ourTag, pbxTag], master }, resolve));
  }

  test('a master that never attaches: after joinAttachMs the far party is hung up (nobody would hear it)', async () => {
    const h = engineWith(trunking(), { joinAttachMs: 100 });
    const call = await establish(h);
    const reply = await join(h, call);
    assert.equal(reply.ok, true);
    await settle();
    takeOne<SipRequest>(h, A_PORT, isReq('BYE'), 'BYE ending the replaced dialog');
    assert.equal(h.link.take(B_PORT, isReq('BYE')).length, 0, 'the far party is kept for the master at first');
    await waitFor(() => h.link.sent.some((s) => s.to.port === B_PORT && s.message instanceof SipRequest && s.message.method === 'BYE'), 'BYE to the far party');
    h.kernel.shutdown();
  });

  test('a dialog that has ended (its leg only finishing transactions) cannot be joined: 481', async () => {
    const h = engineWith();
    const call = await establish(h);
    deliver(h.engine, fromA(call.ok, 'BYE', 2), A_PORT);
    await settle();
    const reply = await join(h, call);
    assert.deepEqual(reply, { ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
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
