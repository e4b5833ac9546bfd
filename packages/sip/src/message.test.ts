// Unit tests of the message model: start lines, defaults, reason phrases.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Headers } from './headers.js';
import { defaultReason, SipRequest, SipResponse } from './message.js';
import { SipUri, TelUri } from './uri.js';

describe('SipRequest', () => {
  test('startLine is "<method> <uri> SIP/2.0"', () => {
    const r = new SipRequest({ method: 'OPTIONS', uri: new SipUri({ user: 'bob', host: 'b.example', port: 5060 }) });
    assert.equal(r.startLine, 'OPTIONS sip:bob@b.example:5060 SIP/2.0');
    assert.equal(new SipRequest({ method: 'INVITE', uri: new TelUri('+1234') }).startLine, 'INVITE tel:+1234 SIP/2.0');
  });

  test('defaults: empty headers, empty body, UTF-8 headers', () => {
    const r = new SipRequest({ method: 'OPTIONS', uri: new SipUri({ host: 'b.example' }) });
    assert.equal(r.kind, 'request');
    assert.ok(r.headers instanceof Headers);
    assert.equal(r.headers.size, 0);
    assert.equal(r.body.length, 0);
    assert.equal(r.headerEncoding, 'utf8');
  });
});

describe('SipResponse', () => {
  test('startLine is "SIP/2.0 <status> <reason>"', () => {
    assert.equal(new SipResponse({ status: 486, reason: 'Busy Here' }).startLine, 'SIP/2.0 486 Busy Here');
  });

  test('the reason defaults to the RFC phrase', () => {
    const r = new SipResponse({ status: 180 });
    assert.equal(r.reason, 'Ringing');
    assert.equal(r.kind, 'response');
  });

  test('an empty reason is kept empty', () => {
    assert.equal(new SipResponse({ status: 100, reason: '' }).startLine, 'SIP/2.0 100 ');
  });
});

describe('defaultReason', () => {
  test('knows the RFC 3261 phrases', () => {
    assert.equal(defaultReason(100), 'Trying');
    assert.equal(defaultReason(200), 'OK');
    assert.equal(defaultReason(481), 'Call/Transaction Does Not Exist');
    assert.equal(defaultReason(505), 'Version Not Supported');
    assert.equal(defaultReason(513), 'Message Too Large');
    assert.equal(defaultReason(603), 'Decline');
  });

  test('falls back to a phrase for the class', () => {
    assert.equal(defaultReason(199 + 100), 'OK');
    assert.equal(defaultReason(399), 'Redirect');
    assert.equal(defaultReason(499), 'Client Error');
    assert.equal(defaultReason(599), 'Server Error');
    assert.equal(defaultReason(699), 'Global Failure');
    assert.equal(defaultReason(150), 'Trying');
  });
});
