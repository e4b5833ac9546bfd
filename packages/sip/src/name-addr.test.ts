// Unit tests of name-addr / addr-spec with header parameters (RFC 3261 §20.10, §25.1).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeaderValueError } from './errors.js';
import { NameAddr, parseNameAddr } from './name-addr.js';
import { AbsoluteUri, SipUri, TelUri } from './uri.js';

const sipUri = (a: NameAddr): SipUri => {
  assert.ok(a.uri instanceof SipUri);
  return a.uri;
};

describe('parseNameAddr: display names', () => {
  test('a quoted display name', () => {
    const a = parseNameAddr('"Alice Liddell" <sip:alice@atlanta.example.com>');
    assert.equal(a.displayName, 'Alice Liddell');
    assert.equal(sipUri(a).user, 'alice');
  });

  test('quoted-pairs in a display name are undone', () => {
    assert.equal(parseNameAddr('"A \\"B\\" \\\\C" <sip:a@h.example>').displayName, 'A "B" \\C');
  });

  test('a comma, semicolon or angle bracket inside quotes is text', () => {
    assert.equal(parseNameAddr('"Doe, John; <boss>" <sip:j@h.example>;tag=1').displayName, 'Doe, John; <boss>');
  });

  test('an unquoted display name of tokens', () => {
    assert.equal(parseNameAddr('Bob <sip:bob@biloxi.example.com>').displayName, 'Bob');
    assert.equal(parseNameAddr('Bob Smith <sip:bob@biloxi.example.com>').displayName, 'Bob Smith');
  });

  test('an unquoted display name with a separator character is refused', () => {
    assert.throws(() => parseNameAddr('Doe, John <sip:j@h.example>'), HeaderValueError);
    assert.throws(() => parseNameAddr('J@ne <sip:j@h.example>'), HeaderValueError);
  });

  test('no display name', () => {
    assert.equal(parseNameAddr('<sip:bob@biloxi.example.com>').displayName, undefined);
    assert.equal(parseNameAddr('sip:bob@biloxi.example.com').displayName, undefined);
  });

  test('an empty quoted display name is empty', () => {
    assert.equal(parseNameAddr('"" <sip:bob@biloxi.example.com>').displayName, '');
  });

  test('whitespace between a quoted display name and < is optional', () => {
    assert.equal(parseNameAddr('"Bob"<sip:bob@biloxi.example.com>').displayName, 'Bob');
    assert.equal(parseNameAddr('  "Bob" \t <sip:bob@biloxi.example.com>').displayName, 'Bob');
  });

  test('an unterminated display name is refused', () => {
    assert.throws(() => parseNameAddr('"Bob <sip:bob@biloxi.example.com>'), HeaderValueError);
  });

  test('a quoted display name must be followed by <URI>', () => {
    assert.throws(() => parseNameAddr('"Bob" sip:bob@biloxi.example.com'), HeaderValueError);
  });
});

