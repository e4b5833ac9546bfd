// Unit tests of the message parser (RFC 3261 §7, §18.3, §25) and of validateMessage (§8.1.1, §8.2.2).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipParseError } from './errors.js';
import { headerKey } from './headers.js';
import { SipRequest, SipResponse, type SipMessage } from './message.js';
import { parseMessage, validateMessage, type ParseOptions } from './parser.js';
import { serializeMessage } from './serializer.js';
import { AbsoluteUri, SipUri, TelUri } from './uri.js';

const CRLF = '\r\n';

/** Header lines plus an optional body, as one datagram (CRLF line ends, empty line, body). */
function wire(lines: readonly string[], body: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(lines.join(CRLF) + CRLF + CRLF, 'utf8'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]);
}

const START = 'INVITE sip:bob@biloxi.example.com SIP/2.0';
const HEADERS = [
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
];
const RESPONSE_HEADERS = HEADERS.filter((h) => !h.startsWith('Max-Forwards'));

/** A well-formed INVITE with `extra` header lines appended, `Content-Length` last unless `length` is null. */
function invite(extra: readonly string[] = [], body = '', length: number | null = Buffer.byteLength(body)): Buffer {
  const lines = [START, ...HEADERS, ...extra];
  if (length !== null) lines.push(`Content-Length: ${length}`);
  return wire(lines, body);
}

/** A request whose start line is `start` (the usual headers follow). */
function withStart(start: string, headers: readonly string[] = HEADERS): Buffer {
  return wire([start, ...headers, 'Content-Length: 0']);
}

/** A request that differs from the usual INVITE only by `headers`. */
function withHeaders(headers: readonly string[]): Buffer {
  return wire([START, ...headers, 'Content-Length: 0']);
}

function request(data: Uint8Array, options?: ParseOptions): SipRequest {
  const m = parseMessage(data, options);
  assert.ok(m instanceof SipRequest, 'not a request');
  return m;
}

function response(data: Uint8Array, options?: ParseOptions): SipResponse {
  const m = parseMessage(data, options);
  assert.ok(m instanceof SipResponse, 'not a response');
  return m;
}

/** The SipParseError `fn` throws (failing when it throws nothing or something else). */
function errorOf(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SipParseError, `not a SipParseError: ${String(err)}`);
    return err;
  }
  assert.fail('no error was thrown');
}

const refusal = (data: Uint8Array, options?: ParseOptions) => errorOf(() => parseMessage(data, options));

