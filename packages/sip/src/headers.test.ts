// Unit tests of the header collection: names, mutation, typed accessors, caching.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipParseError } from './errors.js';
import { canonicalHeaderName, headerKey, Headers } from './headers.js';
import { NameAddr } from './name-addr.js';
import { parseMessage } from './parser.js';
import { serializeMessage } from './serializer.js';
import { SipUri, TelUri } from './uri.js';

const CRLF = '\r\n';
const BASE = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
];

/** The headers of a parsed INVITE carrying `extra` lines. */
function parsed(...extra: string[]): Headers {
  return parseMessage(Buffer.from([...BASE, ...extra, 'Content-Length: 0'].join(CRLF) + CRLF + CRLF)).headers;
}

/** Headers built directly from `name: value` lines (no parsing of the message). */
function headers(...lines: string[]): Headers {
  return new Headers(lines.map((l) => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon), l.slice(colon + 1).trim()] as const;
  }));
}

function errorOf(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SipParseError, `not a SipParseError: ${String(err)}`);
    return err;
  }
  assert.fail('no error was thrown');
}

describe('header names', () => {
  test('headerKey lower-cases long names', () => {
    assert.equal(headerKey('Call-ID'), 'call-id');
    assert.equal(headerKey('CSEQ'), 'cseq');
    assert.equal(headerKey('X-Custom'), 'x-custom');
  });

  test('headerKey expands compact forms of either case, and leaves unknown letters alone', () => {
    assert.equal(headerKey('v'), 'via');
    assert.equal(headerKey('V'), 'via');
    assert.equal(headerKey('z'), 'z');
  });

  test('canonicalHeaderName spells the conventional form', () => {
    assert.equal(canonicalHeaderName('call-id'), 'Call-ID');
    assert.equal(canonicalHeaderName('CSEQ'), 'CSeq');
    assert.equal(canonicalHeaderName('www-authenticate'), 'WWW-Authenticate');
    assert.equal(canonicalHeaderName('min-se'), 'Min-SE');
    assert.equal(canonicalHeaderName('p-asserted-identity'), 'P-Asserted-Identity');
    assert.equal(canonicalHeaderName('refer-to'), 'Refer-To');
    assert.equal(canonicalHeaderName('x-my-header'), 'X-My-Header');
    assert.equal(canonicalHeaderName('i'), 'Call-ID');
    assert.equal(canonicalHeaderName('r'), 'Refer-To');
  });
});

