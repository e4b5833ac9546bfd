// Unit tests of the parser's start lines: request line and status line (RFC 3261 §7.1, §7.2, §25).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbsoluteUri, SipUri, TelUri } from './uri.js';
import { HEADERS, invite, refusal, request, response, RESPONSE_HEADERS, START, wire, withStart } from './testing/parser-fixtures.js';

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
