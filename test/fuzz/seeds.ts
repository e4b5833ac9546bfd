// Valid SIP messages the fuzzer mutates: the RFC 4475 corpus entries the RFC says to
// accept, plus realistic trunking traffic (the benchmark reuses the INVITE and the 200 OK).
import { readFileSync } from 'node:fs';
import { corpusDir } from '../support/paths.js';

export interface Seed {
  name: string;
  bytes: Buffer;
}

/** A message with CRLF line ends and a Content-Length that is the body's true length. */
function sip(startLine: string, headers: readonly string[], body = '', opts: { eol?: string; contentLength?: boolean } = {}): Buffer {
  const eol = opts.eol ?? '\r\n';
  const bodyBytes = Buffer.from(body, 'utf8');
  const lines = [startLine, ...headers];
  if (opts.contentLength !== false) lines.push(`Content-Length: ${bodyBytes.length}`);
  return Buffer.concat([Buffer.from(lines.join(eol) + eol + eol, 'utf8'), bodyBytes]);
}

const SDP_OFFER = [
  'v=0',
  'o=- 1700000000 1 IN IP4 203.0.113.10',
  's=-',
  'c=IN IP4 203.0.113.10',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');

const SDP_ANSWER = [
  'v=0',
  'o=carrier 31337 1 IN IP4 198.51.100.30',
  's=-',
  'c=IN IP4 198.51.100.30',
  't=0 0',
  'm=audio 27500 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');

const CALL_ID = '5b7c1e2f9a4d4c0e@203.0.113.10';

/** A PBX → trunk INVITE with an SDP offer (about 650 bytes). */
export const INVITE = sip(
  'INVITE sip:+14155550100@trunk.example SIP/2.0',
  [
    'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-f6e1c8a3b9d2;rport',
    'Max-Forwards: 70',
    'From: "Front Desk" <sip:+12125550123@pbx.acme.example>;tag=8f3a2c71',
    'To: <sip:+14155550100@trunk.example>',
    `Call-ID: ${CALL_ID}`,
    'CSeq: 1 INVITE',
    'Contact: <sip:+12125550123@203.0.113.10:5060>',
    'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER',
    'Supported: replaces, timer',
    'User-Agent: Acme-PBX/4.2',
    'Content-Type: application/sdp',
  ],
  SDP_OFFER,
);

/** The trunk's 200 OK to that INVITE, through two record-routing proxies, with an SDP answer. */
export const OK_200 = sip(
  'SIP/2.0 200 OK',
  [
    'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-f6e1c8a3b9d2;rport=5060;received=203.0.113.10',
    'Record-Route: <sip:198.51.100.20;lr;ftag=8f3a2c71>',
    'Record-Route: <sip:198.51.100.21;lr>',
    'From: "Front Desk" <sip:+12125550123@pbx.acme.example>;tag=8f3a2c71',
    'To: <sip:+14155550100@trunk.example>;tag=as6f1b2c3d',
    `Call-ID: ${CALL_ID}`,
    'CSeq: 1 INVITE',
    'Contact: <sip:+14155550100@198.51.100.30:5060>',
    'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS',
    'Supported: timer',
    'Content-Type: application/sdp',
  ],
  SDP_ANSWER,
);

/** A blind/attended transfer: Refer-To carrying an escaped Replaces (RFC 3891 §7). */
export const REFER = sip(
  'REFER sip:+14155550100@198.51.100.30:5060 SIP/2.0',
  [
    'Via: SIP/2.0/TCP 203.0.113.10:5060;branch=z9hG4bK-refer-77a1',
    'Max-Forwards: 70',
    'Route: <sip:198.51.100.20;lr;ftag=8f3a2c71>',
    'From: "Acme Front Desk" <sip:+12125550123@pbx.acme.example>;tag=8f3a2c71',
    'To: <sip:+14155550100@trunk.example>;tag=as6f1b2c3d',
    `Call-ID: ${CALL_ID}`,
    'CSeq: 2 REFER',
    'Contact: <sip:+12125550123@203.0.113.10:5060;transport=tcp>',
    'Refer-To: <sip:+14155550199@trunk.example?Replaces=9d8c7b6a%40203.0.113.10%3Bto-tag%3D1a2b3c%3Bfrom-tag%3D4d5e6f>',
    'Referred-By: <sip:+12125550123@pbx.acme.example>',
    'Refer-Sub: true',
    'Supported: replaces, norefersub',
  ],
);

/** The NOTIFY reporting that REFER's progress as a message/sipfrag body (RFC 3515 §2.4.5). */
export const NOTIFY = sip(
  'NOTIFY sip:+12125550123@203.0.113.10:5060;transport=tcp SIP/2.0',
  [
    'Via: SIP/2.0/TCP 198.51.100.30:5060;branch=z9hG4bK-notify-31c5',
    'Max-Forwards: 70',
    'From: <sip:+14155550100@trunk.example>;tag=as6f1b2c3d',
    'To: "Acme Front Desk" <sip:+12125550123@pbx.acme.example>;tag=8f3a2c71',
    `Call-ID: ${CALL_ID}`,
    'CSeq: 101 NOTIFY',
    'Contact: <sip:+14155550100@198.51.100.30:5060;transport=tcp>',
    'Event: refer;id=2',
    'Subscription-State: active;expires=60',
    'Content-Type: message/sipfrag;version=2.0',
  ],
  'SIP/2.0 180 Ringing\r\n',
);

const MORE: readonly Seed[] = [
  {
    name: 'register',
    bytes: sip('REGISTER sip:pbx.acme.example SIP/2.0', [
      'Via: SIP/2.0/TLS [2001:db8::10]:5061;branch=z9hG4bKreg.1;alias',
      'Max-Forwards: 70',
      'From: <sips:1001@pbx.acme.example>;tag=r1',
      'To: <sips:1001@pbx.acme.example>',
      'Call-ID: reg-7f1c@2001:db8::10',
      'CSeq: 42 REGISTER',
      'Contact: <sips:1001@[2001:db8::10]:5061;transport=tls>;expires=3600;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"',
      'Expires: 3600',
      'Date: Sat, 13 Nov 2010 23:29:00 GMT',
      'Authorization: Digest username="1001", realm="acme", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sips:pbx.acme.example", response="dfe56131d1958046689d83306477ecc"',
    ]),
  },
  {
    name: 'compact-lf',
    bytes: sip(
      'OPTIONS tel:+14155550100;phone-context=+1 SIP/2.0',
      [
        'v: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK77',
        'v: SIP/2.0/UDP 198.51.100.8:5070;branch=z9hG4bK78;received=198.51.100.9, SIP/2.0/SCTP 198.51.100.9;branch=z9hG4bK79',
        'f: Bob <sip:bob@biloxi.example>;tag=b1',
        't: sip:alice@atlanta.example',
        'i: opt-99@biloxi.example',
        'CSeq: 7 OPTIONS',
        'm: *',
        'k: timer, 100rel',
        'Accept: application/sdp, message/sipfrag',
      ],
      '',
      { eol: '\n' },
    ),
  },
  {
    name: 'ringing-183',
    bytes: sip(
      'SIP/2.0 183 Session Progress',
      [
        'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1-f6e1c8a3b9d2;rport=5060',
        'From: "Acme Front Desk" <sip:+12125550123@pbx.acme.example>;tag=8f3a2c71',
        'To: <sip:+14155550100@trunk.example>;tag=as6f1b2c3d',
        `Call-ID: ${CALL_ID}`,
        'CSeq: 1 INVITE',
        'Require: 100rel',
        'RSeq: 1',
        'P-Asserted-Identity: "Carrier" <sip:+14155550100@trunk.example>, <tel:+14155550100>',
        'Diversion: <sip:+14155550111@trunk.example>;reason=unconditional;counter=1',
        'Session-Expires: 1800;refresher=uac',
        'Content-Type: application/sdp',
      ],
      SDP_ANSWER,
    ),
  },
  {
    name: 'bye-reason',
    bytes: sip('BYE sip:+14155550100@198.51.100.30:5060 SIP/2.0', [
      'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-bye-1;rport',
      'Max-Forwards: 69',
      'Route: <sip:198.51.100.20;lr;ftag=8f3a2c71>, <sip:198.51.100.21;lr>',
      'From: "Acme Front Desk" <sip:+12125550123@pbx.acme.example>;tag=8f3a2c71',
      'To: <sip:+14155550100@trunk.example>;tag=as6f1b2c3d',
      `Call-ID: ${CALL_ID}`,
      'CSeq: 3 BYE',
      'Reason: Q.850;cause=16;text="Normal call clearing"',
      'Retry-After: 120 (maintenance);duration=3600',
      'Min-SE: 90',
    ]),
  },
  {
    name: 'unauthorized',
    bytes: sip('SIP/2.0 401 Unauthorized', [
      'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-a;received=198.51.100.7;rport=5062',
      'From: <sip:1001@pbx.acme.example>;tag=r1',
      'To: <sip:1001@pbx.acme.example>;tag=srv-9',
      'Call-ID: reg-7f1c@198.51.100.7',
      'CSeq: 41 REGISTER',
      'WWW-Authenticate: Digest realm="acme", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", algorithm=MD5, qop="auth"',
      'Timestamp: 54.2 0.5',
    ]),
  },
  {
    name: 'invite-replaces',
    bytes: sip(
      'INVITE sip:bob@[2001:db8::30]:5060;transport=tcp SIP/2.0',
      [
        'Via: SIP/2.0/TCP [2001:db8::10]:5060;branch=z9hG4bK-inv-r',
        'Max-Forwards: 70',
        'From: <sip:alice@atlanta.example>;tag=a73kszlfl',
        'To: "Bob \\"the builder\\"" <sip:bob@biloxi.example>',
        'Call-ID: f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
        'CSeq: 314159 INVITE',
        'Contact: "Alice" <sip:alice@[2001:db8::10]:5060;transport=tcp;ob>',
        'Replaces: 98asjd8@atlanta.example;to-tag=12345;from-tag=54321;early-only',
        'Referred-By: <sip:carol@chicago.example>',
        'Supported: replaces',
        'Content-Type: application/sdp',
      ],
      SDP_OFFER,
    ),
  },
  {
    name: 'ack-datagram',
    bytes: sip(
      'ACK sip:+14155550100@198.51.100.30:5060 SIP/2.0',
      [
        'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-ack-2',
        'Max-Forwards: 70',
        'From: "Acme Front Desk" <sip:+12125550123@pbx.acme.example>;tag=8f3a2c71',
        'To: <sip:+14155550100@trunk.example>;tag=as6f1b2c3d',
        `Call-ID: ${CALL_ID}`,
        'CSeq: 1 ACK',
      ],
      '',
      { contentLength: false },
    ),
  },
];

/** The realistic messages written for the fuzzer and the benchmark. */
export const REALISTIC: readonly Seed[] = [
  { name: 'invite', bytes: INVITE },
  { name: 'ok-200', bytes: OK_200 },
  { name: 'refer', bytes: REFER },
  { name: 'notify-sipfrag', bytes: NOTIFY },
  ...MORE,
];

interface CorpusEntry {
  name: string;
  file: string;
  verdict: 'valid' | 'invalid';
}

/** The RFC 4475 messages whose verdict is `valid`. */
export function corpusSeeds(): Seed[] {
  const index = JSON.parse(readFileSync(corpusDir + 'index.json', 'utf8')) as CorpusEntry[];
  return index
    .filter((e) => e.verdict === 'valid')
    .map((e) => ({ name: `rfc4475/${e.name}`, bytes: readFileSync(corpusDir + e.file) }));
}

/** Every seed: the corpus's valid messages, then the realistic ones. */
export function allSeeds(): Seed[] {
  return [...corpusSeeds(), ...REALISTIC];
}
