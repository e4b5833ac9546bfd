// Unit tests of the parser's header section (RFC 3261 §7.3, §20, §25): lines, compact forms, folding, lists, addresses, characters.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { headerKey } from './headers.js';
import { validateMessage } from './parser.js';
import { serializeMessage } from './serializer.js';
import { SipUri } from './uri.js';
import { CRLF, HEADERS, invite, refusal, request, START, wire, withHeaders, withStart } from './testing/parser-fixtures.js';

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
