import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ENVELOPE_VERSION, EnvelopeError, decodeHeartbeat, decodeInbound, decodeMap, decodeOutbound, decodeSendFailure,
  encodeEnvelope, encodeMap, type EnvelopeErrorCode, type Heartbeat, type InboundSip, type OutboundSip, type SendFailure,
} from './envelopes.js';

// NUL, a lone continuation byte, an overlong sequence and 0xff: bytes no UTF-8 round trip keeps
const SIP = Buffer.concat([
  Buffer.from('INVITE sip:bob@biloxi.com SIP/2.0\r\nContent-Length: 6\r\n\r\n', 'latin1'),
  Buffer.from([0x00, 0x80, 0xc0, 0xaf, 0xff, 0xfe]),
]);

function inbound(): InboundSip {
  return {
    v: ENVELOPE_VERSION,
    sip: new Uint8Array(SIP),
    route: {
      kind: 'request', method: 'INVITE', status: 0, callId: 'a84b4c76e66710@pc33.atlanta.com', branch: 'z9hG4bK776asdhds',
      toTag: '', fromTag: '1928301774', cseq: 314159, cseqMethod: 'INVITE',
    },
    transport: {
      protocol: 'tcp', localAddress: '10.0.0.1', localPort: 5060, remoteAddress: '192.0.2.4', remotePort: 49152,
      connectionId: 'c42', nodeId: 'tn1',
    },
    receivedAt: 1_700_000_000_123,
  };
}

function outbound(): OutboundSip {
  return {
    v: ENVELOPE_VERSION, sip: new Uint8Array(SIP), protocol: 'udp', address: '2001:db8::1', port: 5062,
    connectionId: 'c7', workerId: 'w1', ref: 'z9hG4bK-w1-0011223344556677-aabbccddeeff',
  };
}

function sendFailure(): SendFailure {
  return { v: ENVELOPE_VERSION, ref: 'z9hG4bK-x', reason: 'ECONNREFUSED', protocol: 'tcp', address: '192.0.2.9', port: 5060 };
}

function heartbeat(): Heartbeat {
  return { v: ENVELOPE_VERSION, workerId: 'w1', state: 'draining', calls: 12, startedAt: 1_700_000_000_000, sentAt: 1_700_000_001_000, version: '0.1.0', slots: [[7, 1], [4095, 12]] };
}

function assertEnvelopeError(fn: () => unknown, code: EnvelopeErrorCode, what: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EnvelopeError, `${what}: threw ${String(err)}`);
    assert.equal(err.code, code, `${what}: ${err.message}`);
    assert.equal(err.name, 'EnvelopeError');
    return true;
  }, what);
}

/** A plain-object copy of `o` with `key` removed or replaced (through `encodeMap`, so no type checks). */
function variant(o: object, key: string, value?: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(o as Record<string, unknown>) };
  if (arguments.length === 2) delete copy[key];
  else copy[key] = value;
  return copy;
}

