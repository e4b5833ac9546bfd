import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stampVia, viaNeedsStamp } from './via-stamp.js';
import { parseVia } from './via.js';
import { parseMessage } from './parser.js';

const BODY = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

function request(via: string, { body = BODY, more = '' } = {}): Buffer {
  return Buffer.from(
    'INVITE sip:bob@biloxi.com SIP/2.0\r\n' +
      `${via}\r\n` +
      more +
      'Max-Forwards: 70\r\n' +
      'To: Bob <sip:bob@biloxi.com>\r\n' +
      'From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n' +
      'Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n' +
      'CSeq: 314159 INVITE\r\n' +
      'Content-Type: application/sdp\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
    'latin1',
  );
}

const text = (data: Uint8Array): string => Buffer.from(data).toString('latin1');

/** Asserts `after` is `before` with exactly the substring `from` replaced by `to`. */
function assertOnlyReplaced(before: Uint8Array, after: Uint8Array, from: string, to: string): void {
  const b = text(before);
  const at = b.indexOf(from);
  assert.ok(at !== -1, `${from} not in the original`);
  assert.equal(text(after), b.slice(0, at) + to + b.slice(at + from.length));
}

/** The top Via's parameters as the full parser reads them from the stamped bytes, and the body. */
function reparse(data: Uint8Array): { received?: string; rport?: number | null; via: string[]; body: string } {
  const m = parseMessage(data);
  const top = m.headers.topVia;
  assert.ok(top !== undefined);
  return { received: top.received, rport: top.rport, via: m.headers.via.map(String), body: Buffer.from(m.body).toString('latin1') };
}