describe('Headers: the collection', () => {
  test('keeps entries in order with names as written', () => {
    const h = headers('X-B: 1', 'x-A: 2', 'X-B: 3');
    assert.deepEqual([...h], [['X-B', '1'], ['x-A', '2'], ['X-B', '3']]);
    assert.equal(h.size, 3);
  });

  test('get returns the first line, getAll every line, count and has see all spellings', () => {
    const h = headers('Via: a', 'v: b', 'VIA: c');
    assert.equal(h.get('via'), 'a');
    assert.deepEqual(h.getAll('V'), ['a', 'b', 'c']);
    assert.equal(h.count('Via'), 3);
    assert.ok(h.has('v'));
    assert.ok(!h.has('Route'));
    assert.equal(h.get('Route'), undefined);
    assert.deepEqual(h.getAll('Route'), []);
  });

  test('forEachEntry passes name as written, value and long lower-case key', () => {
    const seen: string[][] = [];
    parsed('s: hi', 'X-Thing: 1').forEachEntry((name, value, key) => seen.push([name, value, key]));
    assert.deepEqual(seen.slice(-3), [['s', 'hi', 'subject'], ['X-Thing', '1', 'x-thing'], ['Content-Length', '0', 'content-length']]);
  });

  test('add spells compact and lower-case names canonically, keeps other spellings', () => {
    const h = new Headers().add('i', 'a@b').add('call-id', 'c@d').add('X-lowerUPPER', '1').add('max-forwards', 70);
    assert.deepEqual([...h].map(([n]) => n), ['Call-ID', 'Call-ID', 'X-lowerUPPER', 'Max-Forwards']);
    assert.equal(h.get('Max-Forwards'), '70');
  });

  test('add stringifies objects', () => {
    const h = new Headers().add('To', new NameAddr(new SipUri({ user: 'bob', host: 'b.example' }), 'Bob'));
    assert.equal(h.get('To'), '"Bob" <sip:bob@b.example>');
  });

  test('prepend inserts before the first line of the same header', () => {
    const h = headers('From: a', 'Via: 1', 'Via: 2').prepend('Via', '0');
    assert.deepEqual(h.getAll('Via'), ['0', '1', '2']);
    assert.deepEqual([...h].map(([, v]) => v), ['a', '0', '1', '2']);
  });

  test('prepend without a header of that name inserts first', () => {
    const h = headers('From: a').prepend('Record-Route', '<sip:p.example;lr>');
    assert.deepEqual([...h][0], ['Record-Route', '<sip:p.example;lr>']);
  });

  test('set replaces every line where the first stood', () => {
    const h = headers('X-A: 1', 'X-Set: old1', 'X-B: 2', 'X-Set: old2').set('X-Set', 'new');
    assert.deepEqual([...h], [['X-A', '1'], ['X-Set', 'new'], ['X-B', '2']]);
  });

  test('set with a list writes one line per value', () => {
    const h = headers('X-A: 1', 'Route: old', 'X-B: 2').set('Route', ['<sip:p1;lr>', '<sip:p2;lr>']);
    assert.deepEqual([...h].map(([, v]) => v), ['1', '<sip:p1;lr>', '<sip:p2;lr>', '2']);
  });

  test('set appends a header that was absent', () => {
    const h = headers('X-A: 1').set('subject', 'hi');
    assert.deepEqual([...h], [['X-A', '1'], ['Subject', 'hi']]);
  });

  test('remove deletes every line, under any spelling, and counts them', () => {
    const h = headers('Via: a', 'X-A: 1', 'v: b');
    assert.equal(h.remove('VIA'), 2);
    assert.deepEqual([...h], [['X-A', '1']]);
    assert.equal(h.remove('Via'), 0);
  });

  test('removeFirstValue drops the first value of a comma list and keeps the rest of its line', () => {
    const h = headers('Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2', 'Via: SIP/2.0/UDP c;branch=z9hG4bK3');
    h.removeFirstValue('Via');
    assert.deepEqual(h.getAll('Via'), ['SIP/2.0/UDP b;branch=z9hG4bK2', 'SIP/2.0/UDP c;branch=z9hG4bK3']);
    h.removeFirstValue('Via');
    assert.deepEqual(h.getAll('Via'), ['SIP/2.0/UDP c;branch=z9hG4bK3']);
    h.removeFirstValue('Route');
    assert.equal(h.size, 1);
  });

  test('clone is independent of the original', () => {
    const h = headers('Subject: a');
    const c = h.clone();
    c.set('Subject', 'b');
    c.add('X-A', '1');
    assert.equal(h.get('Subject'), 'a');
    assert.equal(h.size, 1);
    assert.equal(c.get('Subject'), 'b');
  });
});

