// Unit tests of the parser's framing (RFC 3261 §7.4, §7.5, §18.3): the end of the header section, Content-Length and body, limits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CRLF, HEADERS, invite, refusal, request, START, wire, withStart } from './testing/parser-fixtures.js';

describe('parseMessage: framing of the header section', () => {
  test('CRLFs before the start line are ignored', () => {
    const m = request(Buffer.concat([Buffer.from('\r\n\r\n\n'), invite()]));
    assert.equal(m.method, 'INVITE');
    assert.equal(m.headers.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
  });

  test('a message of nothing but CRLFs is refused', () => {
    assert.equal(refusal(Buffer.from('\r\n\r\n')).code, 'bad-start-line');
  });

  test('a datagram whose header section ends with the datagram is read without its empty line', () => {
    const m = request(Buffer.from([START, ...HEADERS].join(CRLF) + CRLF));
    assert.equal(m.headers.cseq?.seq, 314159);
    assert.equal(m.body.length, 0);
  });

  test('a stream frame without the empty line is an incomplete header section', () => {
    const data = Buffer.from([START, ...HEADERS, 'Content-Length: 0'].join(CRLF) + CRLF);
    assert.equal(refusal(data, { framing: 'stream' }).code, 'incomplete-header-section');
  });

  test('a datagram cut in the middle of a header line is an incomplete header section', () => {
    assert.equal(refusal(Buffer.from([START, ...HEADERS].join(CRLF))).code, 'incomplete-header-section');
  });

  test('bare-LF line ends are accepted', () => {
    const m = request(Buffer.from([START, ...HEADERS, 'Content-Length: 4'].join('\n') + '\n\nbody'));
    assert.equal(m.headers.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.equal(Buffer.from(m.body).toString(), 'body');
  });

  test('with bare-LF line ends, a CRLFCRLF inside the body does not move the end of the header section', () => {
    const body = 'a\r\n\r\nb';
    const m = request(Buffer.from([START, ...HEADERS, `Content-Length: ${body.length}`].join('\n') + '\n\n' + body));
    assert.equal(m.headers.get('Content-Length'), String(body.length));
    assert.equal(Buffer.from(m.body).toString(), body);
  });

  test('a Uint8Array view at an offset into a larger buffer is parsed from its own bytes', () => {
    const data = invite([], 'hello');
    const backing = new Uint8Array(data.length + 20);
    backing.set(data, 10);
    const view = new Uint8Array(backing.buffer, 10, data.length);
    const m = request(view);
    assert.equal(m.method, 'INVITE');
    assert.equal(Buffer.from(m.body).toString(), 'hello');
  });
});

describe('parseMessage: Content-Length and body', () => {
  test('the body is exactly Content-Length bytes; extra datagram bytes are ignored', () => {
    const m = request(invite([], 'v=0\r\nextra-bytes', 5));
    assert.equal(Buffer.from(m.body).toString(), 'v=0\r\n');
  });

  test('Content-Length: 0 leaves an empty body whatever follows', () => {
    assert.equal(request(invite([], 'junk', 0)).body.length, 0);
  });

  test('without Content-Length, a datagram body is the rest of the datagram', () => {
    const m = request(invite([], 'v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\n', null));
    assert.equal(Buffer.from(m.body).toString(), 'v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\n');
  });

  test('without Content-Length, a stream frame is refused', () => {
    const err = refusal(invite([], '', null), { framing: 'stream' });
    assert.equal(err.code, 'bad-content-length');
    assert.equal(err.reason, 'Missing Content-Length');
  });

  test('with Content-Length, a stream frame is accepted', () => {
    assert.equal(Buffer.from(request(invite([], 'abc'), { framing: 'stream' }).body).toString(), 'abc');
  });

  test('a Content-Length larger than the bytes available is body-truncated', () => {
    const err = refusal(invite([], 'abc', 4));
    assert.equal(err.code, 'body-truncated');
    assert.equal(err.status, 400);
  });

  test('a negative Content-Length is refused', () => {
    assert.equal(refusal(invite([], '', -1)).code, 'bad-content-length');
  });

  test('a non-digit Content-Length is refused', () => {
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length: 1a'], 'abc')).code, 'bad-content-length');
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length: 0x1'], 'abc')).code, 'bad-content-length');
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length:'], 'abc')).code, 'bad-content-length');
  });

  test('leading zeros in Content-Length are allowed', () => {
    assert.equal(Buffer.from(request(wire([START, ...HEADERS, 'Content-Length: 002'], 'abc')).body).toString(), 'ab');
  });

  test('two Content-Length headers are refused, long and compact forms alike', () => {
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length: 3', 'Content-Length: 3'], 'abc')).code, 'bad-content-length');
    assert.equal(refusal(wire([START, ...HEADERS, 'Content-Length: 3', 'l: 3'], 'abc')).code, 'bad-content-length');
  });

  test('binary body octets, NUL, CR, LF and non-UTF-8 included, are kept exact', () => {
    const body = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0x00, 0x7f, 0xc3]);
    const m = request(wire([START, ...HEADERS, `Content-Length: ${body.length}`], body));
    assert.deepEqual(Buffer.from(m.body), body);
    assert.equal(m.headerEncoding, 'utf8');
  });

  test('control characters in the body are not header control characters', () => {
    const body = Buffer.from('\x01\x02\x1b[0m');
    assert.deepEqual(Buffer.from(request(invite([], body.toString('latin1'))).body), body);
  });
});

