// What the call actor's tests share (call-failover, call-admission, call-placing): carriers on
// 127.0.0.9, trunk `acme` routing to them, origination to the PBX, and the steps of a call.
import assert from 'node:assert/strict';
import { serializeMessage, SipRequest, SipResponse, type SipMessage } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, fromA, inviteFromA, isReq, makeEngine, settle, type EngineOptions } from './harness.js';

export const SDP_B = 'v=0\r\no=carrier 9 9 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

/** Carriers on 127.0.0.9, one port each; B_PORT is the first. */
export const C1 = B_PORT;
export const C2 = 5081;
export const C3 = 5082;
/** The customer's PBX as origination target (two URIs, tried in order). */
export const PBX1 = 5072;
export const PBX2 = 5073;
/** Where a carrier's INVITEs come from (origination). */
export const CARRIER_SOURCE = '127.0.0.30';
export const CARRIER_PORT = 5090;
export const DID = '+14155550100';

export const NUMBER_PLAN = { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' };

export const carrier = (id: string, port: number, extra: Record<string, unknown> = {}) =>
  ({ id, addresses: [{ host: '127.0.0.9', port }], sources: [] as string[], ...extra });

/** Trunk `acme` (the PBX at 127.0.0.1 by ACL), routing every number to `carriers` in order. */
export function trunking(carriers: ({ id: string } & Record<string, unknown>)[], trunk: Record<string, unknown> = {}, others: Record<string, unknown>[] = []) {
  return {
    carriers,
    trunks: [{
      id: 'acme', domain: 'switchboard.example', acl: ['127.0.0.1/32'], numberPlan: NUMBER_PLAN,
      routing: [{ prefix: '', carriers: carriers.map((c) => c.id) }], callerId: { allowed: ['+1'] }, ...trunk,
    }, ...others],
  };
}

/** Carrier `inbound` sends calls from CARRIER_SOURCE to acme's DID, which go to the PBX URIs. */
export function originationTrunking(trunk: Record<string, unknown> = {}) {
  return trunking([carrier('carrierB', C1), carrier('inbound', 5099, { sources: [`${CARRIER_SOURCE}/32`] })], {
    dids: [DID], origination: { uris: [`sip:127.0.0.1:${PBX1}`, `sip:127.0.0.1:${PBX2}`] }, ...trunk,
  });
}

export function engineWith(config: unknown, options: Omit<EngineOptions, 'trunking'> = {}, timers?: { t1: number; t2: number; t4: number }) {
  return makeEngine(timers, undefined, undefined, { ...options, trunking: config });
}

export type Harness = ReturnType<typeof makeEngine>;

export const text = (m: SipMessage | undefined) => (m === undefined ? '' : Buffer.from(serializeMessage(m)).toString());
export const bodyOf = (m: SipMessage | undefined) => Buffer.from(m?.body ?? []).toString();
export const finals = (h: Harness, port: number) =>
  h.link.sent.filter((s) => s.to.port === port && s.message instanceof SipResponse && s.message.status >= 200).map((s) => s.message as SipResponse);

/** The caller's CANCEL for `invite` (same branch, CSeq number). */
export const cancelOf = (invite: string) =>
  invite.replace('INVITE sip:', 'CANCEL sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL').replace(/Content-Type[^]*$/, 'Content-Length: 0\r\n\r\n');

/** The one INVITE the engine sent to `port` since the last take. */
export function takeInvite(h: Harness, port: number): SipRequest {
  const invites = h.link.take(port, isReq('INVITE'));
  assert.equal(invites.length, 1, `one INVITE to port ${port}`);
  const [invite] = invites;
  assert.ok(invite instanceof SipRequest);
  return invite;
}

/** The one final response the engine sent to `port` since the last take. */
export function takeFinal(h: Harness, port: number): SipResponse {
  const all = h.link.take(port, (m) => m instanceof SipResponse && m.status >= 200);
  assert.equal(all.length, 1, `one final response to port ${port}, got ${all.map((m) => (m as SipResponse).status).join(', ')}`);
  const [res] = all;
  assert.ok(res instanceof SipResponse);
  return res;
}

export const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
};

/** A call from the PBX, answered by the carrier at `port` and ACKed by the caller. */
export async function establish(h: Harness, port = C1, invite = inviteFromA()) {
  deliver(h.engine, invite, A_PORT);
  await settle();
  const bInvite = takeInvite(h, port);
  deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B, port }), port);
  await settle();
  const ok = takeFinal(h, A_PORT);
  assert.equal(ok.status, 200);
  deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT);
  await settle();
  return { bInvite, ok };
}

/** The caller hangs up an established call and the far end accepts the BYE. */
export async function hangUp(h: Harness, ok: SipResponse, port = C1) {
  deliver(h.engine, fromA(ok, 'BYE', 2), A_PORT);
  await settle();
  const [byeB] = h.link.take(port, isReq('BYE'));
  assert.ok(byeB, 'BYE to the far end');
  deliver(h.engine, answer(byeB, 200), port);
  await settle();
}

/**
 * A request of the carrier in its dialog with the engine's carrier leg (`invite`: the INVITE it got),
 * with a fixed branch, so a second copy is a retransmission.
 */
export function fromCarrier(invite: SipRequest, method: string, cseq: number, body = ''): string {
  return [
    `${method} sip:sb@127.0.0.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.9:${C1};branch=z9hG4bKcarrier${method.toLowerCase()}${cseq}`,
    'Max-Forwards: 70',
    `From: ${invite.headers.get('to')};tag=btag`,
    `To: ${invite.headers.get('from')}`,
    `Call-ID: ${invite.headers.callId}`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <sip:carrier@127.0.0.1:${C1}>`,
    ...(body === '' ? [] : ['Content-Type: application/sdp']),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '', body,
  ].join('\r\n');
}
