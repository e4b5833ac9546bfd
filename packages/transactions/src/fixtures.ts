// Messages for the transaction tests, parsed from text as the transport would deliver them.
import { createResponse, parseMessage, serializeMessage, SipRequest, SipResponse } from '@switchboard/sip';

export interface RequestFixture {
  method?: string;
  uri?: string;
  /** Top Via value(s), in order; default one Via with branch z9hG4bK-client-1. */
  via?: readonly string[];
  cseq?: number;
  cseqMethod?: string;
  callId?: string;
  fromTag?: string;
  toTag?: string;
}

/** A request as received (or as a UAC built it), parsed from its wire form. */
export function request(f: RequestFixture = {}): SipRequest {
  const method = f.method ?? 'INVITE';
  const lines = [
    `${method} ${f.uri ?? 'sip:bob@biloxi.example.com'} SIP/2.0`,
    ...(f.via ?? ['SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK-client-1']).map((v) => `Via: ${v}`),
    'Max-Forwards: 70',
    `To: Bob <sip:bob@biloxi.example.com>${f.toTag === undefined ? '' : ';tag=' + f.toTag}`,
    `From: Alice <sip:alice@atlanta.example.com>${f.fromTag === undefined ? ';tag=1928301774' : f.fromTag === '' ? '' : ';tag=' + f.fromTag}`,
    `Call-ID: ${f.callId ?? 'a84b4c76e66710@pc33.atlanta.example.com'}`,
    `CSeq: ${f.cseq ?? 314159} ${f.cseqMethod ?? method}`,
    'Contact: <sip:alice@pc33.atlanta.example.com>',
    'Content-Length: 0',
  ];
  const msg = parseMessage(Buffer.from(lines.join('\r\n') + '\r\n\r\n'));
  if (!(msg instanceof SipRequest)) throw new Error('fixture is not a request');
  return msg;
}

/** The response a UAS would send to `req`, round-tripped through the wire form like a received one. */
export function response(req: SipRequest, status: number, toTag = 'uas-tag-1'): SipResponse {
  const msg = parseMessage(serializeMessage(createResponse(req, status, { toTag })));
  if (!(msg instanceof SipResponse)) throw new Error('fixture is not a response');
  return msg;
}
