// What an early record keeps of a ringing leg's INVITE (docs/architecture.md "Worker takeover"):
// the request's start line and headers as this worker had them (the caller's Via lines as the
// transport stamped them, or our own request to the carrier with its Route), without the body. An
// adopter answers the caller's INVITE from it (§8.2.6: Via, From, To, Call-ID and CSeq are copied)
// and builds the CANCEL of ours (§9.1: Request-URI, Via, From, To, Call-ID, CSeq number, Route).
import { parseMessage, serializeMessage, SipRequest } from '@switchboard/sip';

/** The INVITE's head as bytes: no SDP (an adopter only ends the call, and a body would double the record). */
export function inviteHead(invite: SipRequest): Uint8Array {
  const head = new SipRequest({ method: invite.method, uri: invite.uri, headers: invite.headers.clone(), headerEncoding: invite.headerEncoding });
  head.headers.remove('Content-Type');
  return serializeMessage(head);
}

/** The INVITE an early record kept; throws SipParseError when the bytes are not one. */
export function inviteOfHead(head: Uint8Array): SipRequest {
  const message = parseMessage(Buffer.from(head), { framing: 'datagram' });
  if (!(message instanceof SipRequest) || message.method !== 'INVITE') throw new TypeError('an early record\'s INVITE head is not an INVITE');
  return message;
}
