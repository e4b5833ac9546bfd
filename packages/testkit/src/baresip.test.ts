import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { NetstringReader, netstring, parseSipTrace, startBaresip, type Baresip } from './baresip.js';
import { UserAgent } from './user-agent/user-agent.js';

// The baresip driver: its ctrl_tcp framing and its SIP trace reader, then a real baresip (Debian's
// baresip package) against a UserAgent over UDP.

describe('NetstringReader', () => {
  test('frames split anywhere and several in one chunk', () => {
    const reader = new NetstringReader();
    const wire = Buffer.from(netstring('{"a":"é"}') + netstring('{}'));
    assert.deepEqual(reader.push(wire.subarray(0, 5)), []);
    assert.deepEqual(reader.push(wire.subarray(5, 14)), ['{"a":"é"}']);
    assert.deepEqual(reader.push(wire.subarray(14)), ['{}']);
  });

  test('a frame without its comma is an error', () => {
    assert.throws(() => new NetstringReader().push(Buffer.from('2:{}x')), /comma/);
  });
});

describe('parseSipTrace', () => {
  const self = '127.0.0.30:5060';
  // what libre prints for -s, after the output was split into lines (CRLF and LF alike)
  const lines = [
    'baresip is ready.',
    '\x1b[36;1m#',
    `UDP ${self} -> 127.0.0.1:5080`,
    'OPTIONS sip:127.0.0.1:5080 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.30:5060;branch=z9hG4bK1',
    'Call-ID: c1',
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '\x1b[;m',
    'call: something else',
    '[0:00:01] audio=0/0 (bit/s)    \x1b[36;1m#',
    `UDP 127.0.0.1:5080 -> ${self}`,
    'NOTIFY sip:u@127.0.0.30:5060 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK2',
    'Call-ID: c1',
    'CSeq: 2 NOTIFY',
    'Content-Type: message/sipfrag;version=2.0',
    'Content-Length: 16',
    '',
    'SIP/2.0 200 OK',
    '\x1b[;m',
    '\x1b[36;1m#',
    `UDP 127.0.0.1:5080 -> ${self}`,
    'SIP/2.0 200 OK',
  ];

  test('each whole message once, with its direction and the other end; the one still printing left out', () => {
    const trace = parseSipTrace(lines, self);
    assert.deepEqual(trace.map((t) => [t.dir, t.peer, t.message.kind === 'request' ? t.message.method : t.message.status]), [
      ['out', '127.0.0.1:5080', 'OPTIONS'],
      ['in', '127.0.0.1:5080', 'NOTIFY'],
    ]);
    assert.equal(Buffer.from(trace[1]?.message.body ?? []).toString(), 'SIP/2.0 200 OK\r\n');
  });
});

async function phone(t: TestContext): Promise<Baresip> {
  const b = await startBaresip({ users: ['alice'], maxMs: 30_000 });
  t.after(() => b.stop());
  return b;
}

describe('a real baresip', () => {
  test('answers a call by itself and reports it; the BYE ends it', async (t) => {
    const b = await phone(t);
    const ua = await UserAgent.start({ name: 'caller', transport: 'udp' });
    t.after(() => ua.stop());
    const call = ua.call({ to: b.uri() });
    await call.established;
    const up = await b.waitForEvent('CALL_ESTABLISHED');
    assert.equal(up.id, call.callId);
    assert.equal(up.direction, 'incoming');
    assert.ok(b.sip.some((s) => s.dir === 'in' && s.message.kind === 'request' && s.message.method === 'INVITE'));
    await call.hangup();
    await b.waitForEvent('CALL_CLOSED', { match: (e) => e.id === call.callId });
  });

  test('dials, transfers with REFER and hangs up on command', async (t) => {
    const b = await phone(t);
    const ua = await UserAgent.start({ name: 'callee', transport: 'udp' });
    t.after(() => ua.stop());
    ua.onNextInvite({ ring: 0 });
    await b.dial(ua.uri.toString());
    const call = await ua.nextCall();
    await b.waitForEvent('CALL_ESTABLISHED');
    await b.transfer('sip:bob@example.com');
    const refer = await call.waitForRequest('REFER');
    assert.equal(refer.headers.get('refer-to'), 'sip:bob@example.com');
    await b.hangup();
    assert.equal((await call.ended).how, 'bye');
    await assert.rejects(b.command('no-such-command'), /command failed/);
  });
});