describe('parseMessage: limits', () => {
  /** A datagram of exactly `size` bytes: the usual INVITE with its body (no Content-Length) padded. */
  function ofSize(size: number): Buffer {
    const head = wire([START, ...HEADERS]);
    return Buffer.concat([head, Buffer.alloc(size - head.length, 0x61)]);
  }

  test('a message of 65,535 bytes is accepted', () => {
    assert.equal(request(ofSize(65_535)).body.length, 65_535 - wire([START, ...HEADERS]).length);
  });

  test('a message over 65,535 bytes is refused with 513 message-too-large', () => {
    const err = refusal(ofSize(65_536));
    assert.equal(err.code, 'message-too-large');
    assert.equal(err.status, 513);
    assert.equal(err.reason, 'Message Too Large');
  });

  test('256 header lines are accepted, 257 refused as too-many-headers', () => {
    const fill = (n: number) => Array.from({ length: n - HEADERS.length }, (_, i) => `X-Fill-${i}: ${i}`);
    assert.equal(request(wire([START, ...HEADERS, ...fill(256)])).headers.size, 256);
    const err = refusal(wire([START, ...HEADERS, ...fill(257)]));
    assert.equal(err.code, 'too-many-headers');
    assert.equal(err.status, 400);
  });

  test('a header line of 8,192 characters is accepted, 8,193 refused as header-line-too-long', () => {
    const line = (length: number) => 'X-Long: ' + 'a'.repeat(length - 'X-Long: '.length);
    assert.equal(request(invite([line(8_192)])).headers.get('x-long')?.length, 8_192 - 8);
    assert.equal(refusal(invite([line(8_193)])).code, 'header-line-too-long');
  });

  test('a folded header counts its joined length against the line limit', () => {
    const half = 'a'.repeat(5_000);
    assert.equal(refusal(invite([`X-Long: ${half}`, ` ${half}`])).code, 'header-line-too-long');
  });

  test('a start line counts against the line limit', () => {
    const long = `INVITE sip:${'a'.repeat(8_200)}@biloxi.example.com SIP/2.0`;
    assert.equal(refusal(withStart(long)).code, 'header-line-too-long');
  });

  test('options.limits lowers maxMessageBytes', () => {
    const data = invite();
    assert.equal(refusal(data, { limits: { maxMessageBytes: data.length - 1 } }).code, 'message-too-large');
    assert.equal(request(data, { limits: { maxMessageBytes: data.length } }).method, 'INVITE');
  });

  test('options.limits lowers maxHeaders', () => {
    const data = invite();
    assert.equal(refusal(data, { limits: { maxHeaders: HEADERS.length } }).code, 'too-many-headers');
    assert.equal(request(data, { limits: { maxHeaders: HEADERS.length + 1 } }).method, 'INVITE');
  });

  test('options.limits lowers maxHeaderLineLength', () => {
    const limits = { maxHeaderLineLength: 100 };
    assert.equal(refusal(invite(['X-Long: ' + 'a'.repeat(93)]), { limits }).code, 'header-line-too-long');
    assert.equal(request(invite(['X-Long: ' + 'a'.repeat(92)]), { limits }).method, 'INVITE');
  });

  test('options.limits raises a limit and keeps the others at their defaults', () => {
    const many = Array.from({ length: 300 }, (_, i) => `X-Fill-${i}: ${i}`);
    assert.equal(request(invite(many), { limits: { maxHeaders: 1_000 } }).headers.size, HEADERS.length + 301);
    const big = Buffer.concat([wire([START, ...HEADERS]), Buffer.alloc(70_000, 0x61)]);
    assert.equal(refusal(big, { limits: { maxHeaders: 1_000 } }).code, 'message-too-large');
  });
});
