import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBridged, decodeJoinReply, decodeJoinRequest, encodeBridged, encodeJoinReply, encodeJoinRequest,
  type Bridged, type JoinReply, type JoinRequest, type RelayedCommand, type RelayedEvent,
} from './bridge.js';
import { encodeMap, EnvelopeError, type EnvelopeErrorCode } from './envelopes.js';

// msgpack's bin decodes to a Buffer on Node: the expected bodies are Buffers so deepEqual compares bytes
const SDP = Buffer.from('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n');

function joinRequest(): JoinRequest {
  return { v: 1, legScope: 'w1.0011223344556677', callId: 'a84b4c76e66710@pc33.atlanta.com', tags: ['w2.aa', 'fa1'], master: { worker: 'w1', call: 'c42' } };
}

const JOIN_REPLIES: JoinReply[] = [
  { v: 1, ok: true, relay: { worker: 'w2', call: 'c7' }, sdp: SDP, sdpType: 'application/sdp', saw: SDP },
  { v: 1, ok: true, relay: { worker: 'w2', call: 'c7' } },
  { v: 1, ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' },
];

const EVENTS: RelayedEvent[] = [
  { type: 'provisional', status: 183, reason: 'Session Progress', body: SDP, contentType: 'application/sdp' },
  { type: 'provisional', status: 180, reason: 'Ringing', body: Buffer.alloc(0) },
  { type: 'failed', status: 486, reason: 'Busy Here', cause: 'response', reasonHeader: 'Q.850;cause=17' },
  { type: 'failed', status: 408, reason: 'Request Timeout', cause: 'no-answer' },
  { type: 'bye', reason: 'session timer expired', reasonHeader: 'SIP;cause=408' },
  { type: 'bye' },
  { type: 'bye', reasonHeader: 'Q.850;cause=16', at: 1_796_500_000_000 },
  { type: 'request', token: 't1', method: 'INFO', body: SDP, contentType: 'application/dtmf-relay' },
  { type: 'request', token: 't2', method: 'INVITE', body: Buffer.alloc(0) },
  { type: 'request-answered', token: { kind: 'relay', id: 3 }, status: 200, reason: 'OK', body: SDP, contentType: 'application/sdp' },
  { type: 'request-answered', token: { kind: 'reinvite', party: 'remaining' }, status: 491, reason: 'Request Pending' },
  { type: 'ended', cause: 'bye' },
];

const COMMANDS: RelayedCommand[] = [
  { type: 'send-request', token: { kind: 'reinvite', party: 'new' }, method: 'INVITE', body: SDP, contentType: 'application/sdp', headers: [['Session-Expires', '1800;refresher=uas']] },
  { type: 'send-request', token: { kind: 'notify', seq: 2 }, method: 'BYE' },
  { type: 'answer-request', token: 't1', status: 200, reason: 'OK', body: SDP, contentType: 'application/sdp', headers: [['Supported', 'timer']] },
  { type: 'answer-request', token: 't2', status: 488 },
  { type: 'hangup', status: 503, reason: 'Service Unavailable' },
  { type: 'hangup' },
  { type: 'hangup', reasonHeader: 'Q.850;cause=102;text="Maximum call duration"' },
];

const BRIDGED: Bridged[] = [
  ...EVENTS.map((event): Bridged => ({ v: 1, call: 'c42', message: { to: 'master', event } })),
  ...COMMANDS.map((command): Bridged => ({ v: 1, call: 'c7', message: { to: 'relay', command } })),
  { v: 1, call: 'c7', message: { to: 'relay', attached: true } },
];

function refused(fn: () => unknown, code: EnvelopeErrorCode, what: string): EnvelopeError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => ((caught = err), true), what);
  assert.ok(caught instanceof EnvelopeError, `${what}: threw ${String(caught)}`);
  assert.equal(caught.code, code, `${what}: ${caught.message}`);
  return caught;
}

/** A plain copy of `o` with `key` replaced, or removed when `value` is omitted. */
function variant(o: object, key: string, ...value: unknown[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(o as Record<string, unknown>) };
  if (value.length === 0) delete copy[key];
  else copy[key] = value[0];
  return copy;
}