describe('stampVia (RFC 3261 §18.2.1, RFC 3581)', () => {
  test('adds received when the sent-by host is not the source address', () => {
    const before = request('Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds');
    const after = stampVia(before, '192.0.2.4', 5060);
    assertOnlyReplaced(before, after, 'pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n', 'pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.4\r\n');
    const r = reparse(after);
    assert.equal(r.received, '192.0.2.4');
    assert.equal(r.rport, undefined);
    assert.equal(r.body, BODY, 'Content-Length still frames the same body');
  });

  test('returns the same bytes when the host is the source address and rport is absent', () => {
    const before = request('Via: SIP/2.0/UDP 192.0.2.4:5070;branch=z9hG4bK776asdhds');
    assert.equal(stampVia(before, '192.0.2.4', 40000), before);
  });

  test('fills rport with the source port and adds received when rport is asked for, even if the host matches', () => {
    const before = request('Via: SIP/2.0/UDP 192.0.2.4:5060;rport;branch=z9hG4bK776asdhds');
    const after = stampVia(before, '192.0.2.4', 40123);
    assert.notEqual(after, before);
    const r = reparse(after);
    assert.equal(r.rport, 40123);
    assert.equal(r.received, '192.0.2.4');
    assert.equal(r.body, BODY);
    assert.match(text(after), /\r\nVia: SIP\/2\.0\/UDP 192\.0\.2\.4:5060;rport=40123;branch=z9hG4bK776asdhds;received=192\.0\.2\.4\r\n/);
  });

  test('replaces an existing received instead of adding a second one', () => {
    const before = request('Via: SIP/2.0/UDP pc33.atlanta.com;received=10.1.1.1;branch=z9hG4bK776asdhds');
    const after = stampVia(before, '192.0.2.4', 5060);
    assertOnlyReplaced(before, after, 'received=10.1.1.1', 'received=192.0.2.4');
    assert.equal(text(after).split('received=').length, 2);
  });

  test('only the top Via value changes: a second value on the line and later Via lines are untouched', () => {
    const second = ' SIP/2.0/TCP proxy.example.com:5061;branch=z9hG4bKnashds8;received=10.0.0.9';
    const third = 'Via: SIP/2.0/UDP  old.example.com ;branch=z9hG4bKold';
    const before = request(`Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds,${second}`, { more: `${third}\r\n` });
    const after = stampVia(before, '192.0.2.4', 5060);
    assertOnlyReplaced(before, after, 'pc33.atlanta.com;branch=z9hG4bK776asdhds,', 'pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.4,');
    assert.ok(text(after).includes(`,${second}\r\n${third}\r\n`));
    const r = reparse(after);
    assert.equal(r.via.length, 3);
    assert.equal(r.body, BODY);
  });

  test('a comma inside a quoted parameter is not a value separator', () => {
    const before = request('Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;x="a,b", SIP/2.0/UDP p2.example.com;branch=z9hG4bK2');
    const after = stampVia(before, '192.0.2.4', 5060);
    assertOnlyReplaced(before, after, ';x="a,b",', ';x="a,b";received=192.0.2.4,');
  });

  test('only the header section is read: a Via line in the body is never stamped', () => {
    const body = 'Via: SIP/2.0/UDP body.example.com;branch=z9hG4bKbody\r\n';
    const before = request('Route: <sip:p1.example.com;lr>', { body });
    assert.equal(stampVia(before, '192.0.2.4', 5060), before);
  });

  test('the compact form v: is stamped', () => {
    const before = request('v: SIP/2.0/TCP client.example.com:5060;branch=z9hG4bK74bf9');
    const after = stampVia(before, '198.51.100.7', 5060);
    assertOnlyReplaced(before, after, 'z9hG4bK74bf9\r\n', 'z9hG4bK74bf9;received=198.51.100.7\r\n');
  });

  test('a folded Via is read with its continuation lines and stays one header', () => {
    const before = request('Via: SIP/2.0/UDP pc33.atlanta.com\r\n ;branch=z9hG4bK776asdhds,\r\n\tSIP/2.0/UDP p2.example.com;branch=z9hG4bK2');
    const after = stampVia(before, '192.0.2.4', 5060);
    const r = reparse(after);
    assert.equal(r.received, '192.0.2.4');
    assert.equal(r.via.length, 2);
    assert.ok(r.via[1]?.includes('p2.example.com;branch=z9hG4bK2'));
    assert.equal(r.body, BODY);
    const t = text(after);
    assert.ok(t.includes('\r\nMax-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.com>\r\n'), 'the following headers are intact');
  });

  test('an IPv6 source address: received is written without brackets', () => {
    const before = request('Via: SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK776asdhds');
    const after = stampVia(before, '2001:db8::1', 5060);
    assertOnlyReplaced(before, after, 'z9hG4bK776asdhds\r\n', 'z9hG4bK776asdhds;received=2001:db8::1\r\n');
    assert.equal(reparse(after).received, '2001:db8::1');
  });

  test('an IPv6 sent-by equal to the source (in brackets, any case) is left alone', () => {
    const before = request('Via: SIP/2.0/UDP [2001:DB8::1]:5060;branch=z9hG4bK776asdhds');
    assert.equal(stampVia(before, '2001:db8::1', 5060), before);
  });

  test('a malformed Via is returned unchanged (the parser refuses it later)', () => {
    for (const via of ['Via: garbage', 'Via: SIP/2.0/UDP ;branch=x', 'Via: SIP/2.0/UDP host:99999;branch=x', 'Via: SIP/2.0/UDP host;branch="open']) {
      const before = request(via);
      assert.equal(stampVia(before, '192.0.2.4', 5060), before, via);
    }
  });

  test('a request with no Via, or no header end, is returned unchanged', () => {
    const noVia = request('Route: <sip:p1.example.com;lr>');
    assert.equal(stampVia(noVia, '192.0.2.4', 5060), noVia);
    const partial = Buffer.from('INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n');
    assert.equal(stampVia(partial, '192.0.2.4', 5060), partial);
  });

  test('CRLFs before the request line (RFC 3261 §7.5) do not hide the Via', () => {
    const before = Buffer.concat([Buffer.from('\r\n\r\n'), request('Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds')]);
    const after = stampVia(before, '192.0.2.4', 5060);
    assertOnlyReplaced(before, after, 'z9hG4bK776asdhds\r\n', 'z9hG4bK776asdhds;received=192.0.2.4\r\n');
  });

  test('viaNeedsStamp agrees with whether stampVia changes the bytes', () => {
    const cases: [string, string][] = [
      ['SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1', '192.0.2.4'],
      ['SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1', '192.0.2.4'],
      ['SIP/2.0/UDP 192.0.2.4;rport;branch=z9hG4bK1', '192.0.2.4'],
      ['SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1', '2001:DB8::1'],
      ['SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1', '2001:db8::2'],
      ['SIP/2.0/TCP Host.Example.com;branch=z9hG4bK1', 'host.example.com'],
    ];
    for (const [via, source] of cases) {
      const before = request(`Via: ${via}`);
      assert.equal(viaNeedsStamp(parseVia(via), source), stampVia(before, source, 5060) !== before, `${via} from ${source}`);
    }
    assert.equal(viaNeedsStamp(parseVia('SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1'), '192.0.2.4'), false);
    assert.equal(viaNeedsStamp(parseVia('SIP/2.0/UDP 192.0.2.4;rport;branch=z9hG4bK1'), '192.0.2.4'), true);
  });

  test('a plain Uint8Array (not a Buffer) is accepted', () => {
    const before = request('Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds');
    const view = new Uint8Array(before.buffer, before.byteOffset, before.byteLength);
    assert.equal(reparse(stampVia(view, '192.0.2.4', 5060)).received, '192.0.2.4');
  });
});