describe('envelope round trips', () => {
  test('InboundSip keeps the SIP bytes exactly, NUL and non-UTF-8 bytes included', () => {
    const e = inbound();
    const d = decodeInbound(encodeEnvelope(e));
    assert.ok(d.sip instanceof Uint8Array);
    assert.equal(Buffer.compare(Buffer.from(d.sip), SIP), 0);
    assert.deepEqual(d.route, e.route);
    assert.deepEqual(d.transport, e.transport);
    assert.equal(d.receivedAt, e.receivedAt);
    assert.equal(d.v, 1);
  });

  test('InboundSip without the optional connectionId', () => {
    const e = inbound();
    delete e.transport.connectionId;
    e.transport.protocol = 'udp';
    const d = decodeInbound(encodeEnvelope(e));
    assert.equal(d.transport.connectionId, undefined);
    assert.equal(d.transport.protocol, 'udp');
  });

  test('an inbound message names its node\'s listener of each transport (TLS too); an outbound one its server name', () => {
    const e = inbound();
    e.transport.protocol = 'tls';
    e.transport.tls = { address: '10.0.0.1', port: 5061 };
    e.transport.udp = { address: '10.0.0.1', port: 5060 };
    e.transport.tcp = { address: '10.0.0.1', port: 5062 };
    assert.deepEqual(decodeInbound(encodeEnvelope(e)).transport.tls, { address: '10.0.0.1', port: 5061 });
    assert.deepEqual(decodeInbound(encodeEnvelope(e)).transport.udp, { address: '10.0.0.1', port: 5060 });
    assert.deepEqual(decodeInbound(encodeEnvelope(e)).transport.tcp, { address: '10.0.0.1', port: 5062 });
    assertEnvelopeError(() => decodeInbound(encodeMap({ ...e, transport: { ...e.transport, udp: { port: 5060 } } })), 'missing-field', 'udp without an address');
    assertEnvelopeError(() => decodeInbound(encodeMap({ ...e, transport: { ...e.transport, tls: { address: '10.0.0.1' } } })), 'missing-field', 'tls without a port');
    const out: OutboundSip = { ...outbound(), protocol: 'tls', serverName: 'sip.carrier.example' };
    const d = decodeOutbound(encodeEnvelope(out));
    assert.equal(d.protocol, 'tls');
    assert.equal(d.serverName, 'sip.carrier.example');
    assertEnvelopeError(() => decodeOutbound(encodeMap({ ...out, serverName: 5 })), 'missing-field', 'serverName not a string');
    assert.deepEqual(decodeOutbound(encodeEnvelope({ ...out, connectionId: 'c3', fallback: { address: '192.0.2.7', port: 5061 } })).fallback, { address: '192.0.2.7', port: 5061 });
    assertEnvelopeError(() => decodeOutbound(encodeMap({ ...out, fallback: { address: '192.0.2.7' } })), 'missing-field', 'fallback without a port');
    const files = { caFile: '/etc/tls/ca.pem', certFile: '/etc/tls/c.crt', keyFile: '/etc/tls/c.key' };
    assert.deepEqual(decodeOutbound(encodeEnvelope({ ...out, tlsFiles: files })).tlsFiles, files, 'a peer\'s own TLS files');
    assertEnvelopeError(() => decodeOutbound(encodeMap({ ...out, tlsFiles: 'ca.pem' })), 'missing-field', 'tlsFiles missing or not a object');
    assertEnvelopeError(() => decodeOutbound(encodeMap({ ...out, tlsFiles: { caFile: 1 } })), 'missing-field', 'outbound SIP tlsFiles: caFile not a string');
  });

  test('every byte value survives in sip', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const e = { ...outbound(), sip: all };
    assert.deepEqual([...decodeOutbound(encodeEnvelope(e)).sip], [...all]);
  });

  test('OutboundSip, with and without its optional fields', () => {
    const e = outbound();
    const d = decodeOutbound(encodeEnvelope(e));
    assert.equal(Buffer.compare(Buffer.from(d.sip), SIP), 0);
    assert.deepEqual({ ...d, sip: undefined }, { ...e, sip: undefined });
    const bare: OutboundSip = { v: 1, sip: new Uint8Array([1, 2]), protocol: 'tcp', address: 'a.example', port: 5061, workerId: 'w2' };
    const d2 = decodeOutbound(encodeEnvelope(bare));
    assert.equal(d2.ref, undefined);
    assert.equal(d2.connectionId, undefined);
    assert.equal(d2.workerId, 'w2');
  });

  test('SendFailure', () => {
    assert.deepEqual(decodeSendFailure(encodeEnvelope(sendFailure())), sendFailure());
    const noRef = sendFailure();
    delete noRef.ref;
    assert.deepEqual(decodeSendFailure(encodeEnvelope(noRef)), noRef);
  });

  test('Heartbeat, active and draining', () => {
    assert.deepEqual(decodeHeartbeat(encodeEnvelope(heartbeat())), heartbeat());
    const active: Heartbeat = { ...heartbeat(), state: 'active', calls: 0 };
    assert.deepEqual(decodeHeartbeat(encodeEnvelope(active)), active);
    const none: Heartbeat = { ...heartbeat(), slots: [] };
    assert.deepEqual(decodeHeartbeat(encodeEnvelope(none)), none);
  });

  test('InboundSip forwarded by a worker keeps its mark', () => {
    const forwarded: InboundSip = { ...inbound(), forwarded: true };
    assert.equal(decodeInbound(encodeEnvelope(forwarded)).forwarded, true);
    assert.equal(decodeInbound(encodeEnvelope(inbound())).forwarded, undefined);
    assertEnvelopeError(() => decodeInbound(encodeMap({ ...inbound(), forwarded: 1 })), 'missing-field', 'forwarded=1');
  });

  test('encodeMap / decodeMap round trip a schema-less payload', () => {
    const stats = { node: 'tn1', counters: { udpIn: 3, tcpIn: 0 }, list: [1, 'two'] };
    assert.deepEqual(decodeMap(encodeMap(stats)), stats);
  });
});

