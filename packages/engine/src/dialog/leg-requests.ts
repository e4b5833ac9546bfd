// What a leg writes that is not the dialog's own: its Via and Contact (from the transport it talks
// over), the CANCEL of RFC 3261 §9.1, and the Reason header it reports. Pure functions.
import { NameAddr, SipRequest, SipUri, Via, type SipMessage } from '@switchboard/sip';
import type { Destination } from '../protocol/sip-link.js';

/** Our Via on requests to `peer`: the listener it reaches us on, with rport (RFC 3581). */
export function viaFor(peer: Destination, branch: string): Via {
  return new Via(peer.protocol.toUpperCase(), peer.localAddress, peer.localPort, [
    { name: 'branch', value: branch },
    { name: 'rport', value: null },
  ]);
}

/**
 * Our Contact towards `peer`: the listener it reaches us on, marked TCP or TLS when it is; in a
 * `secure` dialog a SIPS URI (§8.1.1.8, §12.1.1). RFC 5630 §3.1.3: otherwise TLS is a hop's
 * `;transport=tls`, not sips:, which would demand TLS of every hop after ours.
 */
export function contactFor(peer: Destination, secure = false): NameAddr {
  if (secure) return new NameAddr(new SipUri({ scheme: 'sips', user: 'sb', host: peer.localAddress, port: peer.localPort }));
  const params = peer.protocol === 'udp' ? [] : [{ name: 'transport', value: peer.protocol }];
  return new NameAddr(new SipUri({ user: 'sb', host: peer.localAddress, port: peer.localPort, params }));
}

/**
 * §9.1: the CANCEL of `invite` carries its Request-URI, Call-ID, From, To, Route, top Via and
 * CSeq number, and nothing about the session (no Contact, body or session-timer headers).
 */
export function cancelFor(invite: SipRequest): SipRequest {
  const cancel = new SipRequest({ method: 'CANCEL', uri: invite.uri, headers: invite.headers.clone() });
  const h = cancel.headers;
  h.set('CSeq', `${invite.headers.cseq?.seq ?? 1} CANCEL`);
  for (const name of ['Contact', 'Content-Type', 'Content-Length', 'Allow', 'Supported', 'Session-Expires', 'Min-SE']) h.remove(name);
  cancel.body = new Uint8Array(0);
  return cancel;
}

/** A message's Reason header (RFC 3326), copied so that the record does not keep the whole message's text alive. */
export function ownReason(message: SipMessage): { reasonHeader?: string } {
  const value = message.headers.get('reason');
  return value === undefined ? {} : { reasonHeader: Buffer.from(value).toString() };
}

/**
 * When the party sent a request, for the records: the transport's receive time, which is the
 * first one when the request got through only as a retransmission after a NATS outage. A clock
 * ahead of ours is not believed (never later than now).
 */
export function sentAt(receivedAt: number | undefined): { at?: number } {
  return receivedAt === undefined ? {} : { at: Math.min(receivedAt, Date.now()) };
}
