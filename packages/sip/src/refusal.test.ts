import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRefusal } from './refusal.js';
import { parseMessage } from './parser.js';

const VIA1 = 'SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds';
const VIA2 = 'SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2';
const VIA3 = 'SIP/2.0/TCP proxy.example.com;branch=z9hG4bKx';

function invite(opts: { method?: string; to?: string; extra?: string; start?: string } = {}): Buffer {
  const method = opts.method ?? 'INVITE';
  return Buffer.from(
    (opts.start ?? `${method} sip:bob@biloxi.com SIP/2.0`) + '\r\n' +
      `Via: ${VIA1}\r\n` +
      `Via: ${VIA2}, ${VIA3}\r\n` +
      'Max-Forwards: 70\r\n' +
      `To: ${opts.to ?? 'Bob <sip:bob@biloxi.com>'}\r\n` +
      'From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n' +
      'Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n' +
      `CSeq: 314159 ${method}\r\n` +
      'Contact: <sip:alice@pc33.atlanta.com>\r\n' +
      (opts.extra ?? '') +
      'Content-Type: application/sdp\r\n' +
      'Content-Length: 4\r\n' +
      '\r\n' +
      'v=0\n',
    'latin1',
  );
}

function lines(out: Buffer | undefined): string[] {
  assert.ok(out !== undefined, 'a refusal was built');
  const t = out.toString('latin1');
  assert.ok(t.endsWith('\r\n\r\n'), 'ends with the empty line');
  return t.slice(0, -4).split('\r\n');
}