describe('envelope errors', () => {
  test("version 2, or none, is 'unknown-version'", () => {
    const cases: [string, (d: Uint8Array) => unknown, object][] = [
      ['inbound', decodeInbound, inbound()],
      ['outbound', decodeOutbound, outbound()],
      ['send failure', decodeSendFailure, sendFailure()],
      ['heartbeat', decodeHeartbeat, heartbeat()],
    ];
    for (const [what, decode, e] of cases) {
      assertEnvelopeError(() => decode(encodeMap(variant(e, 'v', 2))), 'unknown-version', `${what} v:2`);
      assertEnvelopeError(() => decode(encodeMap(variant(e, 'v', '1'))), 'unknown-version', `${what} v:'1'`);
      assertEnvelopeError(() => decode(encodeMap(variant(e, 'v'))), 'unknown-version', `${what} without v`);
    }
  });

  test("each missing or mistyped required field of InboundSip is 'missing-field'", () => {
    const e = inbound() as unknown as Record<string, unknown>;
    for (const key of ['sip', 'route', 'transport', 'receivedAt']) {
      assertEnvelopeError(() => decodeInbound(encodeMap(variant(e, key))), 'missing-field', `no ${key}`);
      assertEnvelopeError(() => decodeInbound(encodeMap(variant(e, key, key === 'receivedAt' ? '1' : 5))), 'missing-field', `bad ${key}`);
    }
    assertEnvelopeError(() => decodeInbound(encodeMap(variant(e, 'sip', 'INVITE'))), 'missing-field', 'sip as a string');
    const route = e.route as Record<string, unknown>;
    for (const key of Object.keys(route)) {
      const wrong = typeof route[key] === 'number' ? 'x' : 0;
      assertEnvelopeError(() => decodeInbound(encodeMap({ ...e, route: variant(route, key) })), 'missing-field', `no route.${key}`);
      assertEnvelopeError(() => decodeInbound(encodeMap({ ...e, route: variant(route, key, wrong) })), 'missing-field', `bad route.${key}`);
    }
    const transport = e.transport as Record<string, unknown>;
    for (const key of Object.keys(transport)) {
      const wrong = typeof transport[key] === 'number' ? 'x' : 0;
      if (key !== 'connectionId') {
        assertEnvelopeError(() => decodeInbound(encodeMap({ ...e, transport: variant(transport, key) })), 'missing-field', `no transport.${key}`);
      }
      assertEnvelopeError(() => decodeInbound(encodeMap({ ...e, transport: variant(transport, key, wrong) })), 'missing-field', `bad transport.${key}`);
    }
  });

  test("each missing or mistyped field of OutboundSip is 'missing-field'", () => {
    const e = outbound();
    for (const key of ['sip', 'protocol', 'address', 'port', 'workerId']) {
      assertEnvelopeError(() => decodeOutbound(encodeMap(variant(e, key))), 'missing-field', `no ${key}`);
    }
    for (const [key, value] of [['sip', 'x'], ['protocol', 1], ['address', 1], ['port', '5060'], ['workerId', 1], ['connectionId', 1], ['ref', 1], ['protocol', 'sctp']] as const) {
      assertEnvelopeError(() => decodeOutbound(encodeMap(variant(e, key, value))), 'missing-field', `${key}=${String(value)}`);
    }
  });

  test("each missing or mistyped field of SendFailure is 'missing-field'", () => {
    const e = sendFailure();
    for (const key of ['reason', 'protocol', 'address', 'port']) {
      assertEnvelopeError(() => decodeSendFailure(encodeMap(variant(e, key))), 'missing-field', `no ${key}`);
    }
    for (const [key, value] of [['reason', 1], ['port', '1'], ['ref', 7], ['address', null]] as const) {
      assertEnvelopeError(() => decodeSendFailure(encodeMap(variant(e, key, value))), 'missing-field', `${key}=${String(value)}`);
    }
  });

  test("each missing or mistyped field of Heartbeat is 'missing-field'", () => {
    const e = heartbeat();
    for (const key of ['workerId', 'state', 'calls', 'startedAt', 'sentAt', 'version', 'slots']) {
      assertEnvelopeError(() => decodeHeartbeat(encodeMap(variant(e, key))), 'missing-field', `no ${key}`);
    }
    for (const [key, value] of [['workerId', 1], ['calls', '3'], ['sentAt', null], ['version', 1], ['state', 'zombie'], ['state', 1],
      ['slots', 3], ['slots', [3]], ['slots', [[3]]], ['slots', [[3, 'x']]], ['slots', [[1.5, 1]]], ['slots', [[1, 2, 3]]]] as const) {
      assertEnvelopeError(() => decodeHeartbeat(encodeMap(variant(e, key, value))), 'missing-field', `${key}=${String(value)}`);
    }
  });

  test("garbage bytes are 'undecodable'", () => {
    const decoders = [decodeInbound, decodeOutbound, decodeSendFailure, decodeHeartbeat];
    const valid = encodeEnvelope(heartbeat());
    const garbage: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['never-used byte 0xc1', Uint8Array.of(0xc1)],
      ['SIP text', Buffer.from('INVITE sip:bob@biloxi.com SIP/2.0\r\n\r\n')],
      ['truncated envelope', valid.subarray(0, valid.length - 3)],
      ['envelope with trailing bytes', Buffer.concat([valid, Uint8Array.of(0x01)])],
      ['a number', encodeMap(42)],
      ['an array', encodeMap([1, { v: 1 }])],
      ['bytes', encodeMap(Buffer.from('v'))],
      ['a string', encodeMap('v')],
      ['nil', encodeMap(null)],
    ];
    for (const decode of decoders) {
      for (const [what, bytes] of garbage) assertEnvelopeError(() => decode(bytes), 'undecodable', `${decode.name}: ${what}`);
    }
    assertEnvelopeError(() => decodeMap(valid.subarray(0, 5)), 'undecodable', 'decodeMap of a truncated map');
    assertEnvelopeError(() => decodeMap(new Uint8Array(0)), 'undecodable', 'decodeMap of nothing');
  });

  test('a version that is a map, even one whose toString is not a function, is an EnvelopeError', () => {
    for (const v of [{}, { toString: 1 }, { toString: 1, valueOf: 1 }, [2]]) {
      for (const decode of [decodeInbound, decodeOutbound, decodeSendFailure, decodeHeartbeat]) {
        assertEnvelopeError(() => decode(encodeMap({ ...heartbeat(), v })), 'unknown-version', `${decode.name} v=${JSON.stringify(v)}`);
      }
    }
  });

  test('random and mutated bytes never raise anything but EnvelopeError', () => {
    let s = 0x2545f491;
    const rand = (): number => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return s;
    };
    const decoders = [decodeInbound, decodeOutbound, decodeSendFailure, decodeHeartbeat, decodeMap];
    const seeds = [encodeEnvelope(inbound()), encodeEnvelope(outbound()), encodeEnvelope(sendFailure()), encodeEnvelope(heartbeat())];
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 1_500; i++) {
      const bytes = new Uint8Array(rand() % 48);
      for (let j = 0; j < bytes.length; j++) bytes[j] = rand() & 0xff;
      inputs.push(bytes);
    }
    for (let i = 0; i < 1_500; i++) {
      const bytes = Uint8Array.from(seeds[i % seeds.length] as Uint8Array);
      for (let flips = 1 + (rand() % 3); flips > 0; flips--) bytes[rand() % bytes.length] = rand() & 0xff;
      inputs.push(bytes);
    }
    let decoded = 0;
    for (const bytes of inputs) {
      for (const decode of decoders) {
        try {
          decode(bytes);
          decoded++;
        } catch (err) {
          assert.ok(err instanceof EnvelopeError, `${decode.name}(${Buffer.from(bytes).toString('hex')}) threw ${String(err)}`);
          assert.ok(['undecodable', 'unknown-version', 'missing-field'].includes(err.code));
        }
      }
    }
    assert.ok(decoded > 0, 'some mutated envelopes still decode');
  });
});
