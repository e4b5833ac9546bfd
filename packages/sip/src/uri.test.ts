// Unit tests of URI parsing: sip/sips (RFC 3261 §19.1), tel (RFC 3966), other absoluteURIs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeaderValueError } from './errors.js';
import { AbsoluteUri, isSipUri, parseUri, SipUri, TelUri, type Uri } from './uri.js';

function sip(text: string, allowHeaders = true): SipUri {
  const u = parseUri(text, { allowHeaders });
  assert.ok(u instanceof SipUri, `${text} is not a SIP URI`);
  return u;
}

const rejects = (text: string, allowHeaders = true) =>
  assert.throws(() => parseUri(text, { allowHeaders }), HeaderValueError, text);

describe('sip: and sips: URIs', () => {
  test('reads user, password, host, port, parameters and headers', () => {
    const u = sip('sip:alice:secretword@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent');
    assert.equal(u.scheme, 'sip');
    assert.equal(u.user, 'alice');
    assert.equal(u.password, 'secretword');
    assert.equal(u.host, 'atlanta.example.com');
    assert.equal(u.port, 5061);
    assert.deepEqual(u.params, [{ name: 'transport', value: 'tcp' }, { name: 'lr', value: null }]);
    assert.equal(u.header('Subject'), 'project x');
    assert.equal(u.header('priority'), 'urgent');
  });

  test('a host alone is a URI', () => {
    const u = sip('sip:biloxi.example.com');
    assert.equal(u.user, undefined);
    assert.equal(u.password, undefined);
    assert.equal(u.port, undefined);
    assert.deepEqual(u.params, []);
    assert.deepEqual(u.headers, []);
  });

  test('sips is its own scheme', () => {
    assert.equal(sip('sips:bob@biloxi.example.com').scheme, 'sips');
  });

  test('the scheme is case-insensitive', () => {
    assert.equal(sip('SIP:bob@biloxi.example.com').scheme, 'sip');
    assert.equal(sip('SiPs:bob@biloxi.example.com').scheme, 'sips');
  });

  test('an IPv4 host with port', () => {
    const u = sip('sip:192.0.2.4:5060');
    assert.equal(u.host, '192.0.2.4');
    assert.equal(u.port, 5060);
  });

  test('an IPv6 reference without port', () => {
    const u = sip('sip:alice@[2001:db8::10]');
    assert.equal(u.host, '[2001:db8::10]');
    assert.equal(u.port, undefined);
  });

  test('an IPv6 reference with port and parameters', () => {
    const u = sip('sip:[2001:db8::10]:5070;maddr=[2001:db8::20]');
    assert.equal(u.host, '[2001:db8::10]');
    assert.equal(u.port, 5070);
    assert.equal(u.param('maddr'), '[2001:db8::20]');
  });

  test('an IPv6 address outside brackets is not a host', () => {
    rejects('sip:alice@2001:db8::10');
  });

  test('a port must be a number no greater than 65535', () => {
    assert.equal(sip('sip:h.example:65535').port, 65535);
    rejects('sip:h.example:65536');
    rejects('sip:h.example:50x');
    rejects('sip:h.example:');
  });

  test('the host may not be empty or hold invalid characters', () => {
    rejects('sip:alice@');
    rejects('sip:alice@exa mple.com');
    rejects('sip:alice@exa_mple!com');
    rejects('sip:');
  });

  test('a user with characters outside the user set is refused, escaped it is accepted', () => {
    rejects('sip:al ice@h.example');
    rejects('sip:al"ice@h.example');
    assert.equal(sip('sip:al%20ice@h.example').decodedUser, 'al ice');
  });

  test('a user may hold ; ? / and other user-unreserved characters', () => {
    const u = sip('sip:user;par=u%40example.net@example.com');
    assert.equal(u.user, 'user;par=u%40example.net');
    assert.equal(u.host, 'example.com');
    assert.deepEqual(u.params, []);
  });

  test('a telephone-subscriber user with visual separators', () => {
    const u = sip('sip:+1-212-555-1212:1234@gateway.com;user=phone');
    assert.equal(u.user, '+1-212-555-1212');
    assert.equal(u.password, '1234');
    assert.equal(u.param('user'), 'phone');
  });

  test('decodedUser undoes escapes, UTF-8 sequences included; user keeps them', () => {
    const u = sip('sip:%61lice%C3%A9%2B1@h.example');
    assert.equal(u.user, '%61lice%C3%A9%2B1');
    assert.equal(u.decodedUser, 'aliceé+1');
    assert.equal(sip('sip:h.example').decodedUser, undefined);
  });

  test('param() unescapes the name and the value and ignores the name case', () => {
    const u = sip('sip:h.example;n%61me=v%41lue;LR;Transport=TCP');
    assert.equal(u.param('name'), 'vAlue');
    assert.equal(u.param('lr'), null);
    assert.equal(u.param('transport'), 'TCP');
    assert.equal(u.param('maddr'), undefined);
  });

  test('an empty URI parameter is refused', () => {
    rejects('sip:h.example;;lr');
    rejects('sip:h.example;lr;');
  });

  test('a URI parameter with a character outside paramchar is refused', () => {
    rejects('sip:h.example;x=a"b');
    rejects('sip:h.example;x=a,b');
  });

  test('header() unescapes the value, e.g. an embedded Replaces', () => {
    const u = sip('sip:bob@b.example?Replaces=abc%40a.example%3Bto-tag%3D1%3Bfrom-tag%3D2');
    assert.equal(u.header('replaces'), 'abc@a.example;to-tag=1;from-tag=2');
    assert.equal(u.header('Require'), undefined);
  });

  test('an unescaped @ in a URI header value is tolerated', () => {
    assert.equal(sip('sip:bob@b.example?Replaces=abc@a.example').header('Replaces'), 'abc@a.example');
  });

  test('a URI header without = is refused', () => {
    rejects('sip:bob@b.example?Replaces');
    rejects('sip:bob@b.example?=x');
  });

  test('headers are refused where they are not allowed (a Request-URI)', () => {
    rejects('sip:bob@b.example?subject=x', false);
    assert.ok(parseUri('sip:bob@b.example', { allowHeaders: false }) instanceof SipUri);
  });

  test('toString writes the URI back as it was written', () => {
    for (const text of [
      'sip:alice:secretword@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent',
      'sips:[2001:db8::10]:5070;maddr=[2001:db8::20]',
      'sip:%61lice@h.example;n%61me=v%41lue',
      'sip:h.example',
    ]) {
      assert.equal(sip(text).toString(), text);
    }
  });

  test('with() copies the URI with changes', () => {
    const u = sip('sip:bob@b.example:5060;lr?x=1');
    const v = u.with({ headers: [], port: undefined, user: 'carol' });
    assert.equal(v.toString(), 'sip:carol@b.example;lr');
    assert.equal(u.toString(), 'sip:bob@b.example:5060;lr?x=1');
  });

  test('a SipUri built from parts defaults to the sip scheme', () => {
    assert.equal(new SipUri({ host: 'b.example', user: 'bob' }).toString(), 'sip:bob@b.example');
  });

  test('isSipUri tells SIP URIs from others', () => {
    assert.ok(isSipUri(parseUri('sips:b.example')));
    assert.ok(!isSipUri(parseUri('tel:+1234')));
  });
});

