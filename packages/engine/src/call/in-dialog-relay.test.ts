import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InDialogRelay } from './in-dialog-relay.js';

describe('InDialogRelay', () => {
  const sdp = new Uint8Array([118, 61, 48]);
  it('relays a request under its own id and brings the answer back to the request it answers', () => {
    const relay = new InDialogRelay();
    const first = relay.forward({ type: 'request', leg: 'a', token: 'key-1', method: 'INVITE', body: sdp, contentType: 'application/sdp' });
    const second = relay.forward({ type: 'request', leg: 'b1', token: 'key-2', method: 'INFO', body: new Uint8Array(), contentType: undefined });
    assert.deepEqual(first, { type: 'send-request', token: { kind: 'relay', id: 1 }, method: 'INVITE', body: sdp, contentType: 'application/sdp' });
    assert.deepEqual(second, { type: 'send-request', token: { kind: 'relay', id: 2 }, method: 'INFO' });
    const back = relay.answer({ type: 'request-answered', leg: 'a', token: { kind: 'relay', id: 2 }, status: 200, reason: 'OK' });
    assert.deepEqual(back, { leg: 'b1', command: { type: 'answer-request', token: 'key-2', status: 200, reason: 'OK' } });
    assert.equal(relay.answer({ type: 'request-answered', leg: 'a', token: { kind: 'relay', id: 2 }, status: 200, reason: 'OK' }), undefined, 'answered once');
    const withBody = relay.answer({ type: 'request-answered', leg: 'b1', token: { kind: 'relay', id: 1 }, status: 200, reason: 'OK', body: sdp, contentType: 'application/sdp' });
    assert.deepEqual(withBody, { leg: 'a', command: { type: 'answer-request', token: 'key-1', status: 200, reason: 'OK', body: sdp, contentType: 'application/sdp' } });
  });

  it('an answer to a request that is not a relay of this call is none of its business', () => {
    const relay = new InDialogRelay();
    relay.forward({ type: 'request', leg: 'a', token: 'k', method: 'UPDATE', body: new Uint8Array(), contentType: undefined });
    assert.equal(relay.answer({ type: 'request-answered', leg: 'b1', token: { kind: 'reinvite', party: 'remaining' }, status: 200, reason: 'OK' }), undefined);
    assert.equal(relay.answer({ type: 'request-answered', leg: 'b1', token: { kind: 'relay', id: 9 }, status: 200, reason: 'OK' }), undefined);
  });
});
