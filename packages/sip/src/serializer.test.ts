// Unit tests of the serializer: wire format, Content-Length (RFC 3261 §18.3, §20.14), round trips.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Headers } from './headers.js';
import { SipRequest, SipResponse, type SipMessage } from './message.js';
import { parseMessage } from './parser.js';
import { serializeMessage } from './serializer.js';
import { SipUri } from './uri.js';

const CRLF = '\r\n';
const START = 'INVITE sip:bob@biloxi.example.com SIP/2.0';
const HEADERS = [
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
];

function wire(lines: readonly string[], body: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(lines.join(CRLF) + CRLF + CRLF), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

/** What must survive a round trip: start line, header keys and values in order (Content-Length aside), body. */
function shape(m: SipMessage): unknown {
  const headers: [string, string][] = [];
  m.headers.forEachEntry((_name, value, key) => {
    if (key !== 'content-length') headers.push([key, value]);
  });
  return { kind: m.kind, start: m.startLine, headers, body: Buffer.from(m.body).toString('hex'), encoding: m.headerEncoding };
}

describe('serializeMessage: wire format', () => {
  test('writes start line, headers in order with names as written, empty line and body', () => {
    const data = wire([START, ...HEADERS, 'x-lower: 1', 'Content-Length: 4'], 'body');
    assert.equal(serializeMessage(parseMessage(data)).toString(), data.toString());
  });

  test('writes a message built in code', () => {
    const m = new SipResponse({
      status: 200,
      headers: new Headers([['Via', 'SIP/2.0/UDP h.example;branch=z9hG4bK1'], ['CSeq', '1 OPTIONS']]),
      body: Buffer.from('ok'),
    });
    assert.equal(serializeMessage(m).toString(), 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 2\r\n\r\nok');
  });

  test('a folded header is written on one line', () => {
    const data = wire([START, ...HEADERS, 'Subject: one', '  two', 'Content-Length: 0']);
    assert.match(serializeMessage(parseMessage(data)).toString(), /\r\nSubject: one two\r\n/);
  });

  test('an empty reason phrase is written after one SP and reads back empty', () => {
    const out = serializeMessage(new SipResponse({ status: 100, reason: '' }));
    assert.ok(out.toString().startsWith('SIP/2.0 100 \r\n'));
    const m = parseMessage(out);
    assert.ok(m.kind === 'response' && m.reason === '');
  });
});

describe('serializeMessage: Content-Length', () => {
  test('a wrong Content-Length is replaced in place', () => {
    const m = parseMessage(wire([START, ...HEADERS, 'Content-Length: 4', 'Subject: after'], 'body'));
    m.body = Buffer.from('longer body');
    const lines = serializeMessage(m).toString().split(CRLF);
    assert.equal(lines[7], 'Content-Length: 11');
    assert.equal(lines[8], 'Subject: after');
    assert.equal(lines.filter((l) => /^content-length/i.test(l)).length, 1);
  });

  test('the compact name is kept when replacing', () => {
    const m = parseMessage(wire([START, ...HEADERS, 'l: 0']));
    m.body = Buffer.from('abc');
    assert.match(serializeMessage(m).toString(), /\r\nl: 3\r\n\r\nabc$/);
  });

  test('a missing Content-Length is appended after the other headers', () => {
    const m = parseMessage(wire([START, ...HEADERS], 'v=0\r\n'));
    const text = serializeMessage(m).toString();
    assert.ok(text.endsWith('CSeq: 314159 INVITE\r\nContent-Length: 5\r\n\r\nv=0\r\n'), text);
  });

  test('a message without body gets Content-Length: 0', () => {
    const m = new SipRequest({ method: 'OPTIONS', uri: new SipUri({ host: 'b.example' }) });
    assert.equal(serializeMessage(m).toString(), 'OPTIONS sip:b.example SIP/2.0\r\nContent-Length: 0\r\n\r\n');
  });

  test('of several Content-Length headers only the first is written, with the true length', () => {
    const m = new SipRequest({
      method: 'MESSAGE', uri: new SipUri({ host: 'b.example' }),
      headers: new Headers([['Content-Length', '99'], ['Subject', 's'], ['Content-Length', '1']]),
      body: Buffer.from('hello'),
    });
    assert.equal(serializeMessage(m).toString(), 'MESSAGE sip:b.example SIP/2.0\r\nContent-Length: 5\r\nSubject: s\r\n\r\nhello');
  });

  test('the length counts body bytes, not characters', () => {
    const m = parseMessage(wire([START, ...HEADERS, 'Content-Length: 0']));
    m.body = Buffer.from('é€', 'utf8');
    assert.match(serializeMessage(m).toString(), /Content-Length: 5\r\n/);
  });

  test('the body is written byte-exact', () => {
    const body = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 13, 10, 0]);
    const out = serializeMessage(parseMessage(wire([START, ...HEADERS, `Content-Length: ${body.length}`], body)));
    assert.deepEqual(out.subarray(out.length - body.length), body);
  });

  test('datagram bytes after the body are not written', () => {
    const out = serializeMessage(parseMessage(wire([START, ...HEADERS, 'Content-Length: 2'], 'okjunk')));
    assert.ok(out.toString().endsWith('\r\n\r\nok'));
  });
});

