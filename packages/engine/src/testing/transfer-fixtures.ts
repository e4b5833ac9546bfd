// What the transfer tests share (blind-transfer, attended-transfer, transfer-refusals,
// transfer-failures): a termination call (the PBX at 127.0.0.1 is trunk `acme`, the carrier at
// 127.0.0.9) established through the engine with a fake SIP link, the PBX's REFER, the NOTIFYs
// it is sent, and a transfer taken all the way to a PSTN number or to a partner's domain.
import assert from 'node:assert/strict';
import { SipRequest, SipResponse, type SipMessage } from '@switchboard/sip';
import {
  A_PORT, B_PORT, TEST_TRUNKING, answer, deliver, fromA, inviteFromA, isReq, isRes, makeEngine, settle, type
  EngineOptions,
} from './harness.js';
import type { TimerSettings } from '@switchboard/transactions';

/** What the carrier answered the call with (the remaining party's session). */
export const SDP_B = 'v=0\r\no=carrier 9 9 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';
/** What the transfer target answers with. */
export const SDP_C = 'v=0\r\no=newparty 5 5 IN IP4 203.0.113.7\r\ns=-\r\nc=IN IP4 203.0.113.7\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n';

/** The PBX's number (From of inviteFromA) and the number it called (the remaining party). */
export const PBX_NUMBER = '+12125550123';
export const CALLED = '+14155550100';
export const TARGET = '+14155552000';
export const REFER_TO = `Refer-To: <sip:${TARGET}@switchboard.example>`;

/** A SIP peer on another domain, reached through the locator's overrides (no DNS in unit tests). */
export const PARTNER = { domain: 'partner.example', host: '127.0.0.50', port: 5090 };
export const OTHER = { domain: 'other.example', host: '127.0.0.51', port: 5091 };
export const CARRIER_HOST = '127.0.0.9';

export const OVERRIDES = [
  { domain: PARTNER.domain, addresses: [{ host: PARTNER.host, port: PARTNER.port }] },
  { domain: OTHER.domain, addresses: [{ host: OTHER.host, port: OTHER.port }] },
];

/** TEST_TRUNKING with the trunk's fields overridden, and the platform's SIP transfer settings. */
export function trunking(trunk: Record<string, unknown> = {}, sipTransfers: Record<string, unknown> = { overrides: OVERRIDES }) {
  const [acme] = TEST_TRUNKING.trunks;
  return { carriers: TEST_TRUNKING.carriers, trunks: [{ ...acme, ...trunk }], sipTransfers };
}

export function engineWith(config: unknown = trunking(), options: Omit<EngineOptions, 'trunking'> = {}, timers?: TimerSettings) {
  return makeEngine(timers, undefined, undefined, { ...options, trunking: config });
}

export type Harness = ReturnType<typeof makeEngine>;

export interface Call {
  ok: SipResponse;
  bInvite: SipRequest;
}

export const bodyOf = (m: SipMessage | undefined) => Buffer.from(m?.body ?? []).toString();
export const callIdIs = (id: string | undefined) => (m: SipMessage) => m.headers.callId === id;
export const both = (...checks: ((m: SipMessage) => boolean)[]) => (m: SipMessage) => checks.every((c) => c(m));
export const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
};

/** The one message to `port` that `match` accepts, sent since the last take. */
export function takeOne<T extends SipMessage>(h: Harness, port: number, match: (m: SipMessage) => boolean, what: string): T {
  const all = h.link.take(port, match);
  assert.equal(all.length, 1, `one ${what} to port ${port}, got ${all.length}`);
  return all[0] as T;
}

/** The engine's response to a request, by status and method. */
export function takeResponse(h: Harness, port: number, status: number, method: string): SipResponse {
  return takeOne<SipResponse>(h, port, isRes(status, method), `${status} to ${method}`);
}

/** The final responses to `method` sent to `port` (to see a refusal whatever its status). */
export function finalsTo(h: Harness, port: number, method: string): SipResponse[] {
  return h.link.take(port, (m) => m instanceof SipResponse && m.status >= 200 && m.headers.cseq?.method === method) as SipResponse[];
}

/**
 * A request from the far end of a leg the engine placed (the carrier, or a transfer target):
 * From is the INVITE's To with the peer's tag, To is the INVITE's From (our tag), the
 * request goes to the Contact we sent.
 */
export function fromPeer(invite: SipRequest, tag: string, method: string, cseq: number, port: number, host: string, extra: string[] = [], body = ''): string {
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

/** A termination call from the PBX (over `protocol`), answered by the carrier with SDP_B and ACKed; the link is emptied afterwards. */
export async function establish(h: Harness, protocol: 'udp' | 'tcp' = 'udp'): Promise<Call> {
  deliver(h.engine, inviteFromA(), A_PORT, protocol);
  await settle();
  const bInvite = takeOne<SipRequest>(h, B_PORT, isReq('INVITE'), 'INVITE');
  deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), B_PORT);
  await settle();
  const ok = takeResponse(h, A_PORT, 200, 'INVITE');
  deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT, protocol);
  await settle();
  h.link.sent.splice(0);
  return { ok, bInvite };
}

/** The PBX sends REFER (CSeq `cseq`) with `extra` headers. */
export async function refer(h: Harness, call: Call, extra: string[] = [REFER_TO], cseq = 2): Promise<void> {
  deliver(h.engine, fromA(call.ok, 'REFER', cseq, extra), A_PORT);
  await settle();
}

/** The NOTIFYs sent to the PBX since the last take. */
export function notifies(h: Harness, port = A_PORT): SipRequest[] {
  return h.link.take(port, isReq('NOTIFY')) as SipRequest[];
}

/** The one NOTIFY sent to `port`, answered 200 by its receiver. */
export async function takeNotifyAndAnswer(h: Harness, port = A_PORT, status = 200): Promise<SipRequest> {
  const n = takeOne<SipRequest>(h, port, isReq('NOTIFY'), 'NOTIFY');
  deliver(h.engine, answer(n, status), port);
  await settle();
  return n;
}

/** The new leg's INVITE: to the carrier, on a Call-ID other than the original leg's. */
export function takeNewInvite(h: Harness, call: Call, port = B_PORT): SipRequest {
  return takeOne<SipRequest>(h, port, both(isReq('INVITE'), (m) => m.headers.callId !== call.bInvite.headers.callId), 'new INVITE');
}

/**
 * A REFER to `TARGET` taken all the way: 202, NOTIFYs answered, the new party answers with
 * SDP_C, the remaining party accepts the re-INVITE with SDP_B. Returns the new leg's INVITE.
 */
export async function transferToPstn(h: Harness, call: Call): Promise<{ cInvite: SipRequest; reinvite: SipRequest }> {
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
export async function transferToPartner(h: Harness, call: Call): Promise<{ cInvite: SipRequest }> {
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
export const withPbxOrigin = (sdp: string, version: number) => sdp.replace(/^o=.*$/m, `o=pbx 1 ${version} IN IP4 192.0.2.10`);
