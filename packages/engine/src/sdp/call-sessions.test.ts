import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallSessions, sameSession } from './call-sessions.js';

const sdp = (origin: string, port: number) => Buffer.from(`v=0\r\no=${origin}\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`);

describe('CallSessions', () => {
  it('keeps a copy of each party\'s last SDP, with a constant content type', () => {
    const sessions = new CallSessions();
    const whole = Buffer.concat([Buffer.from('header bytes'), sdp('pbx 1 1 IN IP4 192.0.2.10', 4000)]);
    const view = whole.subarray(12);
    sessions.remember('a', view, 'Application/SDP');
    const kept = sessions.of('a');
    assert.deepEqual(Buffer.from(kept?.body ?? []), Buffer.from(view));
    assert.notEqual(kept?.body.buffer, whole.buffer, 'not a view of the message');
    assert.equal(kept?.contentType, 'application/sdp');
    assert.equal(sessions.of('b1'), undefined);
  });

  it('relays SDP untouched until a party has an origin to keep; then keeps its origin with a higher version (RFC 3264 §8)', () => {
    const sessions = new CallSessions();
    const offer = { type: 'send-request' as const, token: { kind: 'relay' as const, id: 1 }, method: 'INVITE', body: sdp('carrier 9 9 IN IP4 198.51.100.5', 6000), contentType: 'application/sdp' };
    assert.equal(sessions.rewrite('a', offer), offer, 'no keeper: the same message');
    sessions.keepOrigin('a', sdp('carrier 9 9 IN IP4 198.51.100.5', 6000));
    const shown = sessions.rewrite('a', { ...offer, body: sdp('newparty 5 5 IN IP4 203.0.113.7', 7000) });
    assert.ok('body' in shown);
    assert.match(Buffer.from(shown.body ?? []).toString(), /^o=carrier 9 10 IN IP4 198\.51\.100\.5$/m);
    assert.match(Buffer.from(shown.body ?? []).toString(), /m=audio 7000/);
    assert.equal(sessions.rewrite('a', { type: 'hangup' }).type, 'hangup');
  });

  it('sameSession ignores the o= line only', () => {
    assert.ok(sameSession(sdp('a 1 1 IN IP4 x', 4000), sdp('a 1 2 IN IP4 x', 4000)));
    assert.ok(!sameSession(sdp('a 1 1 IN IP4 x', 4000), sdp('a 1 1 IN IP4 x', 4002)));
  });
});
