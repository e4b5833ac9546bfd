import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamFramer, type FrameEvent } from './stream-framer.js';
import { SipParseError } from './errors.js';

function sipMessage(body = '', extraHeaders = '', lengthHeader = 'Content-Length'): string {
  return (
    'INVITE sip:bob@biloxi.com SIP/2.0\r\n' +
    'Via: SIP/2.0/TCP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n' +
    'To: Bob <sip:bob@biloxi.com>\r\n' +
    'From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n' +
    'Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n' +
    'CSeq: 314159 INVITE\r\n' +
    extraHeaders +
    `${lengthHeader}: ${Buffer.byteLength(body)}\r\n` +
    '\r\n' +
    body
  );
}

const SDP = 'v=0\r\no=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\n';
const M1 = sipMessage(SDP);
const M2 = sipMessage('', '', 'Content-Length').replace('314159', '314160');
const M3 = sipMessage('hello');

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function messages(events: FrameEvent[]): string[] {
  return events.map((e) => (e.type === 'message' ? e.data.toString('latin1') : `<${e.type}>`));
}

function pushAll(framer: StreamFramer, chunks: Buffer[]): FrameEvent[] {
  return chunks.flatMap((c) => framer.push(c));
}

function errorOf(events: FrameEvent[]): { error: SipParseError; head: Buffer } {
  const last = events[events.length - 1];
  assert.ok(last !== undefined && last.type === 'error', `expected an error event, got ${messages(events).join(' ')}`);
  assert.ok(last.error instanceof SipParseError);
  return last;
}

describe('StreamFramer framing (RFC 3261 §18.3)', () => {
  test('one message in one chunk', () => {
    const f = new StreamFramer();
    assert.deepEqual(messages(f.push(b(M1))), [M1]);
    assert.equal(f.pending, 0);
  });

  test('a message split byte by byte comes out once, whole, on its last byte', () => {
    const f = new StreamFramer();
    const bytes = b(M1);
    for (let i = 0; i < bytes.length - 1; i++) assert.deepEqual(f.push(bytes.subarray(i, i + 1)), [], `byte ${i}`);
    assert.equal(f.pending, bytes.length - 1);
    assert.deepEqual(messages(f.push(bytes.subarray(bytes.length - 1))), [M1]);
    assert.equal(f.pending, 0);
  });

  test('two messages coalesced with half of a third: two now, the third when it completes', () => {
    const f = new StreamFramer();
    const third = b(M3);
    const half = Math.floor(third.length / 2);
    assert.deepEqual(messages(f.push(Buffer.concat([b(M1), b(M2), third.subarray(0, half)]))), [M1, M2]);
    assert.equal(f.pending, half);
    assert.deepEqual(messages(f.push(third.subarray(half))), [M3]);
  });

  test('a body containing CRLFCRLF is framed by Content-Length, not by the blank line', () => {
    const body = 'first part\r\n\r\nsecond part\r\n\r\n';
    const m = sipMessage(body, 'Content-Type: text/plain\r\n');
    const f = new StreamFramer();
    assert.deepEqual(messages(f.push(b(m + M2))), [m, M2]);
  });

  test('the compact form `l:` gives the length', () => {
    const m = sipMessage('abcdef', '', 'l');
    assert.ok(m.includes('\r\nl: 6\r\n'));
    assert.deepEqual(messages(new StreamFramer().push(b(m + M2))), [m, M2]);
    const spaced = sipMessage('abcdef', '', 'L ');
    assert.deepEqual(messages(new StreamFramer().push(b(spaced))), [spaced]);
  });

  test('body bytes that are not text are kept exactly', () => {
    const head = b(sipMessage('').replace('Content-Length: 0', 'Content-Length: 4'));
    const body = Buffer.from([0x00, 0xff, 0x0d, 0x0a]);
    const events = new StreamFramer().push(Buffer.concat([head, body]));
    assert.equal(events.length, 1);
    const e = events[0];
    assert.ok(e?.type === 'message');
    assert.deepEqual(e.data, Buffer.concat([head, body]));
  });

  test('a framed message is a copy, not a view of the connection buffer', () => {
    const chunk = b(M1 + M2);
    const events = new StreamFramer().push(chunk);
    const e = events[0];
    assert.ok(e?.type === 'message');
    chunk.fill(0x41);
    assert.equal(e.data.toString('latin1'), M1);
  });
});