describe('parseNameAddr: brackets and parameters', () => {
  test('in an addr-spec, ";x" starts the header parameters', () => {
    const a = parseNameAddr('sip:bob@biloxi.example.com;tag=a6c85cf;expires=60');
    assert.equal(a.tag, 'a6c85cf');
    assert.equal(a.param('expires'), '60');
    assert.deepEqual(sipUri(a).params, []);
  });

  test('inside <>, ";x" is a URI parameter; after > it is a header parameter', () => {
    const a = parseNameAddr('<sip:bob@biloxi.example.com;transport=tcp;lr>;tag=a6c85cf');
    assert.equal(sipUri(a).param('transport'), 'tcp');
    assert.equal(sipUri(a).param('lr'), null);
    assert.equal(sipUri(a).param('tag'), undefined);
    assert.equal(a.tag, 'a6c85cf');
    assert.equal(a.param('transport'), undefined);
  });

  test('a header parameter without a value is a flag (null)', () => {
    const a = parseNameAddr('<sip:a@h.example>;unknownparam');
    assert.equal(a.param('unknownparam'), null);
    assert.equal(a.param('other'), undefined);
  });

  test('a quoted header parameter value is unquoted and may hold ; and ,', () => {
    const a = parseNameAddr('<sip:a@h.example>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";note="a;b,c"');
    assert.equal(a.param('+sip.instance'), '<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>');
    assert.equal(a.param('note'), 'a;b,c');
  });

  test('parameter names are case-insensitive', () => {
    assert.equal(parseNameAddr('<sip:a@h.example>;TAG=x').tag, 'x');
  });

  test('whitespace around header parameters is allowed', () => {
    const a = parseNameAddr('<sip:a@h.example> ;tag = x ; q=0.5 ');
    assert.equal(a.tag, 'x');
    assert.equal(a.param('q'), '0.5');
  });

  test('an empty header parameter is refused', () => {
    assert.throws(() => parseNameAddr('<sip:a@h.example>;;tag=x'), HeaderValueError);
  });

  test('text after > that is not a parameter is refused', () => {
    assert.throws(() => parseNameAddr('<sip:a@h.example> junk'), HeaderValueError);
  });

  test('a missing > is refused', () => {
    assert.throws(() => parseNameAddr('<sip:a@h.example;tag=x'), HeaderValueError);
  });

  test('whitespace inside the brackets is refused', () => {
    assert.throws(() => parseNameAddr('< sip:a@h.example >'), HeaderValueError);
  });

  test('URI headers are allowed inside <>', () => {
    const a = parseNameAddr('<sip:bob@b.example?Replaces=abc%40a.example%3Bto-tag%3D1%3Bfrom-tag%3D2>');
    assert.equal(sipUri(a).header('Replaces'), 'abc@a.example;to-tag=1;from-tag=2');
  });

  test('URI headers are refused in an addr-spec', () => {
    assert.throws(() => parseNameAddr('sip:bob@b.example?Subject=hi'), HeaderValueError);
  });

  test('requireBrackets refuses an addr-spec and accepts a name-addr', () => {
    assert.throws(() => parseNameAddr('sip:p1.example;lr', true), HeaderValueError);
    assert.equal(sipUri(parseNameAddr('<sip:p1.example;lr>', true)).param('lr'), null);
  });

  test('tel and other URIs in brackets', () => {
    assert.ok(parseNameAddr('<tel:+14155550100>;tag=1').uri instanceof TelUri);
    const other = parseNameAddr('"ISBN" <isbn:2983792873>').uri;
    assert.ok(other instanceof AbsoluteUri);
    assert.equal(other.scheme, 'isbn');
  });

  test('an IPv6 host in an addr-spec and in a name-addr', () => {
    assert.equal(sipUri(parseNameAddr('sip:alice@[2001:db8::1]:5060;tag=1')).host, '[2001:db8::1]');
    assert.equal(sipUri(parseNameAddr('<sip:alice@[2001:db8::1]:5060>')).port, 5060);
  });

  test('a URI with a bad host is refused', () => {
    assert.throws(() => parseNameAddr('<sip:alice@>'), HeaderValueError);
  });
});

describe('NameAddr', () => {
  const a = parseNameAddr('"Alice" <sip:alice@atlanta.example.com>;tag=1;x=2');

  test('withTag replaces the tag in place', () => {
    const b = a.withTag('new');
    assert.equal(b.tag, 'new');
    assert.deepEqual(b.params.map((p) => p.name), ['tag', 'x']);
    assert.equal(a.tag, '1');
  });

  test('withTag adds a tag when there is none', () => {
    assert.equal(parseNameAddr('<sip:bob@b.example>').withTag('t9').toString(), '<sip:bob@b.example>;tag=t9');
  });

  test('withParam removes a parameter when the value is undefined, sets a flag when null', () => {
    assert.equal(a.withParam('x', undefined).toString(), '"Alice" <sip:alice@atlanta.example.com>;tag=1');
    assert.equal(a.withParam('lr', null).toString(), '"Alice" <sip:alice@atlanta.example.com>;tag=1;x=2;lr');
  });

  test('toString always brackets the URI and quotes the display name', () => {
    assert.equal(parseNameAddr('Bob <sip:bob@b.example>').toString(), '"Bob" <sip:bob@b.example>');
    assert.equal(parseNameAddr('sip:bob@b.example;tag=1').toString(), '<sip:bob@b.example>;tag=1');
  });

  test('toString escapes quotes and backslashes, and reparses to the same display name', () => {
    const name = 'Say "hi" \\ bye';
    const n = new NameAddr(new SipUri({ host: 'h.example' }), name);
    assert.equal(n.toString(), '"Say \\"hi\\" \\\\ bye" <sip:h.example>');
    assert.equal(parseNameAddr(n.toString()).displayName, name);
  });

  test('an empty display name is omitted', () => {
    assert.equal(new NameAddr(new SipUri({ host: 'h.example' }), '').toString(), '<sip:h.example>');
  });
});
