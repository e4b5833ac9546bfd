// RFC 4028 session timers of one leg: what the 2xx says and which timer to arm when.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessage, SipRequest, SipResponse } from '@switchboard/sip';
import { SessionTimer } from './session-timer.js';

function request(method: string, extra: string[] = []): SipRequest {
  const m = parseMessage(Buffer.from([
    `${method} sip:bob@biloxi.example.com SIP/2.0`,
    'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-1',
    'Max-Forwards: 70',
    'From: <sip:alice@atlanta.example.com>;tag=alice-1',
    'To: <sip:bob@biloxi.example.com>',
    'Call-ID: call-1@atlanta.example.com',
    `CSeq: 1 ${method}`,
    ...extra,
    'Content-Length: 0', '', '',
  ].join('\r\n')));
  assert.ok(m instanceof SipRequest);
  return m;
}

function response(status: number, extra: string[] = []): SipResponse {
  const m = parseMessage(Buffer.from([
    `SIP/2.0 ${status} Whatever`,
    'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-2',
    'From: <sip:bob@biloxi.example.com>;tag=ours',
    'To: <sip:alice@atlanta.example.com>;tag=alice-1',
    'Call-ID: call-1@atlanta.example.com',
    'CSeq: 2 UPDATE',
    ...extra,
    'Content-Length: 0', '', '',
  ].join('\r\n')));
  assert.ok(m instanceof SipResponse);
  return m;
}

describe('SessionTimer', () => {
  test('no Session-Expires in the INVITE: no session timer', () => {
    assert.equal(SessionTimer.answer(request('INVITE')), undefined);
  });

  test('§9: the 2xx names the interval and the UAC as refresher by default, and requires timer when the UAC supports it', () => {
    const answer = SessionTimer.answer(request('INVITE', ['Session-Expires: 1800', 'Supported: timer']));
    assert.ok(answer !== undefined);
    assert.deepEqual(answer.headers, [['Session-Expires', '1800;refresher=uac'], ['Require', 'timer']]);
    assert.deepEqual({ ...answer.timer }, { seconds: 1800, refresher: 'uac' });
    const plain = SessionTimer.answer(request('INVITE', ['Session-Expires: 90;refresher=uas']));
    assert.deepEqual(plain?.headers, [['Session-Expires', '90;refresher=uas']]);
  });

  test('§10: the peer refreshes, so we arm the expiry at the interval minus min(32 s, a third)', () => {
    assert.deepEqual(new SessionTimer(1800, 'uac').next(), { timer: 'session-expiry', ms: (1800 - 32) * 1000 });
    assert.deepEqual(new SessionTimer(90, 'uac').next(), { timer: 'session-expiry', ms: 60_000 });
  });

  test('§10: we refresh, at half the interval, with an UPDATE saying we stay the refresher', () => {
    const timer = new SessionTimer(1800, 'uas');
    assert.deepEqual(timer.next(), { timer: 'session-refresh', ms: 900_000 });
    assert.deepEqual(timer.refreshHeaders(), [['Session-Expires', '1800;refresher=uas']]);
  });

  test("a re-INVITE or UPDATE with Session-Expires sets the new interval and refresher; without one it changes nothing", () => {
    const timer = new SessionTimer(1800, 'uac');
    assert.equal(timer.refreshedBy(request('UPDATE')), undefined);
    assert.deepEqual({ ...timer }, { seconds: 1800, refresher: 'uac' });
    assert.deepEqual(timer.refreshedBy(request('INVITE', ['Session-Expires: 600;refresher=uas'])), { timer: 'session-refresh', ms: 300_000 });
    assert.deepEqual(timer.refreshedBy(request('UPDATE', ['Session-Expires: 300'])), { timer: 'session-expiry', ms: 268_000 });
  });

  test('the answer to our refresh: a 2xx with Session-Expires arms the next refresh, a refusal ends the session, a bare 2xx arms nothing', () => {
    const timer = new SessionTimer(1800, 'uas');
    assert.deepEqual(timer.refreshAnswered(response(200, ['Session-Expires: 1200;refresher=uas'])), { timer: 'session-refresh', ms: 600_000 });
    assert.equal(timer.seconds, 1200);
    assert.equal(timer.refreshAnswered(response(200)), undefined);
    assert.equal(timer.refreshAnswered(response(422)), 'refused');
    assert.equal(timer.refreshAnswered(response(481)), 'refused');
  });

  test('plain fields: a snapshot is its JSON', () => {
    assert.equal(JSON.stringify(new SessionTimer(90, 'uas')), '{"seconds":90,"refresher":"uas"}');
  });
});