describe('createRefusal', () => {
  test('status line with the given status and reason, then the copied headers and Content-Length: 0', () => {
    const out = lines(createRefusal(invite(), 503, 'Service Unavailable'));
    assert.equal(out[0], 'SIP/2.0 503 Service Unavailable');
    assert.equal(out[out.length - 1], 'Content-Length: 0');
    assert.deepEqual(out.filter((l) => l.startsWith('Via: ')), [`Via: ${VIA1}`, `Via: ${VIA2}, ${VIA3}`], 'every Via, in order, as written');
    assert.ok(out.includes('From: Alice <sip:alice@atlanta.com>;tag=1928301774'));
    assert.ok(out.includes('Call-ID: a84b4c76e66710@pc33.atlanta.com'));
    assert.ok(out.includes('CSeq: 314159 INVITE'));
    for (const dropped of ['Max-Forwards', 'Contact', 'Content-Type']) {
      assert.ok(!out.some((l) => l.startsWith(`${dropped}:`)), `${dropped} is not copied`);
    }
    assert.equal(out.filter((l) => /^Content-Length:/i.test(l)).length, 1);
  });

  test('adds a To tag when the request has none', () => {
    const out = lines(createRefusal(invite(), 400, 'Bad Request'));
    const to = out.find((l) => l.startsWith('To: '));
    assert.match(to ?? '', /^To: Bob <sip:bob@biloxi\.com>;tag=[A-Za-z0-9]+$/);
  });

  test('keeps an existing To tag', () => {
    const out = lines(createRefusal(invite({ to: 'Bob <sip:bob@biloxi.com>;tag=a6c85cf' }), 481, 'Call/Transaction Does Not Exist'));
    assert.deepEqual(out.filter((l) => l.startsWith('To:')), ['To: Bob <sip:bob@biloxi.com>;tag=a6c85cf']);
  });

  test('compact and oddly cased header names are copied under their full names', () => {
    const data = Buffer.from(
      'OPTIONS sip:bob@biloxi.com SIP/2.0\r\n' +
        `v: ${VIA1}\r\n` +
        't: <sip:bob@biloxi.com>\r\n' +
        'f: <sip:alice@atlanta.com>;tag=88\r\n' +
        'i: abc@host\r\n' +
        'cseq: 7 OPTIONS\r\n' +
        'l: 0\r\n\r\n',
      'latin1',
    );
    const out = lines(createRefusal(data, 400, 'Bad Request'));
    assert.equal(out[1], `Via: ${VIA1}`);
    assert.match(out[2] ?? '', /^To: <sip:bob@biloxi\.com>;tag=\w+$/);
    assert.deepEqual(out.slice(3), ['From: <sip:alice@atlanta.com>;tag=88', 'Call-ID: abc@host', 'CSeq: 7 OPTIONS', 'Content-Length: 0']);
  });

  test('a folded header is copied as one line', () => {
    const data = Buffer.from(
      `BYE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33.atlanta.com\r\n ;branch=z9hG4bK1\r\nCall-ID: c1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`,
      'latin1',
    );
    const out = lines(createRefusal(data, 400, 'Bad Request'));
    assert.equal(out[1], 'Via: SIP/2.0/UDP pc33.atlanta.com ;branch=z9hG4bK1');
  });

  test('extra headers (Retry-After) are included before Content-Length', () => {
    const out = lines(createRefusal(invite(), 503, 'Service Unavailable', [['Retry-After', '5']]));
    assert.equal(out[out.length - 2], 'Retry-After: 5');
    assert.equal(out[out.length - 1], 'Content-Length: 0');
  });

  test('CR and LF in the reason cannot inject headers or end the header section', () => {
    const out = createRefusal(invite(), 400, 'Bad\r\nX-Injected: yes\r\n\r\nbody');
    const text = out?.toString('latin1') ?? '';
    assert.ok(!/\r\nX-Injected:/.test(text), text);
    assert.equal(text.indexOf('\r\n\r\n'), text.length - 4, 'a single header section end, at the end');
    assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(text), 'no bare CR or LF');
    assert.match(lines(out)[0] ?? '', /^SIP\/2\.0 400 Bad/);
  });

  test('the result parses as a response that matches the request (RFC 3261 §8.2.6)', () => {
    const out = createRefusal(invite(), 513, 'Message Too Large');
    assert.ok(out !== undefined);
    const m = parseMessage(out);
    assert.equal(m.kind, 'response');
    assert.ok(m.kind === 'response');
    assert.equal(m.status, 513);
    assert.equal(m.reason, 'Message Too Large');
    assert.equal(m.headers.via.length, 3);
    assert.equal(m.headers.topVia?.branch, 'z9hG4bK776asdhds');
    assert.equal(m.headers.callId, 'a84b4c76e66710@pc33.atlanta.com');
    assert.equal(m.headers.cseq?.seq, 314159);
    assert.equal(m.headers.cseq?.method, 'INVITE');
    assert.equal(m.headers.from?.param('tag'), '1928301774');
    assert.ok((m.headers.to?.param('tag') ?? '').length > 0);
    assert.equal(m.body.length, 0);
  });

  test('a request that is malformed after its method is still answered', () => {
    for (const start of ['INVITE sip:bob@biloxi.com SIP/7.0', 'INVITE  SIP/2.0', 'FOO bar']) {
      const out = lines(createRefusal(invite({ start }), 400, 'Bad Request'));
      assert.equal(out[0], 'SIP/2.0 400 Bad Request', start);
    }
  });

  test('leading CRLFs before the request line are skipped (RFC 3261 §7.5)', () => {
    const out = lines(createRefusal(Buffer.concat([Buffer.from('\r\n\r\n'), invite()]), 400, 'Bad Request'));
    assert.equal(out[0], 'SIP/2.0 400 Bad Request');
  });

  test('a request without an empty line is answered from its header lines', () => {
    const data = Buffer.from(`OPTIONS sip:x SIP/2.0\r\nVia: ${VIA1}\r\nCall-ID: c2\r\nCSeq: 1 OPTIONS\r\n`, 'latin1');
    const out = lines(createRefusal(data, 400, 'Incomplete Header Section'));
    assert.ok(out.includes(`Via: ${VIA1}`));
    assert.ok(out.includes('Call-ID: c2'));
  });

  test('responses, ACKs and bytes without a readable request line get no answer', () => {
    const response = Buffer.from(`SIP/2.0 200 OK\r\nVia: ${VIA1}\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`);
    assert.equal(createRefusal(response, 400, 'Bad Request'), undefined);
    assert.equal(createRefusal(Buffer.from(response.toString().replace('SIP/2.0', 'sip/2.0')), 400, 'Bad Request'), undefined);
    assert.equal(createRefusal(invite({ method: 'ACK' }), 400, 'Bad Request'), undefined);
    assert.equal(createRefusal(invite({ start: 'ACK\tsip:bob@biloxi.com SIP/2.0' }), 400, 'Bad Request'), undefined);
    for (const junk of ['', '\r\n\r\n', '\u0000\u0001\u0002', ' INVITE sip:x SIP/2.0\r\n\r\n', 'INVITE\r\n\r\n', '<xml/>\r\n\r\n']) {
      assert.equal(createRefusal(Buffer.from(junk, 'latin1'), 400, 'Bad Request'), undefined, JSON.stringify(junk));
    }
  });
});
