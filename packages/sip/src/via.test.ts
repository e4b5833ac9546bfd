// Unit tests of Via values (RFC 3261 §20.42, §18.2.1; RFC 3581 rport).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeaderValueError } from './errors.js';
import { BRANCH_COOKIE, parseVia, Via } from './via.js';

const rejects = (text: string) => assert.throws(() => parseVia(text), HeaderValueError, text);

describe('parseVia', () => {
  test('reads protocol, version, transport, host, port and branch', () => {
    const v = parseVia('SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds');
    assert.equal(v.protocol, 'SIP');
    assert.equal(v.version, '2.0');
    assert.equal(v.transport, 'UDP');
    assert.equal(v.host, 'pc33.atlanta.example.com');
    assert.equal(v.port, 5066);
    assert.equal(v.branch, 'z9hG4bK776asdhds');
  });

  test('the port is optional', () => {
    const v = parseVia('SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1');
    assert.equal(v.host, '192.0.2.1');
    assert.equal(v.port, undefined);
  });

  test('the transport is upper-cased; unknown transports are kept', () => {
    assert.equal(parseVia('SIP/2.0/tls h.example').transport, 'TLS');
    assert.equal(parseVia('SIP/2.0/UNKNOWN h.example').transport, 'UNKNOWN');
  });

  test('an IPv6 reference with a port', () => {
    const v = parseVia('SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKas3-111');
    assert.equal(v.host, '[2001:db8::9:1]');
    assert.equal(v.port, 5060);
  });

  test('an IPv6 reference without a port', () => {
    const v = parseVia('SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111');
    assert.equal(v.host, '[2001:db8::9:1]');
    assert.equal(v.port, undefined);
  });

  test('whitespace may surround / and : and precede parameters (SWS)', () => {
    const v = parseVia('SIP / 2.0 / UDP  h.example : 5060 ;branch = z9hG4bK1 ; rport');
    assert.equal(v.transport, 'UDP');
    assert.equal(v.host, 'h.example');
    assert.equal(v.port, 5060);
    assert.equal(v.branch, 'z9hG4bK1');
    assert.equal(v.rport, null);
  });

  test('rport: a flag is null, a value is a number, absent is undefined', () => {
    assert.equal(parseVia('SIP/2.0/UDP h.example;rport').rport, null);
    assert.equal(parseVia('SIP/2.0/UDP h.example;rport=5070').rport, 5070);
    assert.equal(parseVia('SIP/2.0/UDP h.example').rport, undefined);
    rejects('SIP/2.0/UDP h.example;rport=65536');
    rejects('SIP/2.0/UDP h.example;rport=x');
  });

  test('received takes an IPv4 or IPv6 address, bracketed or not', () => {
    assert.equal(parseVia('SIP/2.0/UDP h.example;received=192.0.2.1').received, '192.0.2.1');
    assert.equal(parseVia('SIP/2.0/UDP h.example;received=2001:db8::1').received, '2001:db8::1');
    assert.equal(parseVia('SIP/2.0/UDP h.example;received=[2001:db8::1]').received, '[2001:db8::1]');
    rejects('SIP/2.0/UDP h.example;received');
    rejects('SIP/2.0/UDP h.example;received="x y"');
  });

  test('only received admits a bare IPv6 address; other parameters keep to gen-value', () => {
    rejects('SIP/2.0/UDP h.example;x=2001:db8::1');
    rejects('SIP/2.0/UDP h.example;branch=ab:cd');
    rejects('SIP/2.0/UDP h.example;maddr=2001:db8::1');
    rejects('SIP/2.0/UDP h.example;x=');
    assert.equal(parseVia('SIP/2.0/UDP h.example;x="2001:db8::1"').param('x'), '2001:db8::1');
  });

  test('ttl is 0-255', () => {
    assert.equal(parseVia('SIP/2.0/UDP h.example;ttl=255').param('ttl'), '255');
    rejects('SIP/2.0/UDP h.example;ttl=256');
    rejects('SIP/2.0/UDP h.example;ttl');
  });

  test('branch and maddr need a value', () => {
    rejects('SIP/2.0/UDP h.example;branch');
    rejects('SIP/2.0/UDP h.example;maddr');
    assert.equal(parseVia('SIP/2.0/UDP h.example;maddr=224.2.0.1').param('maddr'), '224.2.0.1');
  });

  test('parameter names are case-insensitive', () => {
    assert.equal(parseVia('SIP/2.0/UDP h.example;BRANCH=z9hG4bKup').branch, 'z9hG4bKup');
  });

  test('a quoted parameter value may hold ; and is unquoted', () => {
    const v = parseVia('SIP/2.0/UDP h.example;x="a;branch=b";branch=z9hG4bKreal');
    assert.equal(v.branch, 'z9hG4bKreal');
    assert.equal(v.param('x'), 'a;branch=b');
  });

  test('a missing sent-protocol part or sent-by is refused', () => {
    rejects('SIP/2.0 h.example');
    rejects('SIP/2.0/UDP');
    rejects('SIP/2.0/UDP ');
    rejects('h.example;branch=z9hG4bK1');
  });

  test('a bad port or host is refused', () => {
    rejects('SIP/2.0/UDP h.example:70000');
    rejects('SIP/2.0/UDP h.example:x');
    rejects('SIP/2.0/UDP h!example');
    rejects('SIP/2.0/UDP [2001:db8::1');
  });

  test('an empty parameter is refused', () => {
    rejects('SIP/2.0/UDP h.example;;branch=z9hG4bK1');
  });
});

describe('Via', () => {
  test('toString writes the canonical form and reparses equal', () => {
    const v = parseVia('SIP / 2.0 / udp  [2001:db8::1] : 5060 ;branch=z9hG4bK1;rport');
    assert.equal(v.toString(), 'SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport');
    assert.deepEqual(parseVia(v.toString()), v);
  });

  test('withParam sets received and rport without touching the rest', () => {
    const v = parseVia('SIP/2.0/UDP h.example;branch=z9hG4bK1;rport').withParam('received', '192.0.2.7').withParam('rport', '5071');
    assert.equal(v.toString(), 'SIP/2.0/UDP h.example;branch=z9hG4bK1;rport=5071;received=192.0.2.7');
    assert.equal(v.rport, 5071);
  });

  test('a Via built from parts defaults to SIP/2.0', () => {
    assert.equal(new Via('TCP', 'h.example', 5060, [{ name: 'branch', value: BRANCH_COOKIE + 'x' }]).toString(),
      'SIP/2.0/TCP h.example:5060;branch=z9hG4bKx');
  });

  test('BRANCH_COOKIE is the RFC 3261 magic cookie', () => {
    assert.equal(BRANCH_COOKIE, 'z9hG4bK');
  });
});
