// Unit tests of the routing-field fast path, alone and against the full parser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipParseError } from './errors.js';
import type { SipMessage } from './message.js';
import { parseMessage } from './parser.js';
import { looksLikeResponse, readRoutingFields, routingFieldsOf, type RoutingFields } from './routing-fields.js';

const CRLF = '\r\n';
const wire = (lines: readonly string[], body = '') => Buffer.from(lines.join(CRLF) + CRLF + CRLF + body);

const REQUEST = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>;tag=to-1',
  'From: Alice <sip:alice@atlanta.example.com>;tag=from-1',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Content-Length: 0',
];

/** REQUEST with the header whose name starts `prefix` replaced by `lines` (in place). */
function replace(prefix: string, ...lines: string[]): string[] {
  const i = REQUEST.findIndex((l) => l.startsWith(prefix));
  assert.ok(i > 0, prefix);
  return [...REQUEST.slice(0, i), ...lines, ...REQUEST.slice(i + 1)];
}

const fromModel = routingFieldsOf;

describe('readRoutingFields', () => {
  test('reads every field of a request', () => {
    assert.deepEqual(readRoutingFields(wire(REQUEST)), {
      kind: 'request', method: 'INVITE', status: 0,
      callId: 'a84b4c76e66710@pc33.atlanta.example.com', branch: 'z9hG4bK776asdhds',
      toTag: 'to-1', fromTag: 'from-1', cseq: 314159, cseqMethod: 'INVITE',
    });
  });

  test('reads a response; its method is the CSeq method', () => {
    const f = readRoutingFields(wire(['SIP/2.0 486 Busy Here', ...REQUEST.slice(1)].map((l) => l.replace('314159 INVITE', '7 BYE'))));
    assert.equal(f.kind, 'response');
    assert.equal(f.status, 486);
    assert.equal(f.method, 'BYE');
    assert.equal(f.cseq, 7);
    assert.equal(f.cseqMethod, 'BYE');
  });

  test('the response version is case-insensitive', () => {
    assert.equal(readRoutingFields(wire(['sip/2.0 200 OK', ...REQUEST.slice(1)])).kind, 'response');
  });

  test('reads compact header names', () => {
    const f = readRoutingFields(wire([
      'BYE sip:bob@biloxi.example.com SIP/2.0',
      'v: SIP/2.0/UDP h.example;branch=z9hG4bKc',
      't: <sip:bob@biloxi.example.com>;tag=tc',
      'f: <sip:alice@atlanta.example.com>;tag=fc',
      'i: compact@h',
      'CSeq: 3 BYE',
    ]));
    assert.deepEqual([f.branch, f.toTag, f.fromTag, f.callId], ['z9hG4bKc', 'tc', 'fc', 'compact@h']);
  });

  test('header names are case-insensitive and may have whitespace before the colon', () => {
    const f = readRoutingFields(wire([
      'BYE sip:bob@biloxi.example.com SIP/2.0',
      'VIA : SIP/2.0/UDP h.example;branch=z9hG4bKu',
      'tO: <sip:bob@biloxi.example.com>;TAG=tu',
      'FROM\t: <sip:alice@atlanta.example.com>;tag=fu',
      'CALL-id: upper@h',
      'cseq: 3 BYE',
    ]));
    assert.deepEqual([f.branch, f.toTag, f.fromTag, f.callId, f.cseq], ['z9hG4bKu', 'tu', 'fu', 'upper@h', 3]);
  });

  test('reads folded headers', () => {
    const f = readRoutingFields(wire([
      'BYE sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP h.example', '   ;branch=z9hG4bKfold',
      'To: <sip:bob@biloxi.example.com>', '\t;tag=tfold',
      'From: <sip:alice@atlanta.example.com>;tag=ffold',
      'Call-ID: fold@h',
      'CSeq: 3', '  BYE',
    ]));
    assert.deepEqual([f.branch, f.toTag, f.cseq, f.cseqMethod], ['z9hG4bKfold', 'tfold', 3, 'BYE']);
  });

  test('reads folded headers whose first line is empty', () => {
    const f = readRoutingFields(wire(replace('Call-ID', 'Call-ID:', '  folded@h').map((l) => l === 'CSeq: 314159 INVITE' ? 'CSeq:\r\n 9 INVITE' : l)));
    assert.equal(f.callId, 'folded@h');
    assert.equal(f.cseq, 9);
    assert.equal(f.cseqMethod, 'INVITE');
  });

  test('only the first value of the first Via counts', () => {
    const f = readRoutingFields(wire(replace('Via',
      'Via: SIP/2.0/UDP p1.example;branch=z9hG4bKfirst, SIP/2.0/UDP p2.example;branch=z9hG4bKsecond',
      'Via: SIP/2.0/UDP p3.example;branch=z9hG4bKthird')));
    assert.equal(f.branch, 'z9hG4bKfirst');
  });

  test('a first Via without a branch gives an empty branch, not a later one', () => {
    const f = readRoutingFields(wire(replace('Via',
      'Via: SIP/2.0/UDP p1.example, SIP/2.0/UDP p2.example;branch=z9hG4bKsecond',
      'Via: SIP/2.0/UDP p3.example;branch=z9hG4bKthird')));
    assert.equal(f.branch, '');
  });

  test('a comma in a quoted Via parameter does not end the first Via', () => {
    const f = readRoutingFields(wire(replace('Via', 'Via: SIP/2.0/UDP p1.example;x="a, b";branch=z9hG4bKq, SIP/2.0/UDP p2.example;branch=z9hG4bKno')));
    assert.equal(f.branch, 'z9hG4bKq');
  });

  test('a branch inside a quoted Via parameter is not the branch', () => {
    const f = readRoutingFields(wire(replace('Via', 'Via: SIP/2.0/UDP p1.example;x="y;branch=fake";branch=z9hG4bKreal')));
    assert.equal(f.branch, 'z9hG4bKreal');
  });

  test('a tag inside a quoted display name is not the tag', () => {
    const f = readRoutingFields(wire(replace('To', 'To: "Bob;tag=fake" <sip:bob@biloxi.example.com>;tag=real')));
    assert.equal(f.toTag, 'real');
    const g = readRoutingFields(wire(replace('To', 'To: "Bob;tag=fake <sip:x@y>;tag=x" <sip:bob@biloxi.example.com>')));
    assert.equal(g.toTag, '');
  });

  test('a tag inside the <URI> is a URI parameter, not the tag', () => {
    const f = readRoutingFields(wire(replace('From', 'From: <sip:alice@atlanta.example.com;tag=uri>')));
    assert.equal(f.fromTag, '');
  });

  test('in an addr-spec, ;tag is the tag', () => {
    const f = readRoutingFields(wire(replace('From', 'From: sip:alice@atlanta.example.com;tag=spec')));
    assert.equal(f.fromTag, 'spec');
  });

  test('the first of repeated To, From, Call-ID and CSeq counts', () => {
    const f = readRoutingFields(wire([...REQUEST.slice(0, -1), 'To: <sip:x@y>;tag=second', 'Call-ID: second@h', 'CSeq: 1 BYE', 'Content-Length: 0']));
    assert.equal(f.toTag, 'to-1');
    assert.equal(f.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(f.cseq, 314159);
  });

  test('absent fields are empty', () => {
    const f = readRoutingFields(wire(['OPTIONS sip:b.example SIP/2.0', 'Max-Forwards: 70']));
    assert.deepEqual(f, { kind: 'request', method: 'OPTIONS', status: 0, callId: '', branch: '', toTag: '', fromTag: '', cseq: 0, cseqMethod: '' });
  });

  test('CRLFs before the start line are skipped', () => {
    assert.equal(readRoutingFields(Buffer.concat([Buffer.from('\r\n\r\n'), wire(REQUEST)])).method, 'INVITE');
  });

  test('the body is not read, even when it looks like headers', () => {
    const f = readRoutingFields(wire(replace('Content-Length', 'Content-Length: 24'), 'Call-ID: body@h\r\nTo: x\r\n'));
    assert.equal(f.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
  });

  test('UTF-8 quoted tags are decoded as UTF-8', () => {
    const f = readRoutingFields(wire(replace('To', 'To: <sip:bob@biloxi.example.com>;tag="Zoë"')));
    assert.equal(f.toTag, 'Zoë');
  });

  test('a start line without SP is refused', () => {
    assert.throws(() => readRoutingFields(wire(['INVITE', ...REQUEST.slice(1)])), SipParseError);
  });

  test('a response with a status code out of range is refused', () => {
    assert.throws(() => readRoutingFields(wire(['SIP/2.0 99 Low', ...REQUEST.slice(1)])), (err) => err instanceof SipParseError && err.code === 'bad-status-code');
    assert.throws(() => readRoutingFields(wire(['SIP/2.0 700 High', ...REQUEST.slice(1)])), SipParseError);
  });
});

describe('readRoutingFields agrees with parseMessage', () => {
  const latin1 = (lines: readonly string[]) => Buffer.from(lines.join(CRLF) + CRLF + CRLF, 'latin1');
  const messages: Record<string, Buffer> = {
    'plain request': wire(REQUEST),
    'response to a BYE': wire(['SIP/2.0 200 OK', ...REQUEST.slice(1).map((l) => l.replace('314159 INVITE', '2 BYE'))]),
    'status 100 with empty reason': wire(['SIP/2.0 100 ', ...replace('To', 'To: <sip:bob@biloxi.example.com>').slice(1)]),
    'compact forms': wire([
      'SUBSCRIBE sip:bob@biloxi.example.com SIP/2.0',
      'v: SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bK6;rport', 'f: sip:alice@a.example;tag=addr-spec', 't: <sip:bob@b.example>',
      'i: sub@h', 'CSeq: 1 SUBSCRIBE', 'o: presence', 'l: 0',
    ]),
    'folded everything': wire([
      'NOTIFY sip:alice@a.example SIP/2.0',
      'Via:', ' SIP/2.0/UDP h.example', '  ;branch=z9hG4bKff',
      'To:', ' "Al, ice" <sip:alice@a.example>', ' ;tag=tt',
      'From: <sip:bob@b.example>;', ' tag=ff',
      'Call-ID:', '\tff@h',
      'CSeq:', ' 4', ' NOTIFY',
    ]),
    'quoted tricks': wire([
      'INFO sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP p1.example;note="x, y;branch=no";branch=z9hG4bKyes, SIP/2.0/UDP p2.example;branch=z9hG4bKno',
      'To: "Bob \\"tag=no\\" <x>" <sip:bob@biloxi.example.com;tag=uri>;tag=yes',
      'From: "Al;tag=no" <sip:alice@a.example>;x="tag=no";tag="quoted-yes"',
      'Call-ID: q@h', 'CSeq: 8 INFO',
    ]),
    'branch and tag in upper-case parameter names': wire([
      'BYE sip:b.example SIP/2.0', 'Via: SIP/2.0/UDP h.example;BRANCH=z9hG4bKup', 'To: <sip:b.example>;Tag=UPPER',
      'From: <sip:a.example>;TAG=x', 'Call-ID: up@h', 'CSeq: 1 BYE',
    ]),
    'leading zeros and extra whitespace in CSeq': wire([...replace('CSeq', 'CSeq:  000042 \t INVITE ')]),
    'repeated headers': wire([...REQUEST.slice(0, -1), 'Via: SIP/2.0/UDP later.example;branch=z9hG4bKlater', 'From: <sip:x@y>;tag=later', 'Content-Length: 0']),
    'missing tags and Via': wire(['OPTIONS sip:b.example SIP/2.0', 'To: <sip:b.example>', 'From: <sip:a.example>', 'Call-ID: o@h', 'CSeq: 1 OPTIONS']),
    'bare LF line ends': Buffer.from(REQUEST.join('\n') + '\n\n'),
    'UTF-8 quoted tag': wire(replace('From', 'From: <sip:alice@a.example>;tag="Ωmega"')),
    'Latin-1 quoted tag': latin1(replace('From', 'From: "Ren\xe9e" <sip:alice@a.example>;tag="caf\xe9"')),
    'leading CRLFs and a body': Buffer.concat([Buffer.from('\r\n'), wire(replace('Content-Length', 'Content-Length: 9'), 'To: x\r\n\r\n')]),
    'tel Request-URI, IPv6 Via without port': wire(['MESSAGE tel:+14155550100 SIP/2.0', 'Via: SIP/2.0/UDP [2001:db8::2];branch=z9hG4bKv6',
      ...REQUEST.slice(2).map((l) => l.replace('314159 INVITE', '1 MESSAGE'))]),
  };

  for (const [name, data] of Object.entries(messages)) {
    test(name, () => {
      assert.deepEqual(readRoutingFields(data), fromModel(parseMessage(data)));
    });
  }
});

describe('readRoutingFields: start lines it refuses', () => {
  test('a status code of more than three digits', () => {
    assert.throws(() => readRoutingFields(Buffer.from('SIP/2.0 2000 OK\r\nCall-ID: x\r\n\r\n')), { code: 'bad-status-code' });
  });
  test('a request line that does not end in SIP/2.0: 505 for another version, 400 otherwise', () => {
    assert.throws(() => readRoutingFields(Buffer.from('OPTIONS sip:a@b SIP/3.0\r\nCall-ID: x\r\n\r\n')), { code: 'bad-version', status: 505 });
    assert.throws(() => readRoutingFields(Buffer.from('OPTIONS sip:a@b SIP/2.0  \r\nCall-ID: x\r\n\r\n')), { code: 'bad-start-line' });
    assert.throws(() => readRoutingFields(Buffer.from('OPTIONS sip:a@b\r\nCall-ID: x\r\n\r\n')), { code: 'bad-start-line' });
  });
});

describe('looksLikeResponse', () => {
  test('a status line, in any case, after leading CRLFs; requests and garbage are not', () => {
    assert.equal(looksLikeResponse(Buffer.from('SIP/2.0 200 OK\r\n')), true);
    assert.equal(looksLikeResponse(Buffer.from('\r\nsip/2.0 180 Ringing\r\n')), true);
    assert.equal(looksLikeResponse(Buffer.from('INVITE sip:a@b SIP/2.0\r\n')), false);
    assert.equal(looksLikeResponse(Buffer.from([0, 1, 2])), false);
    assert.equal(looksLikeResponse(Buffer.alloc(0)), false);
  });
});
