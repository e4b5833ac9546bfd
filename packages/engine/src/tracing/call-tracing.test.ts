// Call and transfer spans through the engine's actors, with a recording CallTracer (no OTel):
// which span each call and transfer gets, and which span everything they send carries.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { readRoutingFields, serializeMessage, SipRequest, type SipMessage } from '@switchboard/sip';
import type { CallEvent } from '@switchboard/cdr';
import type { InboundSip } from '@switchboard/wire';
import { pino } from 'pino';
import { A_PORT, B_PORT, answer, fromA, inviteFromA, isReq, isRes, makeEngine, settle } from '../testing/harness.js';
import type { Destination } from '../protocol/sip-link.js';
import type { CallSpan, CallTracer, TraceAttributes } from './call-tracer.js';

const INVITE_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

class RecordedSpan implements CallSpan {
  readonly events: CallEvent[] = [];
  endedWith: TraceAttributes | undefined;
  constructor(
    readonly name: string,
    readonly traceparent: string,
    readonly parent: string | undefined,
    readonly attributes: TraceAttributes,
  ) {}
  get traceId(): string {
    return this.traceparent.split('-')[1] ?? '';
  }
  note(event: CallEvent): void {
    this.events.push(event);
    if (event.type === 'ended') this.end();
  }
  end(attributes: TraceAttributes = {}): void {
    this.endedWith ??= attributes;
  }
}

class RecordingTracer implements CallTracer {
  readonly spans: RecordedSpan[] = [];
  private n = 0;
  startCall(callId: string, sipCallId: string, traceparent: string | undefined): CallSpan {
    return this.add('call', traceparent, { callId, sipCallId });
  }
  startTransfer(call: CallSpan, attributes: TraceAttributes): CallSpan {
    return this.add('transfer', call.traceparent, attributes);
  }
  private add(name: string, parent: string | undefined, attributes: TraceAttributes): RecordedSpan {
    const span = new RecordedSpan(name, `00-0af7651916cd43dd8448eb211c80319c-${(++this.n).toString(16).padStart(16, '0')}-01`, parent, attributes);
    this.spans.push(span);
    return span;
  }
}

/** The engine, with what it sends recorded with the span it was sent in, and its log lines kept. */
function tracedEngine(tracer: CallTracer | undefined) {
  const h = makeEngine();
  const traces: { message: SipMessage; trace: CallSpan | undefined }[] = [];
  const link = h.ctx.link;
  h.ctx.link = {
    send: (message: SipMessage, to: Destination, ref?: string, trace?: CallSpan) => {
      traces.push({ message, trace });
      link.send(message, to, ref);
    },
  };
  h.ctx.tracer = tracer;
  const lines: Record<string, unknown>[] = [];
  h.ctx.log = pino({ level: 'debug' }, new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  }));
  return { ...h, traces, lines };
}

/** Delivers `sip` from 127.0.0.1:`port` with a `traceparent` header, as the worker passes it on. */
function deliverTraced(h: ReturnType<typeof tracedEngine>, sip: SipMessage | string, port: number, traceparent?: string): void {
  const bytes = typeof sip === 'string' ? Buffer.from(sip) : Buffer.from(serializeMessage(sip));
  const env: InboundSip = {
    v: 1, sip: bytes, route: readRoutingFields(bytes), receivedAt: Date.now(),
    transport: { protocol: 'udp', localAddress: '127.0.0.1', localPort: 5060, remoteAddress: '127.0.0.1', remotePort: port, nodeId: 't1' },
  };
  h.engine.onInbound(env, traceparent);
}

/** A termination call, answered by the carrier and ACKed; returns the 200 the PBX got. */
async function establish(h: ReturnType<typeof tracedEngine>): Promise<SipMessage> {
  deliverTraced(h, inviteFromA(), A_PORT, INVITE_TRACEPARENT);
  await settle();
  const [bInvite] = h.link.take(B_PORT, isReq('INVITE'));
  assert.ok(bInvite !== undefined, 'the INVITE to the carrier');
  deliverTraced(h, answer(bInvite, 200, { sdp: 'v=0\r\no=carrier 9 9 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n' }), B_PORT);
  await settle();
  const [ok] = h.link.take(A_PORT, isRes(200, 'INVITE'));
  assert.ok(ok !== undefined, 'the 200 to the PBX');
  deliverTraced(h, fromA(ok, 'ACK', 1), A_PORT);
  await settle();
  return ok;
}