describe('Headers: typed accessors', () => {
  test('via lists every value in order; topVia is the first', () => {
    const h = parsed().clone();
    h.prepend('Via', 'SIP/2.0/TCP proxy.example:5061;branch=z9hG4bKtop;received=192.0.2.9');
    assert.deepEqual(h.via.map((v) => v.host), ['proxy.example', 'pc33.atlanta.example.com']);
    assert.equal(h.topVia?.branch, 'z9hG4bKtop');
    assert.equal(h.topVia?.port, 5061);
    assert.equal(h.topVia?.received, '192.0.2.9');
  });

  test('via is empty and topVia undefined without Via', () => {
    assert.deepEqual(new Headers().via, []);
    assert.equal(new Headers().topVia, undefined);
  });

  test('from and to read name-addr with tag', () => {
    const h = parsed();
    assert.equal(h.from?.displayName, 'Alice');
    assert.equal(h.from?.tag, '1928301774');
    assert.equal((h.to?.uri as SipUri).user, 'bob');
    assert.equal(h.to?.tag, undefined);
  });

  test('callId and cseq', () => {
    const h = parsed();
    assert.equal(h.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(h.cseq?.seq, 314159);
    assert.equal(h.cseq?.method, 'INVITE');
  });

  test('single-valued accessors are undefined when the header is absent', () => {
    const h = new Headers();
    assert.equal(h.from, undefined);
    assert.equal(h.callId, undefined);
    assert.equal(h.cseq, undefined);
    assert.equal(h.maxForwards, undefined);
    assert.equal(h.referTo, undefined);
    assert.equal(h.referToReplaces, undefined);
    assert.equal(h.sessionExpires, undefined);
    assert.deepEqual(h.contact, []);
    assert.deepEqual(h.supported, []);
  });

  test('contact reads every value with its parameters', () => {
    const c = parsed('Contact: <sip:a@pc.example>;expires=60;q=0.7, "B" <sip:b@pc.example>', 'm: sip:c@pc.example;expires=0').contact;
    assert.equal(c.length, 3);
    assert.equal(c[0]?.param('expires'), '60');
    assert.equal(c[1]?.displayName, 'B');
    assert.equal(c[2]?.param('expires'), '0');
  });

  test('Contact: * is the wildcard: no values, isWildcardContact', () => {
    const h = parsed('Contact: *', 'Expires: 0');
    assert.deepEqual(h.contact, []);
    assert.equal(h.isWildcardContact, true);
    assert.equal(h.expires, 0);
    assert.equal(parsed('Contact: <sip:a@pc.example>').isWildcardContact, false);
    assert.equal(parsed().isWildcardContact, false);
  });

  test('a wildcard among other Contact values is malformed', () => {
    assert.equal(errorOf(() => parsed('Contact: *', 'Contact: <sip:a@pc.example>')).reason, 'Bad Contact');
  });

  test('maxForwards reads 0-255', () => {
    assert.equal(parsed().maxForwards, 70);
    assert.equal(headers('Max-Forwards: 0').maxForwards, 0);
    assert.equal(headers('Max-Forwards: 255').maxForwards, 255);
    assert.equal(errorOf(() => headers('Max-Forwards: -1').maxForwards).reason, 'Bad Max-Forwards');
  });

  test('route and recordRoute read bracketed name-addrs in order', () => {
    const h = headers('Route: <sip:p1.example;lr>, <sip:p2.example;lr>', 'Record-Route: <sip:rr1.example;lr>', 'Record-Route: <sip:rr2.example;lr>');
    assert.deepEqual(h.route.map((r) => (r.uri as SipUri).host), ['p1.example', 'p2.example']);
    assert.equal((h.route[0]?.uri as SipUri).param('lr'), null);
    assert.deepEqual(h.recordRoute.map((r) => (r.uri as SipUri).host), ['rr1.example', 'rr2.example']);
  });

  test('route refuses an addr-spec', () => {
    const err = errorOf(() => headers('Route: sip:p1.example;lr').route);
    assert.equal(err.reason, 'Bad Route');
    assert.equal(errorOf(() => headers('Record-Route: sip:p1.example').recordRoute).reason, 'Bad Record-Route');
  });

  test('contentType lower-cases the media type and keeps parameters', () => {
    const ct = headers('Content-Type: Multipart/Mixed ; boundary="unique-boundary-1"').contentType;
    assert.equal(ct?.value, 'multipart/mixed');
    assert.equal(ct?.param('boundary'), 'unique-boundary-1');
  });

  test('contentLength reads the header as a number', () => {
    assert.equal(headers('Content-Length: 42').contentLength, 42);
    assert.equal(headers('l: 007').contentLength, 7);
  });

  test('referTo reads a name-addr', () => {
    const r = headers('Refer-To: <sip:carol@chicago.example.com;method=INVITE>').referTo;
    assert.equal((r?.uri as SipUri).user, 'carol');
    assert.equal((r?.uri as SipUri).param('method'), 'INVITE');
  });

  test('referToReplaces reads the Replaces embedded in the Refer-To URI', () => {
    const h = headers('Refer-To: <sip:bob@b.example?Replaces=abc%40a.example%3Bto-tag%3D1%3Bfrom-tag%3D2>');
    const r = h.referToReplaces;
    assert.equal(r?.callId, 'abc@a.example');
    assert.equal(r?.toTag, '1');
    assert.equal(r?.fromTag, '2');
    assert.equal(r?.earlyOnly, false);
    assert.equal((h.referTo?.uri as SipUri).header('replaces'), 'abc@a.example;to-tag=1;from-tag=2');
  });

  test('referToReplaces is undefined when the Refer-To URI has no Replaces', () => {
    assert.equal(headers('Refer-To: <sip:bob@b.example>').referToReplaces, undefined);
    assert.equal(headers('Refer-To: <tel:+14155550100>').referToReplaces, undefined);
  });

  test('a malformed embedded Replaces is "Bad Refer-To"', () => {
    const err = errorOf(() => headers('Refer-To: <sip:bob@b.example?Replaces=abc%40a.example>').referToReplaces);
    assert.equal(err.code, 'bad-header-value');
    assert.equal(err.reason, 'Bad Refer-To');
    assert.equal(err.header, 'Refer-To');
  });

  test('referredBy reads a name-addr', () => {
    const b = headers('b: "Alice" <sip:alice@atlanta.example.com>;cid="20398823.2UWQFN309shb3@referrer.example"').referredBy;
    assert.equal(b?.displayName, 'Alice');
    assert.equal(b?.param('cid'), '20398823.2UWQFN309shb3@referrer.example');
  });

  test('replaces reads call-id, tags and early-only', () => {
    const r = headers('Replaces: 98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only').replaces;
    assert.equal(r?.callId, '98732@sip.example.com');
    assert.equal(r?.fromTag, 'r33th4x0r');
    assert.equal(r?.toTag, 'ff87ff');
    assert.equal(r?.earlyOnly, true);
  });

  test('event and subscriptionState read a token with parameters', () => {
    const h = headers('o: refer;id=93809824', 'Subscription-State: terminated;reason=noresource');
    assert.equal(h.event?.value, 'refer');
    assert.equal(h.event?.param('id'), '93809824');
    assert.equal(h.subscriptionState?.value, 'terminated');
    assert.equal(h.subscriptionState?.param('reason'), 'noresource');
  });

  test('referSub reads true and false, case-insensitively', () => {
    assert.equal(headers('Refer-Sub: false').referSub, false);
    assert.equal(headers('Refer-Sub: TRUE').referSub, true);
    assert.equal(new Headers().referSub, undefined);
    assert.equal(errorOf(() => headers('Refer-Sub: maybe').referSub).reason, 'Bad Refer-Sub');
  });

  test('supported, require and allow merge every line', () => {
    const h = headers('k: timer, 100rel', 'Supported: replaces', 'Require: 100rel', 'Allow: INVITE, ACK,CANCEL', 'Allow: BYE');
    assert.deepEqual(h.supported, ['timer', '100rel', 'replaces']);
    assert.deepEqual(h.require, ['100rel']);
    assert.deepEqual(h.allow, ['INVITE', 'ACK', 'CANCEL', 'BYE']);
  });

  test('an empty Supported is an empty list', () => {
    assert.deepEqual(headers('Supported:').supported, []);
  });

  test('sessionExpires and minSE read delta-seconds with parameters', () => {
    const h = headers('x: 1800;refresher=uac', 'Min-SE: 90');
    assert.equal(h.sessionExpires?.seconds, 1800);
    assert.equal(h.sessionExpires?.param('refresher'), 'uac');
    assert.equal(h.minSE?.seconds, 90);
  });

  test('retryAfter ignores a comment and keeps parameters', () => {
    const r = headers('Retry-After: 18000 (in five hours);duration=3600').retryAfter;
    assert.equal(r?.seconds, 18000);
    assert.equal(r?.param('duration'), '3600');
  });

  test('reason reads every value with its parameters', () => {
    const r = headers('Reason: Q.850;cause=16;text="Normal call clearing", SIP;cause=200;text="Call completed, elsewhere"').reason;
    assert.equal(r.length, 2);
    assert.equal(r[0]?.value, 'Q.850');
    assert.equal(r[0]?.param('cause'), '16');
    assert.equal(r[1]?.param('text'), 'Call completed, elsewhere');
  });

  test('pAssertedIdentity reads sip and tel identities', () => {
    const p = headers('P-Asserted-Identity: "Cullen Jennings" <sip:fluffy@cisco.example>, <tel:+14085264000>').pAssertedIdentity;
    assert.equal(p.length, 2);
    assert.equal(p[0]?.displayName, 'Cullen Jennings');
    assert.ok(p[1]?.uri instanceof TelUri);
    assert.equal((p[1]?.uri as TelUri).number, '+14085264000');
  });

  test('diversion reads every value, newest first, with parameters', () => {
    const d = headers('Diversion: <sip:+12125550100@pbx.example>;reason=unconditional;counter=1, <sip:+12125550199@pbx.example>;reason=user-busy').diversion;
    assert.equal(d.length, 2);
    assert.equal(d[0]?.param('reason'), 'unconditional');
    assert.equal(d[0]?.param('counter'), '1');
    assert.equal(d[1]?.param('reason'), 'user-busy');
  });

  test('expires reads delta-seconds up to 2**32-1', () => {
    assert.equal(headers('Expires: 3600').expires, 3600);
    assert.equal(headers('Expires: 4294967295').expires, 4294967295);
    assert.equal(errorOf(() => headers('Expires: 4294967296').expires).reason, 'Bad Expires');
  });

  test('date reads an RFC 1123 GMT date as epoch milliseconds', () => {
    assert.equal(headers('Date: Sat, 13 Nov 2010 23:29:00 GMT').date, Date.UTC(2010, 10, 13, 23, 29, 0));
  });

  test('a repeated single-valued header: the first wins, and every line must parse', () => {
    assert.equal(headers('Max-Forwards: 10', 'Max-Forwards: 20').maxForwards, 10);
    assert.equal(errorOf(() => headers('Max-Forwards: 10', 'Max-Forwards: x').maxForwards).reason, 'Bad Max-Forwards');
  });
});

describe('Headers: malformed values refuse lazily', () => {
  const cases: readonly (readonly [string, string, (h: Headers) => unknown])[] = [
    ['Refer-To', 'Refer-To: <sip:carol@chicago.example.com', (h) => h.referTo],
    ['Referred-By', 'Referred-By: <sip:alice@atlanta.example.com>;;', (h) => h.referredBy],
    ['Replaces', 'Replaces: 98732@sip.example.com;from-tag=r33th4x0r', (h) => h.replaces],
    ['Event', 'Event: refer id=1', (h) => h.event],
    ['Subscription-State', 'Subscription-State: active;;', (h) => h.subscriptionState],
    ['Refer-Sub', 'Refer-Sub: yes', (h) => h.referSub],
    ['Supported', 'Supported: timer; 100rel', (h) => h.supported],
    ['Require', 'Require: a b', (h) => h.require],
    ['Allow', 'Allow: INVITE, B@D', (h) => h.allow],
    ['Session-Expires', 'Session-Expires: soon', (h) => h.sessionExpires],
    ['Min-SE', 'Min-SE: -90', (h) => h.minSE],
    ['Retry-After', 'Retry-After: 1.5', (h) => h.retryAfter],
    ['Reason', 'Reason: Q.850;text="open', (h) => h.reason],
    ['P-Asserted-Identity', 'P-Asserted-Identity: Cullen Jennings, <sip:fluffy@cisco.example>', (h) => h.pAssertedIdentity],
    ['Diversion', 'Diversion: <sip:+12125550100@pbx.example>;counter=1 2', (h) => h.diversion],
    ['Content-Type', 'Content-Type: sdp', (h) => h.contentType],
    ['Route', 'Route: sip:p1.example;lr', (h) => h.route],
    ['Record-Route', 'Record-Route: <sip:rr.example;lr', (h) => h.recordRoute],
  ];
  for (const [label, line, read] of cases) {
    test(`a malformed ${label} parses, then throws "Bad ${label}" when read`, () => {
      const h = parsed(line);
      const err = errorOf(() => read(h));
      assert.equal(err.code, 'bad-header-value');
      assert.equal(err.reason, `Bad ${label}`);
      assert.equal(err.header, label);
      assert.equal(err.status, 400);
    });
  }
});

describe('Headers: caching', () => {
  test('a typed value is parsed once and returned as the same object', () => {
    const h = parsed();
    assert.equal(h.from, h.from);
    assert.equal(h.via, h.via);
  });

  test('add invalidates the cached value', () => {
    const h = parsed();
    assert.equal(h.via.length, 1);
    h.add('Via', 'SIP/2.0/UDP b.example;branch=z9hG4bK2');
    assert.equal(h.via.length, 2);
  });

  test('prepend invalidates the cached value', () => {
    const h = parsed();
    assert.equal(h.topVia?.host, 'pc33.atlanta.example.com');
    h.prepend('v', 'SIP/2.0/UDP proxy.example;branch=z9hG4bKp');
    assert.equal(h.topVia?.host, 'proxy.example');
  });

  test('set invalidates the cached value', () => {
    const h = parsed();
    assert.equal(h.to?.tag, undefined);
    h.set('t', '<sip:bob@biloxi.example.com>;tag=xyz');
    assert.equal(h.to?.tag, 'xyz');
  });

  test('remove invalidates the cached value', () => {
    const h = parsed();
    assert.ok(h.callId);
    h.remove('Call-ID');
    assert.equal(h.callId, undefined);
  });

  test('removeFirstValue invalidates the cached value', () => {
    const h = headers('Via: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example;branch=z9hG4bK2');
    assert.equal(h.topVia?.host, 'a.example');
    h.removeFirstValue('Via');
    assert.equal(h.topVia?.host, 'b.example');
  });

  test('a cached absent value is invalidated too', () => {
    const h = new Headers();
    const before = h.cseq;
    assert.equal(before, undefined);
    h.add('CSeq', '1 INVITE');
    assert.equal(h.cseq?.seq, 1);
  });

  test('changing Refer-To invalidates the cached embedded Replaces', () => {
    const h = headers('Refer-To: <sip:bob@b.example?Replaces=abc%40a.example%3Bto-tag%3D1%3Bfrom-tag%3D2>');
    assert.equal(h.referToReplaces?.callId, 'abc@a.example');
    h.set('Refer-To', '<sip:bob@b.example?Replaces=xyz%40a.example%3Bto-tag%3D3%3Bfrom-tag%3D4>');
    assert.equal(h.referToReplaces?.callId, 'xyz@a.example');
    h.remove('Refer-To');
    assert.equal(h.referToReplaces, undefined);
  });

  test('a failed parse is not cached: fixing the header makes it readable', () => {
    const h = headers('Min-SE: soon');
    assert.throws(() => h.minSE, SipParseError);
    h.set('Min-SE', '90');
    assert.equal(h.minSE?.seconds, 90);
  });
});

describe('Headers: unknown headers', () => {
  test('are kept and re-serialised unchanged, in order', () => {
    const unknown = ['X-Zeta: 1', 'NewFangledHeader: newfangled value, "with, commas";and=params', 'x-alpha:  <weird>;;,,', 'X-Zeta: 2'];
    const data = Buffer.from([...BASE.slice(0, 3), unknown[0], ...BASE.slice(3), ...unknown.slice(1), 'Content-Length: 0'].join(CRLF) + CRLF + CRLF);
    const out = serializeMessage(parseMessage(data)).toString();
    const lines = out.split(CRLF);
    const found = lines.filter((l) => /^(x-|newfangled)/i.test(l));
    assert.deepEqual(found, ['X-Zeta: 1', 'NewFangledHeader: newfangled value, "with, commas";and=params', 'x-alpha: <weird>;;,,', 'X-Zeta: 2']);
    assert.ok(lines.indexOf('X-Zeta: 1') < lines.indexOf('To: Bob <sip:bob@biloxi.example.com>'));
  });
});