describe('parseMessage: request line', () => {
  test('reads method, Request-URI and version', () => {
    const m = request(invite());
    assert.equal(m.method, 'INVITE');
    assert.ok(m.uri instanceof SipUri);
    assert.equal(m.uri.user, 'bob');
    assert.equal(m.uri.host, 'biloxi.example.com');
    assert.equal(m.startLine, START);
  });

  test('keeps an extension method as written (methods are case-sensitive)', () => {
    const m = request(withStart('publishX sip:bob@biloxi.example.com SIP/2.0'));
    assert.equal(m.method, 'publishX');
  });

  test('two SPs between method and Request-URI are refused', () => {
    const err = refusal(withStart('INVITE  sip:bob@biloxi.example.com SIP/2.0'));
    assert.equal(err.code, 'bad-start-line');
    assert.equal(err.status, 400);
  });

  test('two SPs between Request-URI and version are refused', () => {
    assert.equal(refusal(withStart('INVITE sip:bob@biloxi.example.com  SIP/2.0')).code, 'bad-start-line');
  });

  test('a SP after the version is refused', () => {
    assert.equal(refusal(withStart('INVITE sip:bob@biloxi.example.com SIP/2.0 ')).code, 'bad-start-line');
  });

  test('a request line without a version is refused', () => {
    assert.equal(refusal(withStart('INVITE sip:bob@biloxi.example.com')).code, 'bad-start-line');
  });

  test('a Request-URI with embedded whitespace (three SPs in the line) is refused', () => {
    assert.equal(refusal(withStart('INVITE sip:bob@biloxi.example.com;x=a b SIP/2.0')).code, 'bad-start-line');
  });

  test('the version is case-insensitive', () => {
    const m = request(withStart('INVITE sip:bob@biloxi.example.com sip/2.0'));
    assert.equal(m.method, 'INVITE');
  });

  test('another SIP version is refused with 505 and code bad-version', () => {
    const err = refusal(withStart('INVITE sip:bob@biloxi.example.com SIP/7.0'));
    assert.equal(err.code, 'bad-version');
    assert.equal(err.status, 505);
    assert.equal(err.reason, 'Version Not Supported');
  });

  test('a version that is not SIP/x.y is a bad request line, not 505', () => {
    const err = refusal(withStart('INVITE sip:bob@biloxi.example.com HTTP/1.1'));
    assert.equal(err.code, 'bad-start-line');
    assert.equal(err.status, 400);
  });

  test('a method that is not a token is refused', () => {
    assert.equal(refusal(withStart('IN<VITE sip:bob@biloxi.example.com SIP/2.0')).code, 'bad-method');
  });

  test('a malformed Request-URI is refused as bad-request-uri', () => {
    const err = refusal(withStart('INVITE sip:bob@ SIP/2.0'));
    assert.equal(err.code, 'bad-request-uri');
    assert.equal(err.reason, 'Bad Request-URI');
  });

  test('a Request-URI may not carry ?headers', () => {
    assert.equal(refusal(withStart('INVITE sip:bob@biloxi.example.com?Subject=hi SIP/2.0')).code, 'bad-request-uri');
  });

  test('sips:, tel: and other schemes are read as SipUri, TelUri and AbsoluteUri', () => {
    const sips = request(withStart('INVITE sips:bob@biloxi.example.com SIP/2.0')).uri;
    assert.ok(sips instanceof SipUri);
    assert.equal(sips.scheme, 'sips');
    const tel = request(withStart('INVITE tel:+1-201-555-0123 SIP/2.0')).uri;
    assert.ok(tel instanceof TelUri);
    assert.equal(tel.digits, '+12015550123');
    const urn = request(withStart('INVITE urn:service:sos SIP/2.0')).uri;
    assert.ok(urn instanceof AbsoluteUri);
    assert.equal(urn.scheme, 'urn');
    assert.equal(urn.toString(), 'urn:service:sos');
  });

  test('an IPv6 reference with port in the Request-URI', () => {
    const uri = request(withStart('OPTIONS sip:bob@[2001:db8::1]:5060;transport=udp SIP/2.0', [
      ...HEADERS.filter((h) => !h.startsWith('CSeq')), 'CSeq: 1 OPTIONS',
    ])).uri;
    assert.ok(uri instanceof SipUri);
    assert.equal(uri.host, '[2001:db8::1]');
    assert.equal(uri.port, 5060);
    assert.equal(uri.param('transport'), 'udp');
  });

  test('escaped characters in the Request-URI are kept as written and decoded on demand', () => {
    const uri = request(withStart('INVITE sip:%61lice%20smith@atlanta.example.com;n%61me=v%41l SIP/2.0')).uri;
    assert.ok(uri instanceof SipUri);
    assert.equal(uri.user, '%61lice%20smith');
    assert.equal(uri.decodedUser, 'alice smith');
    assert.equal(uri.param('name'), 'vAl');
  });
});

describe('parseMessage: status line', () => {
  const status = (line: string) => response(wire([line, ...RESPONSE_HEADERS, 'Content-Length: 0']));
  const statusRefusal = (line: string) => refusal(wire([line, ...RESPONSE_HEADERS, 'Content-Length: 0']));

  test('reads status code and reason phrase', () => {
    const m = status('SIP/2.0 180 Ringing');
    assert.equal(m.status, 180);
    assert.equal(m.reason, 'Ringing');
  });

  test('the reason phrase keeps its inner spaces and UTF-8 text', () => {
    assert.equal(status('SIP/2.0 404 Nobody  here – désolé').reason, 'Nobody  here – désolé');
  });

  test('an empty reason phrase is accepted', () => {
    const m = status('SIP/2.0 100 ');
    assert.equal(m.status, 100);
    assert.equal(m.reason, '');
  });

  test('the version is case-insensitive', () => {
    assert.equal(status('sip/2.0 200 OK').status, 200);
  });

  test('another SIP version is refused with 505', () => {
    const err = statusRefusal('SIP/3.0 200 OK');
    assert.equal(err.code, 'bad-version');
    assert.equal(err.status, 505);
  });

  test('two SPs between version and status code are refused', () => {
    assert.equal(statusRefusal('SIP/2.0  200 OK').code, 'bad-status-code');
  });

  test('a status code must have exactly three digits', () => {
    assert.equal(statusRefusal('SIP/2.0 20 OK').code, 'bad-status-code');
    assert.equal(statusRefusal('SIP/2.0 2000 OK').code, 'bad-status-code');
    assert.equal(statusRefusal('SIP/2.0 2x0 OK').code, 'bad-status-code');
  });

  test('a status code must lie within 100-699', () => {
    assert.equal(statusRefusal('SIP/2.0 099 Low').code, 'bad-status-code');
    assert.equal(statusRefusal('SIP/2.0 700 High').code, 'bad-status-code');
    assert.equal(status('SIP/2.0 100 Trying').status, 100);
    assert.equal(status('SIP/2.0 699 Custom').status, 699);
  });

  test('a status line without a status code is refused', () => {
    assert.equal(statusRefusal('SIP/2.0').code, 'bad-start-line');
  });
});