describe('StreamFramer keep-alive (RFC 5626 §4.4.1)', () => {
  test('CRLFCRLF is a ping', () => {
    const f = new StreamFramer();
    assert.deepEqual(messages(f.push(b('\r\n\r\n'))), ['<ping>']);
    assert.equal(f.pending, 0);
  });

  test('a ping split as CRLF + CRLF is still a ping', () => {
    const f = new StreamFramer();
    assert.deepEqual(f.push(b('\r\n')), []);
    assert.deepEqual(messages(f.push(b('\r\n'))), ['<ping>']);
  });

  test('a ping split byte by byte is still a ping', () => {
    const f = new StreamFramer();
    assert.deepEqual(f.push(b('\r')), []);
    assert.deepEqual(f.push(b('\n')), []);
    assert.deepEqual(f.push(b('\r')), []);
    assert.deepEqual(messages(f.push(b('\n'))), ['<ping>']);
    assert.deepEqual(messages(f.push(b(M2))), [M2]);
  });

  test('pings between and around messages, in order', () => {
    const f = new StreamFramer();
    assert.deepEqual(messages(f.push(b(`\r\n\r\n${M1}\r\n\r\n${M2}`))), ['<ping>', M1, '<ping>', M2]);
  });

  test('a lone CRLF between messages is skipped', () => {
    const f = new StreamFramer();
    assert.deepEqual(messages(f.push(b(`${M1}\r\n${M2}`))), [M1, M2]);
    assert.deepEqual(messages(f.push(b('\r\n'))), []);
    assert.deepEqual(messages(f.push(b(M3))), [M3]);
    assert.equal(f.pending, 0);
  });
});

describe('StreamFramer errors', () => {
  test('a missing Content-Length is an error, and nothing is framed after it', () => {
    const noLength = sipMessage('').replace('Content-Length: 0\r\n', '');
    const f = new StreamFramer();
    const events = f.push(b(M1 + noLength + M2));
    assert.deepEqual(messages(events), [M1, '<error>']);
    const { error, head } = errorOf(events);
    assert.equal(error.reason, 'Missing Content-Length');
    assert.equal(error.code, 'bad-content-length');
    assert.equal(error.status, 400);
    assert.ok(head.toString('latin1').startsWith('INVITE sip:bob@biloxi.com SIP/2.0\r\n'), 'head carries the failed header section');
    assert.deepEqual(f.push(b(M2)), []);
    assert.equal(f.pending, 0);
  });

  test('bad, negative, oversized-number and duplicate Content-Length are errors', () => {
    const cases = [
      sipMessage('').replace('Content-Length: 0', 'Content-Length: abc'),
      sipMessage('').replace('Content-Length: 0', 'Content-Length: -5'),
      sipMessage('').replace('Content-Length: 0', 'Content-Length: 5x'),
      sipMessage('').replace('Content-Length: 0', 'Content-Length: 1234567890'),
      sipMessage('').replace('Content-Length: 0', 'Content-Length:'),
      sipMessage('', 'Content-Length: 0\r\n'),
      sipMessage('', 'l: 0\r\n'),
    ];
    for (const m of cases) {
      const events = new StreamFramer().push(b(m));
      assert.equal(events.length, 1, m);
      const { error } = errorOf(events);
      assert.equal(error.code, 'bad-content-length', m);
      assert.equal(error.status, 400);
    }
  });

  test('a header section growing beyond maxMessageBytes without CRLFCRLF is message-too-large (513)', () => {
    const f = new StreamFramer({ maxMessageBytes: 1_024 });
    const start = b('INVITE sip:bob@biloxi.com SIP/2.0\r\n');
    assert.deepEqual(f.push(start), []);
    const line = b('X-Padding: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n');
    assert.equal(line.length, 53);
    let events: FrameEvent[] = [];
    let pushed = start.length;
    while (events.length === 0 && pushed < 10_000) {
      events = f.push(line);
      pushed += line.length;
    }
    const { error } = errorOf(events);
    assert.equal(error.code, 'message-too-large');
    assert.equal(error.status, 513);
    assert.ok(pushed > 1_024 && pushed <= 1_024 + line.length, `failed after ${pushed} bytes, as soon as the limit was passed`);
    assert.deepEqual(f.push(b('\r\n\r\n')), []);
  });

  test('a header section of exactly maxMessageBytes without its end is still waited for', () => {
    const f = new StreamFramer({ maxMessageBytes: 100 });
    assert.deepEqual(f.push(Buffer.alloc(100, 0x61)), []);
    assert.equal(f.pending, 100);
  });

  test('a declared body that makes the message exceed the limit is refused before it arrives', () => {
    const m = sipMessage('x'.repeat(200));
    const limit = Buffer.byteLength(m) - 1;
    const f = new StreamFramer({ maxMessageBytes: limit });
    const headOnly = m.slice(0, m.indexOf('\r\n\r\n') + 4);
    const events = f.push(b(headOnly));
    const { error } = errorOf(events);
    assert.equal(error.code, 'message-too-large');
    assert.equal(error.status, 513);
    assert.deepEqual(f.push(b('x'.repeat(200))), []);
    // exactly at the limit is fine
    assert.deepEqual(messages(new StreamFramer({ maxMessageBytes: limit + 1 }).push(b(m))), [m]);
  });

  test('the default limit is 65,535 bytes', () => {
    const body = 'x'.repeat(65_535);
    const events = new StreamFramer().push(b(sipMessage(body)));
    assert.equal(errorOf(events).error.code, 'message-too-large');
  });

  test('after an error, push returns [] whatever comes', () => {
    const f = new StreamFramer();
    errorOf(f.push(b(sipMessage('').replace('Content-Length: 0', 'Content-Length: nope'))));
    assert.deepEqual(f.push(b(M1)), []);
    assert.deepEqual(f.push(b('\r\n\r\n')), []);
    assert.equal(f.pending, 0);
  });
});