describe('call tracing: spans at the call actor, carried by what the call sends', () => {
  test('off (no tracer): the call sends with no span, and its log lines name no trace', async () => {
    const h = tracedEngine(undefined);
    const ok = await establish(h);
    deliverTraced(h, fromA(ok, 'BYE', 2), A_PORT);
    await settle();
    assert.ok(h.traces.length > 0);
    assert.ok(h.traces.every((t) => t.trace === undefined));
    const started = h.lines.find((l) => l.event === 'call-started');
    assert.ok(started !== undefined);
    assert.equal('traceId' in started, false);
    h.kernel.shutdown();
  });

  test('on: one call span, a child of the INVITE\'s receive span, on everything both legs send; it ends with the call', async () => {
    const tracer = new RecordingTracer();
    const h = tracedEngine(tracer);
    const ok = await establish(h);
    const [call] = tracer.spans;
    assert.equal(tracer.spans.length, 1);
    assert.equal(call?.name, 'call');
    assert.equal(call?.parent, INVITE_TRACEPARENT);
    assert.match(String(call?.attributes.sipCallId), /@pbx\.example$/);
    assert.ok(h.traces.length >= 4, '100, INVITE, 200, ACK');
    assert.ok(h.traces.every((t) => t.trace === call), 'every message of the call carries its span');
    assert.ok(call?.events.some((e) => e.type === 'planned' && e.trunk === 'acme'));
    assert.equal(call?.endedWith, undefined);
    // pino: the call's lines (and its legs') carry the trace id
    const started = h.lines.find((l) => l.event === 'call-started');
    assert.equal(started?.traceId, call?.traceId);
    deliverTraced(h, fromA(ok, 'BYE', 2), A_PORT);
    await settle();
    const [bye] = h.link.take(B_PORT, isReq('BYE'));
    assert.ok(bye !== undefined);
    deliverTraced(h, answer(bye, 200), B_PORT);
    await settle(40);
    assert.ok(h.traces.every((t) => t.trace === call), 'the in-dialog BYE is handled in the call\'s trace');
    assert.deepEqual(call?.endedWith, {}, 'the span ends with the call');
    h.kernel.shutdown();
  });

  test('on: each attempt is an event of the span that placed it: the carrier leg on the call\'s, the new leg on the transfer\'s', async () => {
    const tracer = new RecordingTracer();
    const h = tracedEngine(tracer);
    const ok = await establish(h);
    const [call] = tracer.spans;
    const toCarrier = h.traces.find((t) => t.message instanceof SipRequest && t.message.method === 'INVITE' && t.trace === call && t.message.headers.callId !== ok.headers.callId);
    assert.ok(toCarrier !== undefined, 'the INVITE to the carrier');
    const callAttempts = call?.events.filter((e) => e.type === 'attempt');
    assert.deepEqual(callAttempts?.map((e) => e.type === 'attempt' && [e.leg, e.carrier, e.sipCallId]), [['b1', 'carrierB', toCarrier.message.headers.callId]]);
    h.traces.splice(0);
    deliverTraced(h, fromA(ok, 'REFER', 2, ['Refer-To: <sip:+14155552000@switchboard.example>']), A_PORT);
    await settle(40);
    const transfer = tracer.spans[1];
    const newInvite = h.traces.find((t) => t.message instanceof SipRequest && t.message.method === 'INVITE');
    assert.ok(newInvite !== undefined, 'the new leg\'s INVITE');
    const transferAttempts = transfer?.events.filter((e) => e.type === 'attempt');
    assert.deepEqual(transferAttempts?.map((e) => e.type === 'attempt' && [e.leg, e.carrier, e.sipCallId]), [['c1.1', 'carrierB', newInvite.message.headers.callId]]);
    assert.equal(call?.events.filter((e) => e.type === 'attempt').length, 1, 'the transfer\'s attempt is not the call span\'s');
    h.kernel.shutdown();
  });

  test('on: a transfer gets a span under the call\'s, and its new leg\'s INVITE carries it', async () => {
    const tracer = new RecordingTracer();
    const h = tracedEngine(tracer);
    const ok = await establish(h);
    h.traces.splice(0);
    deliverTraced(h, fromA(ok, 'REFER', 2, ['Refer-To: <sip:+14155552000@switchboard.example>']), A_PORT);
    await settle(40);
    const [call, transfer] = tracer.spans;
    assert.equal(transfer?.name, 'transfer');
    assert.equal(transfer?.parent, call?.traceparent, 'a child of the call span');
    assert.equal(transfer?.attributes['switchboard.transfer.kind'], 'pstn');
    const newInvite = h.traces.find((t) => t.message instanceof SipRequest && t.message.method === 'INVITE');
    assert.ok(newInvite !== undefined, 'the new leg\'s INVITE');
    assert.equal(newInvite.trace, transfer);
    const accepted = h.traces.find((t) => t.message.headers.cseq?.method === 'REFER');
    assert.equal(accepted?.trace, call, 'the 202 is the call\'s');
    h.kernel.shutdown();
    await settle();
    assert.deepEqual(transfer?.endedWith, { 'switchboard.transfer.outcome': 'aborted' }, 'ended with the actor: the call went first');
  });
});