describe('tel: URIs', () => {
  test('a global number keeps its visual separators; digits drops them', () => {
    const u = parseUri('tel:+1-201-555-0123');
    assert.ok(u instanceof TelUri);
    assert.equal(u.number, '+1-201-555-0123');
    assert.equal(u.digits, '+12015550123');
    assert.equal(u.isGlobal, true);
  });

  test('a local number needs a phone-context', () => {
    const u = parseUri('tel:7042;phone-context=example.com');
    assert.ok(u instanceof TelUri);
    assert.equal(u.isGlobal, false);
    assert.equal(u.param('phone-context'), 'example.com');
    assert.throws(() => parseUri('tel:7042'), HeaderValueError);
  });

  test('parameters are read', () => {
    const u = parseUri('tel:+1-201-555-0123;ext=1234;isub=5') as TelUri;
    assert.equal(u.param('ext'), '1234');
    assert.equal(u.param('ISUB'), '5');
    assert.equal(u.toString(), 'tel:+1-201-555-0123;ext=1234;isub=5');
  });

  test('a number with other characters, or no digit, is refused', () => {
    assert.throws(() => parseUri('tel:+1 201'), HeaderValueError);
    assert.throws(() => parseUri('tel:+-.'), HeaderValueError);
    assert.throws(() => parseUri('tel:'), HeaderValueError);
  });

  test('the scheme is case-insensitive', () => {
    assert.ok(parseUri('TEL:+1234') instanceof TelUri);
  });
});

describe('other absolute URIs', () => {
  test('are kept opaque with their scheme', () => {
    const cases: [string, string][] = [
      ['urn:service:sos', 'urn'],
      ['mailto:alice@atlanta.example.com', 'mailto'],
      ['http://www.example.com/path?x=1', 'http'],
      ['soap.beep://192.0.2.103:3002', 'soap.beep'],
      ['isbn:2983792873', 'isbn'],
    ];
    for (const [text, scheme] of cases) {
      const u: Uri = parseUri(text);
      assert.ok(u instanceof AbsoluteUri, text);
      assert.equal(u.scheme, scheme);
      assert.equal(u.text, text);
      assert.equal(u.toString(), text);
    }
  });

  test('a URI without a scheme is refused', () => {
    assert.throws(() => parseUri('alice@atlanta.example.com'), HeaderValueError);
    assert.throws(() => parseUri(':x'), HeaderValueError);
  });

  test('a scheme must start with a letter and hold only scheme characters', () => {
    assert.throws(() => parseUri('1http://x'), HeaderValueError);
    assert.throws(() => parseUri('ht_tp://x'), HeaderValueError);
  });

  test('whitespace, quotes and angle brackets are refused in an opaque URI', () => {
    assert.throws(() => parseUri('http://x/a b'), HeaderValueError);
    assert.throws(() => parseUri('http://x/"a"'), HeaderValueError);
    assert.throws(() => parseUri('http://x/<a>'), HeaderValueError);
  });
});