describe('parseMessage: framing of the header section', () => {
  test('CRLFs before the start line are ignored', () => {
    const m = request(Buffer.concat([Buffer.from('\r\n\r\n\n'), invite()]));
    assert.equal(m.method, 'INVITE');
    assert.equal(m.headers.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
  });

  test('a message of nothing but CRLFs is refused', () => {
    assert.equal(refusal(Buffer.from('\r\n\r\n')).code, 'bad-start-line');
  });

  test('a datagram whose header section ends with the datagram is read without its empty line', () => {
    const m = request(Buffer.from([START, ...HEADERS].join(CRLF) + CRLF));
    assert.equal(m.headers.cseq?.seq, 314159);
    assert.equal(m.body.length, 0);
  });

  test('a stream frame without the empty line is an incomplete header section', () => {
    const data = Buffer.from([START, ...HEADERS, 'Content-Length: 0'].join(CRLF) + CRLF);
    assert.equal(refusal(data, { framing: 'stream' }).code, 'incomplete-header-section');
  });

  test('a datagram cut in the middle of a header line is an incomplete header section', () => {
    assert.equal(refusal(Buffer.from([START, ...HEADERS].join(CRLF))).code, 'incomplete-header-section');
  });

  test('bare-LF line ends are accepted', () => {
    const m = request(Buffer.from([START, ...HEADERS, 'Content-Length: 4'].join('\n') + '\n\nbody'));
    assert.equal(m.headers.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(Buffer.from(m.body).toString(), 'body');
  });

  test('with bare-LF line ends, a CRLFCRLF inside the body does not move the end of the header section', () => {
    const body = 'a\r\n\r\nb';
    const m = request(Buffer.from([START, ...HEADERS, `Content-Length: ${body.length}`].join('\n') + '\n\n' + body));
    assert.equal(m.headers.get('Content-Length'), String(body.length));
    assert.equal(Buffer.from(m.body).toString(), body);
  });

  test('a Uint8Array view at an offset into a larger buffer is parsed from its own bytes', () => {
    const data = invite([], 'hello');
    const backing = new Uint8Array(data.length + 20);
    backing.set(data, 10);
    const view = new Uint8Array(backing.buffer, 10, data.length);
    const m = request(view);
    assert.equal(m.method, 'INVITE');
    assert.equal(Buffer.from(m.body).toString(), 'hello');
  });
});

describe('parseMessage: header lines', () => {
  test('header names are case-insensitive and kept as written', () => {
    const m = request(withHeaders(HEADERS.map((h) => h.replace(/^Call-ID:/, 'cALL-iD:').replace(/^CSeq:/, 'CSEQ:'))));
    assert.equal(m.headers.get('Call-ID'), 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(m.headers.get('call-id'), 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(m.headers.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(m.headers.cseq?.method, 'INVITE');
    assert.deepEqual([...m.headers].map(([name]) => name).slice(4, 6), ['cALL-iD', 'CSEQ']);
  });

  test('whitespace before and after the colon is allowed (HCOLON)', () => {
    const m = request(invite(['Subject \t:  \tlunch?  ']));
    assert.equal(m.headers.get('Subject'), 'lunch?');
  });

  test('a header value may be empty', () => {
    assert.equal(request(invite(['Subject:'])).headers.get('subject'), '');
  });

  test('a header line without a colon is refused', () => {
    const err = refusal(invite(['Subject lunch']));
    assert.equal(err.code, 'bad-header-line');
    assert.equal(err.reason, 'Malformed Header Line');
  });

  test('a header name that is not a token is refused', () => {
    const err = refusal(invite(['Sub ject: lunch']));
    assert.equal(err.code, 'bad-header-line');
    assert.equal(err.reason, 'Bad Header Name');
    assert.equal(refusal(invite([': lunch'])).code, 'bad-header-line');
  });

  test('unknown headers are kept in order with their values as written', () => {
    const m = request(invite(['X-First: 1', 'NewFangledHeader: ;;,,;;,;', 'X-First: 2']));
    assert.deepEqual(m.headers.getAll('x-first'), ['1', '2']);
    assert.equal(m.headers.get('newfangledheader'), ';;,,;;,;');
  });
});

describe('parseMessage: compact header forms', () => {
  // RFC 3261 §7.3.3 and later registrations; each maps to its long name through headerKey
  const COMPACT: readonly (readonly [string, string, string])[] = [
    ['i', 'call-id', 'a84b4c76e66710@pc33.atlanta.example.com'],
    ['m', 'contact', '<sip:alice@pc33.atlanta.example.com>'],
    ['v', 'via', 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds'],
    ['f', 'from', 'Alice <sip:alice@atlanta.example.com>;tag=1928301774'],
    ['t', 'to', 'Bob <sip:bob@biloxi.example.com>'],
    ['l', 'content-length', '0'],
    ['c', 'content-type', 'application/sdp'],
    ['k', 'supported', 'timer, 100rel'],
    ['s', 'subject', 'Need more boxes'],
    ['e', 'content-encoding', 'gzip'],
    ['o', 'event', 'refer;id=93809824'],
    ['r', 'refer-to', '<sip:carol@chicago.example.com>'],
    ['b', 'referred-by', '<sip:alice@atlanta.example.com>'],
    ['x', 'session-expires', '1800;refresher=uac'],
    ['u', 'allow-events', 'presence, refer'],
    ['a', 'accept-contact', '*;audio'],
    ['y', 'identity', '"ZYNBbHC00VMZr2kZt6VmCvPonWJMGvQTBDqghoWeLxJfzB2a1pxAr3VgrB0SsSAa"'],
  ];

  for (const [letter, long, value] of COMPACT) {
    test(`${letter} is ${long}`, () => {
      assert.equal(headerKey(letter), long);
      assert.equal(headerKey(letter.toUpperCase()), long);
      // the long form of the header, if the base message has one, is replaced by the compact one
      const lines = [...HEADERS.filter((h) => headerKey(h.slice(0, h.indexOf(':'))) !== long), `${letter}: ${value}`];
      const m = request(wire([START, ...lines]));
      assert.equal(m.headers.get(long), value);
      assert.equal(m.headers.count(long), 1);
      assert.equal(m.headers.get(letter), value);
    });
  }

  test('typed accessors read compact headers', () => {
    const m = request(wire([
      START,
      'v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKcompact',
      'f: <sip:alice@atlanta.example.com>;tag=f1',
      't: <sip:bob@biloxi.example.com>;tag=t1',
      'i: compact@pc33',
      'CSeq: 1 INVITE',
      'm: <sip:alice@pc33.atlanta.example.com>',
      'k: timer',
      'x: 90',
      'c: application/sdp',
      'l: 0',
    ]));
    const h = m.headers;
    assert.equal(h.topVia?.branch, 'z9hG4bKcompact');
    assert.equal(h.from?.tag, 'f1');
    assert.equal(h.to?.tag, 't1');
    assert.equal(h.callId, 'compact@pc33');
    assert.equal(h.contact.length, 1);
    assert.deepEqual(h.supported, ['timer']);
    assert.equal(h.sessionExpires?.seconds, 90);
    assert.equal(h.contentType?.value, 'application/sdp');
    assert.equal(h.contentLength, 0);
    assert.equal(validateMessage(m), undefined);
  });
});

describe('parseMessage: line folding', () => {
  test('continuation lines are joined to the value with one space', () => {
    const m = request(invite(["Subject: I know you're there,", '      pick up the phone', '\tand talk to me!']));
    assert.equal(m.headers.get('Subject'), "I know you're there, pick up the phone and talk to me!");
  });

  test('a value that starts on a continuation line (empty first line) has no leading space', () => {
    const m = request(invite(['Subject:', '   lunch?']));
    assert.equal(m.headers.get('Subject'), 'lunch?');
  });

  test('a folded Call-ID with an empty first line is read whole', () => {
    const m = request(withHeaders([...HEADERS.filter((h) => !h.startsWith('Call-ID')), 'Call-ID:', ' folded@host']));
    assert.equal(m.headers.callId, 'folded@host');
  });

  test('typed headers read their folded values', () => {
    const m = request(withHeaders([
      'Via: SIP/2.0/UDP pc33.atlanta.example.com', '  ;branch=z9hG4bKfolded',
      ...HEADERS.filter((h) => !h.startsWith('Via')),
    ]));
    assert.equal(m.headers.topVia?.branch, 'z9hG4bKfolded');
  });

  test('a continuation line before any header is refused', () => {
    assert.equal(refusal(wire([START, ' folded', ...HEADERS])).code, 'bad-header-line');
  });
});

describe('parseMessage: multi-value headers', () => {
  test('Via values split on commas and across lines, in order', () => {
    const m = request(withHeaders([
      'Via: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/TCP b.example;branch=z9hG4bK2',
      'Via: SIP/2.0/TLS c.example;branch=z9hG4bK3',
      ...HEADERS.filter((h) => !h.startsWith('Via')),
    ]));
    assert.deepEqual(m.headers.via.map((v) => v.host), ['a.example', 'b.example', 'c.example']);
    assert.deepEqual(m.headers.via.map((v) => v.transport), ['UDP', 'TCP', 'TLS']);
  });

  test('a comma inside a quoted Via parameter does not split the value', () => {
    const m = request(withHeaders([
      'Via: SIP/2.0/UDP a.example;branch=z9hG4bK1;note="x, y", SIP/2.0/UDP b.example;branch=z9hG4bK2',
      ...HEADERS.filter((h) => !h.startsWith('Via')),
    ]));
    assert.equal(m.headers.via.length, 2);
    assert.equal(m.headers.via[0]?.param('note'), 'x, y');
  });

  test('a comma inside a quoted display name does not split Contact', () => {
    const m = request(withHeaders([
      ...HEADERS.filter((h) => !h.startsWith('Contact')),
      'Contact: "Doe, John" <sip:john@pc.example>, <sip:jane@pc.example>;q=0.5',
    ]));
    const c = m.headers.contact;
    assert.equal(c.length, 2);
    assert.equal(c[0]?.displayName, 'Doe, John');
    assert.equal(c[1]?.param('q'), '0.5');
  });

  test('a comma inside <> does not split Contact', () => {
    const m = request(withHeaders([
      ...HEADERS.filter((h) => !h.startsWith('Contact')),
      'Contact: <sip:a,b@pc.example>, <sip:c@pc.example>',
    ]));
    const c = m.headers.contact;
    assert.equal(c.length, 2);
    assert.equal((c[0]?.uri as SipUri).user, 'a,b');
  });

  test('Route values split on commas and across lines, in order', () => {
    const m = request(invite(['Route: <sip:p1.example;lr>, <sip:p2.example;lr>', 'Route: <sip:p3.example;lr>']));
    assert.deepEqual(m.headers.route.map((r) => (r.uri as SipUri).host), ['p1.example', 'p2.example', 'p3.example']);
  });
});

describe('parseMessage: addresses', () => {
  test('a quoted display name keeps its quoted-pair escapes undone', () => {
    const m = request(withHeaders([
      ...HEADERS.filter((h) => !h.startsWith('From')),
      'From: "Alice \\"the\\" \\\\ Great" <sip:alice@atlanta.example.com>;tag=1',
    ]));
    assert.equal(m.headers.from?.displayName, 'Alice "the" \\ Great');
    assert.equal(m.headers.from?.tag, '1');
  });

  test('in an addr-spec, ";x" is a header parameter', () => {
    const m = request(withHeaders([...HEADERS.filter((h) => !h.startsWith('To')), 'To: sip:bob@biloxi.example.com;tag=abc']));
    const to = m.headers.to;
    assert.equal(to?.tag, 'abc');
    assert.deepEqual((to?.uri as SipUri).params, []);
  });

  test('inside <>, ";x" is a URI parameter', () => {
    const m = request(withHeaders([...HEADERS.filter((h) => !h.startsWith('To')), 'To: <sip:bob@biloxi.example.com;tag=abc>']));
    const to = m.headers.to;
    assert.equal(to?.tag, undefined);
    assert.equal((to?.uri as SipUri).param('tag'), 'abc');
  });

  test('an IPv6 reference in Via sent-by and in a Contact URI', () => {
    const m = request(withHeaders([
      'Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK6',
      ...HEADERS.filter((h) => !h.startsWith('Via') && !h.startsWith('Contact')),
      'Contact: <sip:alice@[2001:db8::1]:5070;transport=tcp>',
    ]));
    assert.equal(m.headers.topVia?.host, '[2001:db8::1]');
    assert.equal(m.headers.topVia?.port, 5060);
    const uri = m.headers.contact[0]?.uri as SipUri;
    assert.equal(uri.host, '[2001:db8::1]');
    assert.equal(uri.port, 5070);
  });
});

describe('parseMessage: Content-Length and body', () => {
  test('the body is exactly Content-Length bytes; extra datagram bytes are ignored', () => {
    const m = request(invite([], 'v=0\r\nextra-bytes', 5));
    assert.equal(Buffer.from(m.body).toString(), 'v=0\r\n');
  });

  test('Content-Length: 0 leaves an empty body whatever follows', () => {
    assert.equal(request(invite([], 'junk', 0)).body.length, 0);
  });

  test('without Content-Length, a datagram body is the rest of the datagram', () => {
    const m = request(invite([], 'v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\n', null));
    assert.equal(Buffer.from(m.body).toString(), 'v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\n');
  });

  test('without Content-Length, a stream frame is refused', () => {
    const err = refusal(invite([], '', null), { framing: 'stream' });
    assert.equal(err.code, 'bad-content-length');
    assert.equal(err.reason, 'Missing Content-Length');
  });

  test('with Content-Length, a stream frame is accepted', () => {
    assert.equal(Buffer.from(request(invite([], 'abc'), { framing: 'stream' }).body).toString(), 'abc');
  });

  test('a Content-Length larger than the bytes available is body-truncated', () => {
    const err = refusal(invite([], 'abc', 4));
    assert.equal(err.code, 'body-truncated');
    assert.equal(err.status, 400);
  });

  test('a negative Content-Length is refused', () => {
    assert.equal(refusal(invite([], '', -1)).code, 'bad-content-length');
  });

  test('a non-digit Content-Length is refused', () => {
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length: 1a'], 'abc')).code, 'bad-content-length');
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length: 0x1'], 'abc')).code, 'bad-content-length');
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length:'], 'abc')).code, 'bad-content-length');
  });

  test('leading zeros in Content-Length are allowed', () => {
    assert.equal(Buffer.from(request(wire([START, ...HEADERS, 'Content-Length: 002'], 'abc')).body).toString(), 'ab');
  });

  test('two Content-Length headers are refused, long and compact forms alike', () => {
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length: 3', 'Content-Length: 3'], 'abc')).code, 'bad-content-length');
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length: 3', 'l: 3'], 'abc')).code, 'bad-content-length');
  });

  test('binary body octets, NUL, CR, LF and non-UTF-8 included, are kept exact', () => {
    const body = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0x00, 0x7f, 0xc3]);
    const m = request(wire([START, ...HEADERS, `Content-Length: ${body.length}`], body));
    assert.deepEqual(Buffer.from(m.body), body);
    assert.equal(m.headerEncoding, 'utf8');
  });

  test('control characters in the body are not header control characters', () => {
    const body = Buffer.from('\x01\x02\x1b[0m');
    assert.deepEqual(Buffer.from(request(invite([], body.toString('latin1'))).body), body);
  });
});

describe('parseMessage: characters', () => {
  test('a NUL in a header value is refused', () => {
    const err = refusal(invite(['Subject: a\x00b']));
    assert.equal(err.code, 'bad-characters');
    assert.equal(err.status, 400);
  });

  test('an ESC or DEL in a header value is refused', () => {
    assert.equal(refusal(invite(['Subject: a\x1bb'])).code, 'bad-characters');
    assert.equal(refusal(invite(['Subject: a\x7fb'])).code, 'bad-characters');
  });

  test('a bare CR inside a header line is refused', () => {
    assert.equal(refusal(invite(['Subject: a\rb'])).code, 'bad-characters');
  });

  test('a control character in the start line is refused', () => {
    assert.equal(refusal(withStart('INVITE sip:bob@biloxi.example.com\x01 SIP/2.0')).code, 'bad-characters');
  });

  test('HTAB is whitespace, not a control character', () => {
    assert.equal(request(invite(['Subject:\tone\ttwo'])).headers.get('subject'), 'one\ttwo');
  });

  test('a control character escaped as a quoted-pair is accepted', () => {
    const m = request(withHeaders([
      ...HEADERS.filter((h) => !h.startsWith('To')),
      'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:bob@biloxi.example.com>',
    ]));
    assert.equal(m.headers.to?.displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
  });

  test('a control character after an escaped backslash is not a quoted-pair', () => {
    // "a\\<NUL>": the backslash pair ends before the NUL, which is then bare
    const err = refusal(withHeaders([
      ...HEADERS.filter((h) => !h.startsWith('To')),
      'To: "a\\\\\x00" <sip:bob@biloxi.example.com>',
    ]));
    assert.equal(err.code, 'bad-characters');
  });
});

describe('parseMessage: header encoding', () => {
  test('UTF-8 header text is decoded as UTF-8', () => {
    const m = request(withHeaders([
      ...HEADERS.filter((h) => !h.startsWith('From')),
      'From: "Zoë Ωmega" <sip:zoe@atlanta.example.com>;tag=1',
    ]));
    assert.equal(m.headerEncoding, 'utf8');
    assert.equal(m.headers.from?.displayName, 'Zoë Ωmega');
  });

  test('Latin-1 header bytes are read as Latin-1 and survive a round trip byte-exact', () => {
    const lines = [START, ...HEADERS.filter((h) => !h.startsWith('From')),
      'From: "Ren\xe9e M\xfcller" <sip:renee@atlanta.example.com>;tag=1', 'Subject: caf\xe9', 'Content-Length: 2'];
    const data = Buffer.from(lines.join(CRLF) + CRLF + CRLF + 'hi', 'latin1');
    const m = request(data);
    assert.equal(m.headerEncoding, 'latin1');
    assert.equal(m.headers.from?.displayName, 'Renée Müller');
    assert.equal(m.headers.get('Subject'), 'café');
    assert.deepEqual(serializeMessage(m), data);
  });
});

describe('parseMessage: limits', () => {
  /** A datagram of exactly `size` bytes: the usual INVITE with its body (no Content-Length) padded. */
  function ofSize(size: number): Buffer {
    const head = wire([START, ...HEADERS]);
    return Buffer.concat([head, Buffer.alloc(size - head.length, 0x61)]);
  }

  test('a message of 65,535 bytes is accepted', () => {
    assert.equal(request(ofSize(65_535)).body.length, 65_535 - wire([START, ...HEADERS]).length);
  });

  test('a message over 65,535 bytes is refused with 513 message-too-large', () => {
    const err = refusal(ofSize(65_536));
    assert.equal(err.code, 'message-too-large');
    assert.equal(err.status, 513);
    assert.equal(err.reason, 'Message Too Large');
  });

  test('256 header lines are accepted, 257 refused as too-many-headers', () => {
    const fill = (n: number) => Array.from({ length: n - HEADERS.length }, (_, i) => `X-Fill-${i}: ${i}`);
    assert.equal(request(wire([START, ...HEADERS, ...fill(256)])).headers.size, 256);
    const err = refusal(wire([START, ...HEADERS, ...fill(257)]));
    assert.equal(err.code, 'too-many-headers');
    assert.equal(err.status, 400);
  });

  test('a header line of 8,192 characters is accepted, 8,193 refused as header-line-too-long', () => {
    const line = (length: number) => 'X-Long: ' + 'a'.repeat(length - 'X-Long: '.length);
    assert.equal(request(invite([line(8_192)])).headers.get('x-long')?.length, 8_192 - 8);
    assert.equal(refusal(invite([line(8_193)])).code, 'header-line-too-long');
  });

  test('a folded header counts its joined length against the line limit', () => {
    const half = 'a'.repeat(5_000);
    assert.equal(refusal(invite([`X-Long: ${half}`, ` ${half}`])).code, 'header-line-too-long');
  });

  test('a start line counts against the line limit', () => {
    const long = `INVITE sip:${'a'.repeat(8_200)}@biloxi.example.com SIP/2.0`;
    assert.equal(refusal(withStart(long)).code, 'header-line-too-long');
  });

  test('options.limits lowers maxMessageBytes', () => {
    const data = invite();
    assert.equal(refusal(data, { limits: { maxMessageBytes: data.length - 1 } }).code, 'message-too-large');
    assert.equal(request(data, { limits: { maxMessageBytes: data.length } }).method, 'INVITE');
  });

  test('options.limits lowers maxHeaders', () => {
    const data = invite();
    assert.equal(refusal(data, { limits: { maxHeaders: HEADERS.length } }).code, 'too-many-headers');
    assert.equal(request(data, { limits: { maxHeaders: HEADERS.length + 1 } }).method, 'INVITE');
  });

  test('options.limits lowers maxHeaderLineLength', () => {
    const limits = { maxHeaderLineLength: 100 };
    assert.equal(refusal(invite(['X-Long: ' + 'a'.repeat(93)]), { limits }).code, 'header-line-too-long');
    assert.equal(request(invite(['X-Long: ' + 'a'.repeat(92)]), { limits }).method, 'INVITE');
  });

  test('options.limits raises a limit and keeps the others at their defaults', () => {
    const many = Array.from({ length: 300 }, (_, i) => `X-Fill-${i}: ${i}`);
    assert.equal(request(invite(many), { limits: { maxHeaders: 1_000 } }).headers.size, HEADERS.length + 301);
    const big = Buffer.concat([wire([START, ...HEADERS]), Buffer.alloc(70_000, 0x61)]);
    assert.equal(refusal(big, { limits: { maxHeaders: 1_000 } }).code, 'message-too-large');
  });
});

describe('parseMessage: malformed headers every element reads', () => {
  const cases: readonly (readonly [string, string, string])[] = [
    ['CSeq', 'CSeq: x INVITE', 'CSeq'],
    ['Via', 'Via: SIP/2.0/UDP', 'Via'],
    ['From', 'From: <sip:alice@atlanta.example.com', 'From'],
    ['To', 'To: "Bob <sip:bob@biloxi.example.com>', 'To'],
    ['Call-ID', 'Call-ID: a b', 'Call-ID'],
    ['Max-Forwards', 'Max-Forwards: 256', 'Max-Forwards'],
    ['Contact', 'Contact: <sip:alice@pc33.atlanta.example.com>;;', 'Contact'],
  ];
  for (const [label, line, prefix] of cases) {
    test(`a malformed ${label} is refused as "Bad ${label}" naming the header`, () => {
      const err = refusal(withHeaders([...HEADERS.filter((h) => !h.startsWith(prefix + ':')), line]));
      assert.equal(err.code, 'bad-header-value');
      assert.equal(err.reason, `Bad ${label}`);
      assert.equal(err.header, label);
      assert.equal(err.status, 400);
      assert.equal(err.message, `Bad ${label}`);
      assert.equal(err.name, 'SipParseError');
    });
  }

  test('a malformed Expires is refused at parse time', () => {
    assert.equal(refusal(invite(['Expires: soon'])).reason, 'Bad Expires');
  });

  test('a Date outside GMT is refused at parse time', () => {
    const err = refusal(invite(['Date: Sat, 13 Nov 2010 23:29:00 PST']));
    assert.equal(err.reason, 'Bad Date');
    assert.equal(err.header, 'Date');
  });

  test('a malformed header nobody reads eagerly does not refuse the message', () => {
    const m = request(invite(['Refer-To: not a uri', 'Session-Expires: soon']));
    assert.equal(m.headers.get('Refer-To'), 'not a uri');
  });
});

describe('validateMessage', () => {
  const valid = () => request(invite());

  test('a complete request passes', () => {
    assert.equal(validateMessage(valid()), undefined);
  });

  test('a complete response passes', () => {
    assert.equal(validateMessage(response(wire(['SIP/2.0 200 OK', ...RESPONSE_HEADERS, 'Content-Length: 0']))), undefined);
  });

  for (const [label, prefix] of [['Call-ID', 'Call-ID:'], ['From', 'From:'], ['To', 'To:'], ['CSeq', 'CSeq:']] as const) {
    test(`a missing ${label} is "Missing ${label}"`, () => {
      const err = validateMessage(request(withHeaders(HEADERS.filter((h) => !h.startsWith(prefix)))));
      assert.ok(err instanceof SipParseError);
      assert.equal(err.code, 'missing-header');
      assert.equal(err.reason, `Missing ${label}`);
      assert.equal(err.header, label);
      assert.equal(err.status, 400);
    });

    test(`a duplicate ${label} is "Duplicate ${label}"`, () => {
      const line = HEADERS.find((h) => h.startsWith(prefix)) as string;
      const err = validateMessage(request(withHeaders([...HEADERS, line])));
      assert.equal(err?.code, 'duplicate-header');
      assert.equal(err?.reason, `Duplicate ${label}`);
      assert.equal(err?.header, label);
    });
  }

  test('a compact and a long Call-ID together are a duplicate', () => {
    const err = validateMessage(request(withHeaders([...HEADERS, 'i: other@host'])));
    assert.equal(err?.reason, 'Duplicate Call-ID');
  });

  test('a missing Via is "Missing Via"', () => {
    const err = validateMessage(request(withHeaders(HEADERS.filter((h) => !h.startsWith('Via')))));
    assert.equal(err?.code, 'missing-header');
    assert.equal(err?.reason, 'Missing Via');
    assert.equal(err?.header, 'Via');
  });

  test('two Max-Forwards are "Duplicate Max-Forwards"', () => {
    const err = validateMessage(request(withHeaders([...HEADERS, 'Max-Forwards: 70'])));
    assert.equal(err?.code, 'duplicate-header');
    assert.equal(err?.reason, 'Duplicate Max-Forwards');
  });

  test('a CSeq method other than the request method is a mismatch', () => {
    const err = validateMessage(request(withHeaders([...HEADERS.filter((h) => !h.startsWith('CSeq')), 'CSeq: 314159 BYE'])));
    assert.equal(err?.code, 'cseq-method-mismatch');
    assert.equal(err?.header, 'CSeq');
    assert.equal(err?.status, 400);
  });

  test('the CSeq method is compared case-sensitively', () => {
    const err = validateMessage(request(withHeaders([...HEADERS.filter((h) => !h.startsWith('CSeq')), 'CSeq: 314159 invite'])));
    assert.equal(err?.code, 'cseq-method-mismatch');
  });

  test('a response may carry any CSeq method', () => {
    const m: SipMessage = response(wire(['SIP/2.0 200 OK', ...RESPONSE_HEADERS.filter((h) => !h.startsWith('CSeq')), 'CSeq: 2 BYE']));
    assert.equal(validateMessage(m), undefined);
  });
});
