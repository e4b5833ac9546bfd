import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessage, type SipRequest } from '@switchboard/sip';
import { inspectRequest } from './request-inspection.js';

function request(method: string, uri = 'sip:+14155550100@switchboard.example', headers: string[] = []): SipRequest {
  const text = [
    `${method} ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKinspect',
    'From: <sip:+12125550123@pbx.example>;tag=1',
    'To: <sip:+14155550100@switchboard.example>',
    'Call-ID: inspect@pbx.example',
    `CSeq: 1 ${method}`,
    ...headers,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return parseMessage(Buffer.from(text)) as SipRequest;
}

describe('inspectRequest (RFC 3261 §8.2.1–§8.2.2)', () => {
  test('what the engine handles passes: SIP, SIPS and tel Request-URIs, the options it supports, in any case', () => {
    assert.equal(inspectRequest(request('INVITE')), undefined);
    assert.equal(inspectRequest(request('INVITE', 'sips:+14155550100@switchboard.example')), undefined);
    assert.equal(inspectRequest(request('INVITE', 'tel:+14155550100')), undefined);
    assert.equal(inspectRequest(request('UPDATE', undefined, ['Require: timer'])), undefined);
    assert.equal(inspectRequest(request('REFER', undefined, ['Require: Timer, norefersub'])), undefined);
  });

  test('a method known to SIP but not handled here is left to the 405 with Allow; an unknown one gets 501', () => {
    for (const method of ['REGISTER', 'SUBSCRIBE', 'PUBLISH', 'PRACK']) assert.equal(inspectRequest(request(method)), undefined, method);
    assert.deepEqual(inspectRequest(request('NEWMETHOD')), { status: 501, cause: 'unknown-method', headers: [] });
    // method names are case-sensitive (§7.1)
    assert.equal(inspectRequest(request('invite'))?.status, 501);
  });

  test('a Request-URI scheme other than sip, sips or tel gets 416', () => {
    assert.deepEqual(inspectRequest(request('OPTIONS', 'nobodyKnowsThisScheme:totallyopaquecontent')), {
      status: 416, cause: 'unsupported-uri-scheme', headers: [],
    });
    assert.equal(inspectRequest(request('INVITE', 'mailto:bob@example.com'))?.status, 416);
  });

  test('a Require naming options we do not implement gets 420 with Unsupported listing just those', () => {
    const refusal = inspectRequest(request('INVITE', undefined, ['Require: 100rel, timer', 'Require: nothingSupportsThis']));
    assert.deepEqual(refusal, { status: 420, cause: 'bad-extension', headers: [['Unsupported', '100rel, nothingSupportsThis']] });
    assert.equal(inspectRequest(request('OPTIONS', undefined, ['Require: foo']))?.status, 420);
  });

  test('Proxy-Require is for proxies: the UAS does not read it', () => {
    assert.equal(inspectRequest(request('OPTIONS', undefined, ['Proxy-Require: noProxiesSupportThis'])), undefined);
  });

  test('an unmet method check comes before the URI scheme, and that before Require (the order of §8.2)', () => {
    assert.equal(inspectRequest(request('NEWMETHOD', 'urn:x:y', ['Require: foo']))?.status, 501);
    assert.equal(inspectRequest(request('OPTIONS', 'urn:x:y', ['Require: foo']))?.status, 416);
  });

  test('ACK is never refused; a CANCEL\'s Require is ignored (§8.2.2.3)', () => {
    assert.equal(inspectRequest(request('ACK', 'urn:x:y', ['Require: foo'])), undefined);
    assert.equal(inspectRequest(request('CANCEL', undefined, ['Require: foo'])), undefined);
  });

  test('a Require that does not read as a token list gets 400 naming it', () => {
    assert.deepEqual(inspectRequest(request('INVITE', undefined, ['Require: a b'])), { status: 400, cause: 'unreadable-require', reason: 'Bad Require', headers: [] });
  });
});
