import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detached } from './detached.js';
import { parseMessage } from './parser.js';

describe('detached', () => {
  it('keeps the value of a header taken from a message, short or long, ASCII or not', () => {
    const text = 'OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: "Zoë" <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n';
    const m = parseMessage(new TextEncoder().encode(text));
    const callId = m.headers.callId ?? '';
    assert.equal(detached(callId), 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(detached(m.headers.from?.toString() ?? ''), '"Zoë" <sip:alice@example.com>;tag=1');
    assert.equal(detached('short'), 'short');
    assert.equal(detached(''), '');
  });
});