/** For each field of `o`: a wrong type; for each required one, its absence too. */
function malformed(o: Record<string, unknown>, optional: readonly string[] = []): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [];
  for (const [key, value] of Object.entries(o)) {
    if (key === 'v') continue;
    const wrong = typeof value === 'string' ? 7 : typeof value === 'number' ? '7' : typeof value === 'boolean' ? 'yes' : 'text';
    out.push([`${key} of another type`, variant(o, key, wrong)]);
    if (!optional.includes(key)) out.push([`no ${key}`, variant(o, key)]);
  }
  return out;
}

describe('worker-to-worker envelopes: round trips', () => {
  test('a join request', () => {
    assert.deepEqual(decodeJoinRequest(encodeJoinRequest(joinRequest())), joinRequest());
  });

  test('each join reply, with and without its optional fields', () => {
    for (const reply of JOIN_REPLIES) assert.deepEqual(decodeJoinReply(encodeJoinReply(reply)), reply);
  });

  test('each relayed event, command and the attach, with and without optional fields', () => {
    for (const b of BRIDGED) assert.deepEqual(decodeBridged(encodeBridged(b)), b, JSON.stringify(b.message));
  });

  test('what a decoder returns holds only the fields of the shape', () => {
    const extra = { ...BRIDGED[0], sip: 'x', message: { to: 'master', event: { ...EVENTS[0], leg: 'b1', request: { method: 'INFO' } } } };
    assert.deepEqual(decodeBridged(encodeMap(extra)), BRIDGED[0]);
  });
});