describe('serializeMessage: encodings', () => {
  test('UTF-8 headers are written as UTF-8', () => {
    const m = new SipResponse({ status: 404, reason: 'Pas trouvé', headers: new Headers([['Subject', 'Zoë']]) });
    const out = serializeMessage(m);
    assert.ok(out.includes(Buffer.from('Pas trouvé', 'utf8')));
    assert.ok(out.includes(Buffer.from('Subject: Zoë', 'utf8')));
  });

  test('Latin-1 headers are written as Latin-1', () => {
    const m = new SipResponse({ status: 404, reason: 'Pas trouvé', headers: new Headers([['Subject', 'Zoë']]), headerEncoding: 'latin1' });
    const out = serializeMessage(m);
    assert.ok(out.includes(Buffer.from('Pas trouv\xe9\r\nSubject: Zo\xeb\r\n', 'latin1')));
  });
});

describe('serializeMessage: parse → serialize → parse', () => {
  const messages: Record<string, Buffer> = {
    'INVITE with SDP': wire([START, ...HEADERS, 'Contact: <sip:alice@pc33.atlanta.example.com>', 'Content-Type: application/sdp', 'Content-Length: 17'], 'v=0\r\no=- 0 0 IN\r\n'),
    'response with several Vias and Record-Route': wire([
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP p1.example;branch=z9hG4bK1;received=192.0.2.1, SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bK2',
      'Record-Route: <sip:p1.example;lr>, <sip:[2001:db8::2];lr>',
      ...HEADERS.slice(2),
      'Content-Length: 0',
    ]),
    'compact forms and odd spacing': wire([
      'REGISTER sips:registrar.example SIP/2.0',
      'v : SIP/2.0/TLS h.example;branch=z9hG4bKc',
      'f:<sips:a@registrar.example>;tag=1',
      't:\t<sips:a@registrar.example>',
      'i:  reg1@h.example',
      'CSeq: 2 REGISTER',
      'm: *',
      'Expires: 0',
      'l: 0',
    ]),
    'folded headers and a quoted display name with escapes': wire([
      'OPTIONS sip:b.example SIP/2.0',
      'Via: SIP/2.0/UDP h.example', '   ;branch=z9hG4bKf',
      'To: "Bob \\"B\\" Smith"', '  <sip:bob@b.example>',
      'From: sip:alice@a.example;tag=88',
      'Call-ID: opt@h', 'CSeq: 3 OPTIONS',
    ]),
    'no Content-Length in a datagram': wire(['MESSAGE tel:+14155550100 SIP/2.0', ...HEADERS.slice(0, 5), 'CSeq: 1 MESSAGE', 'Content-Type: text/plain'], 'hello'),
    'an opaque Request-URI and unknown headers': wire(['INVITE urn:service:sos SIP/2.0', ...HEADERS.slice(0, 5), 'CSeq: 9 INVITE', 'X-Odd: ;;,,;', 'Content-Length: 0']),
    'Latin-1 header text': Buffer.from(
      ['SIP/2.0 486 Occup\xe9', ...HEADERS, 'Subject: d\xe9j\xe0 vu', 'Content-Length: 0'].join(CRLF) + CRLF + CRLF, 'latin1'),
  };

  for (const [name, data] of Object.entries(messages)) {
    test(name, () => {
      const first = parseMessage(data);
      const again = parseMessage(serializeMessage(first));
      assert.deepEqual(shape(again), shape(first));
      assert.deepEqual(again.headers.via, first.headers.via);
      assert.deepEqual(again.headers.to, first.headers.to);
      assert.deepEqual(again.headers.from, first.headers.from);
      assert.deepEqual(again.headers.cseq, first.headers.cseq);
    });
  }

  test('serializing twice gives the same bytes', () => {
    for (const data of Object.values(messages)) {
      const once = serializeMessage(parseMessage(data));
      assert.deepEqual(serializeMessage(parseMessage(once)), once);
    }
  });
});