describe('worker-to-worker envelopes: what is refused', () => {
  test("version 2, a string version, or none, is 'unknown-version' naming the version seen", () => {
    const decoders: [string, (d: Uint8Array) => unknown, object][] = [
      ['join request', decodeJoinRequest, joinRequest()],
      ['join reply', decodeJoinReply, JOIN_REPLIES[0] as JoinReply],
      ['bridge message', decodeBridged, BRIDGED[0] as Bridged],
    ];
    for (const [what, decode, e] of decoders) {
      assert.equal(refused(() => decode(encodeMap(variant(e, 'v', 2))), 'unknown-version', `${what} v:2`).version, 2);
      assert.equal(refused(() => decode(encodeMap(variant(e, 'v', '1'))), 'unknown-version', `${what} v:'1'`).version, '1');
      const none = refused(() => decode(encodeMap(variant(e, 'v'))), 'unknown-version', `${what} without v`);
      assert.equal(none.version, undefined);
      assert.match(none.message, /version missing/);
    }
  });

  test('each malformed field of a join request', () => {
    const r = joinRequest() as unknown as Record<string, unknown>;
    for (const [what, bad] of malformed(r)) refused(() => decodeJoinRequest(encodeMap(bad)), 'missing-field', what);
    refused(() => decodeJoinRequest(encodeMap({ ...r, tags: ['a', 1] })), 'missing-field', 'a tag that is a number');
    for (const [what, master] of malformed(r.master as Record<string, unknown>)) {
      refused(() => decodeJoinRequest(encodeMap({ ...r, master })), 'missing-field', `master: ${what}`);
    }
    refused(() => decodeJoinRequest(encodeMap({ ...r, master: ['w1', 'c42'] })), 'missing-field', 'master as a list');
  });

  test('each malformed field of a join reply', () => {
    const optional = ['sdp', 'sdpType', 'saw'];
    for (const reply of JOIN_REPLIES) {
      const r = reply as unknown as Record<string, unknown>;
      for (const [what, bad] of malformed(r, optional)) {
        // `ok` of another type, or absent: neither reply
        refused(() => decodeJoinReply(encodeMap(bad)), 'missing-field', `${JSON.stringify(reply.ok)}: ${what}`);
      }
    }
    refused(() => decodeJoinReply(encodeMap({ v: 1, ok: true, status: 481, reason: 'x' })), 'missing-field', 'ok: true without relay');
    refused(() => decodeJoinReply(encodeMap({ v: 1, ok: false, relay: { worker: 'w', call: 'c' } })), 'missing-field', 'ok: false without status');
    refused(() => decodeJoinReply(encodeMap({ v: 1, ok: true, relay: { worker: 'w2' } })), 'missing-field', 'relay without call');
  });

  test('each malformed field of every relayed event and command', () => {
    const optional = ['contentType', 'reasonHeader', 'reason', 'body', 'headers', 'status', 'at'];
    for (const b of BRIDGED) {
      const m = b.message as Record<string, unknown>;
      const inner = 'event' in m ? 'event' : 'command' in m ? 'command' : undefined;
      if (inner === undefined) continue;
      const shape = m[inner] as Record<string, unknown>;
      // `status` and `reason` are optional on hangup and (reason) on answer-request and bye only
      const opt = optional.filter((k) => !(k === 'status' && shape.type !== 'hangup') && !(k === 'reason' && !['hangup', 'answer-request', 'bye'].includes(String(shape.type))) && !(k === 'body' && ['provisional', 'request'].includes(String(shape.type))));
      for (const [what, bad] of malformed(shape, opt)) {
        refused(() => decodeBridged(encodeMap({ ...b, message: { ...m, [inner]: bad } })), 'missing-field', `${String(shape.type)}: ${what}`);
      }
    }
  });

  test('unknown event and command types, causes, destinations, and malformed headers', () => {
    const event = (e: Record<string, unknown>) => encodeMap({ v: 1, call: 'c', message: { to: 'master', event: e } });
    const command = (c: Record<string, unknown>) => encodeMap({ v: 1, call: 'c', message: { to: 'relay', command: c } });
    refused(() => decodeBridged(event({ type: 'answered', body: SDP })), 'missing-field', 'an event the relay does not send');
    refused(() => decodeBridged(event({ type: 'failed', status: 500, reason: 'x', cause: 'meteor' })), 'missing-field', 'an unknown failure cause');
    refused(() => decodeBridged(command({ type: 'join', callId: 'x' })), 'missing-field', 'a command the master does not send');
    refused(() => decodeBridged(command({ type: 'send-request', token: { kind: 'relay', id: 1 }, method: 'INFO', headers: [['Only-Name']] })), 'missing-field', 'a header without a value');
    refused(() => decodeBridged(command({ type: 'send-request', token: 'x:reinvite', method: 'INFO' })), 'missing-field', 'a token that is a string');
    refused(() => decodeBridged(command({ type: 'send-request', token: { kind: 'relay' }, method: 'INFO' })), 'missing-field', 'a relay token without its id');
    refused(() => decodeBridged(command({ type: 'send-request', token: { kind: 'reinvite', party: 'other' }, method: 'INFO' })), 'missing-field', 'a re-INVITE token for no party');
    refused(() => decodeBridged(command({ type: 'send-request', token: { kind: 'gossip', seq: 1 }, method: 'INFO' })), 'missing-field', 'a token of an unknown kind');
    refused(() => decodeBridged(command({ type: 'send-request', token: { kind: 'relay', id: 1 }, method: 'INFO', headers: [['X', 1]] })), 'missing-field', 'a header value that is a number');
    refused(() => decodeBridged(command({ type: 'send-request', token: 't', method: 'INFO', headers: 'X: 1' })), 'missing-field', 'headers as text');
    refused(() => decodeBridged(encodeMap({ v: 1, call: 'c', message: { to: 'elsewhere', attached: true } })), 'missing-field', 'an unknown destination');
    refused(() => decodeBridged(encodeMap({ v: 1, call: 'c', message: { to: 'relay', attached: false } })), 'missing-field', 'attached: false');
    refused(() => decodeBridged(encodeMap({ v: 1, call: 'c', message: { to: 'relay' } })), 'missing-field', 'to the relay, with nothing');
    refused(() => decodeBridged(encodeMap({ v: 1, call: 'c', message: { to: 'master' } })), 'missing-field', 'to the master, without an event');
    refused(() => decodeBridged(encodeMap({ v: 1, message: { to: 'relay', attached: true } })), 'missing-field', 'no call');
    refused(() => decodeBridged(encodeMap({ v: 1, call: 'c' })), 'missing-field', 'no message');
    refused(() => decodeBridged(encodeMap({ v: 1, call: 'c', message: [1] })), 'missing-field', 'a message that is a list');
  });

  test("garbage is 'undecodable'", () => {
    for (const decode of [decodeJoinRequest, decodeJoinReply, decodeBridged]) {
      refused(() => decode(Uint8Array.of(0xc1)), 'undecodable', `${decode.name}: 0xc1`);
      refused(() => decode(encodeMap([1, { v: 1 }])), 'undecodable', `${decode.name}: a list`);
    }
  });
});
