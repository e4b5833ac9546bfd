// The OTel side of the worker's tracing with a recording tracer (no SDK, no exporter):
// `sip.transaction` spans from what the worker receives and sends, and the call span's disposition.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createResponse, parseMessage, readRoutingFields, serializeMessage, type SipMessage, type SipRequest } from '@switchboard/sip';
import {
  spanContextIn, SpanKind, SpanStatusCode, traceparentOf,
  type Attributes, type AttributeValue, type Context, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type Tracer,
} from '@switchboard/telemetry';
import type { InboundSip } from '@switchboard/wire';
import { OtelCallTracer } from './otel-call-tracer.js';
import { TransactionSpans } from './transaction-spans.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const RECEIVED = `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`;

class RecordedSpan implements Span {
  readonly attributes: Attributes;
  readonly events: string[] = [];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  constructor(
    readonly name: string,
    private readonly context: SpanContext,
    readonly options: SpanOptions,
    readonly parent: SpanContext | undefined,
  ) {
    this.attributes = { ...options.attributes };
  }
  spanContext(): SpanContext {
    return this.context;
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(name: string): this {
    this.events.push(name);
    return this;
  }
  addLink(_link: Link): this {
    return this;
  }
  addLinks(_links: Link[]): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(_name: string): this {
    return this;
  }
  end(): void {
    assert.equal(this.ended, false, `${this.name} ended twice`);
    this.ended = true;
  }
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(): void {}
}

class RecordingTracer implements Tracer {
  readonly spans: RecordedSpan[] = [];
  startSpan(name: string, options: SpanOptions = {}, context?: Context): Span {
    const parent = context === undefined ? undefined : spanContextIn(context);
    const spanId = (this.spans.length + 1).toString(16).padStart(16, '0');
    const span = new RecordedSpan(name, { traceId: parent?.traceId ?? TRACE, spanId, traceFlags: 1 }, options, parent);
    this.spans.push(span);
    return span;
  }
  startActiveSpan(): never {
    throw new Error('not used');
  }
}

const INVITE = [
  'INVITE sip:+14155550100@switchboard.example SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bKinv1',
  'Max-Forwards: 70',
  'From: <sip:+12125550123@pbx.example>;tag=fa1',
  'To: <sip:+14155550100@switchboard.example>',
  'Call-ID: a1@pbx.example',
  'CSeq: 1 INVITE',
  'Contact: <sip:pbx@127.0.0.1:5071>',
  'Content-Length: 0',
  '', '',
].join('\r\n');

function inbound(sip: string | SipMessage): InboundSip {
  const bytes = typeof sip === 'string' ? Buffer.from(sip) : Buffer.from(serializeMessage(sip));
  return {
    v: 1, sip: bytes, route: readRoutingFields(bytes), receivedAt: Date.now(),
    transport: { protocol: 'udp', localAddress: '127.0.0.1', localPort: 5060, remoteAddress: '127.0.0.1', remotePort: 5071, nodeId: 't1' },
  };
}

/** The request our leg sends to the carrier: our branch, its own Call-ID. */
function outboundInvite(): SipRequest {
  return parseMessage(Buffer.from(INVITE.replace('branch=z9hG4bKinv1', 'branch=z9hG4bK-w1-out1').replace('a1@pbx.example', 'b1@w1'))) as SipRequest;
}

function setup() {
  const tracer = new RecordingTracer();
  const calls = new OtelCallTracer(tracer, 'w1');
  const transactions = new TransactionSpans(tracer, { workerId: 'w1', staleMs: 32_000 });
  return { tracer, calls, transactions };
}

describe('TransactionSpans: sip.transaction at the worker\'s edge', () => {
  test('server: from the request in to its final response out, a child of the call span, linked to the transport\'s receive span', () => {
    const { tracer, calls, transactions } = setup();
    const call = calls.startCall('0000000a', 'a1@pbx.example', RECEIVED);
    transactions.received(inbound(INVITE), RECEIVED);
    transactions.received(inbound(INVITE), RECEIVED); // a retransmission: the same transaction
    const invite = parseMessage(Buffer.from(INVITE)) as SipRequest;
    assert.equal(transactions.sent(createResponse(invite, 100), call), call.traceparent, 'a provisional: the call\'s');
    const header = transactions.sent(createResponse(invite, 200, { toTag: 't1' }), call);
    const tx = tracer.spans.find((s) => s.name === 'sip.transaction');
    assert.ok(tx !== undefined && tx.ended);
    assert.equal(header, traceparentOf(tx), 'the final response carries its transaction\'s span');
    assert.equal(tx.options.kind, SpanKind.SERVER);
    assert.equal(tx.parent?.spanId, call.traceparent.split('-')[2]);
    assert.equal(tx.options.links?.[0]?.context.spanId, '00f067aa0ba902b7');
    assert.equal(tx.attributes['sip.status_code'], 200);
    assert.equal(tx.attributes['sip.method'], 'INVITE');
    // a retransmitted 200 (§13.3.1.4) opens nothing
    assert.equal(transactions.sent(createResponse(invite, 200, { toTag: 't1' }), call), call.traceparent);
    assert.equal(tracer.spans.filter((s) => s.name === 'sip.transaction').length, 1);
    assert.equal(transactions.size, 0);
    transactions.close();
  });

  test('server, outside any call (OPTIONS, 481): a child of the transport\'s receive span', () => {
    const { tracer, transactions } = setup();
    const options = INVITE.replace('INVITE sip', 'OPTIONS sip').replace('CSeq: 1 INVITE', 'CSeq: 1 OPTIONS');
    transactions.received(inbound(options), RECEIVED);
    transactions.sent(createResponse(parseMessage(Buffer.from(options)) as SipRequest, 200), undefined);
    const [tx] = tracer.spans;
    assert.equal(tx?.parent?.spanId, '00f067aa0ba902b7');
    assert.equal(tx?.options.links?.length, 0);
    transactions.close();
  });

  test('client: from the request out to its final response in; retransmissions and ACK open nothing', () => {
    const { tracer, calls, transactions } = setup();
    const call = calls.startCall('0000000a', 'a1@pbx.example', RECEIVED);
    const request = outboundInvite();
    const header = transactions.sent(request, call);
    assert.equal(transactions.sent(request, call), header, 'Timer A: the same span');
    const tx = tracer.spans.find((s) => s.name === 'sip.transaction');
    assert.equal(header, tx === undefined ? '' : traceparentOf(tx));
    assert.equal(tx?.options.kind, SpanKind.CLIENT);
    transactions.received(inbound(createResponse(request, 180, { toTag: 'c1' })), undefined);
    assert.equal(tx?.ended, false, 'a provisional ends nothing');
    transactions.received(inbound(createResponse(request, 503, { toTag: 'c1' })), undefined);
    assert.equal(tx?.ended, true);
    assert.equal(tx?.attributes['sip.status_code'], 503);
    assert.equal(tx?.status.code, SpanStatusCode.ERROR);
    const ack = parseMessage(Buffer.from(serializeMessage(request).toString().replace(/^INVITE /, 'ACK ').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK'))) as SipRequest;
    assert.equal(transactions.sent(ack, call), call.traceparent);
    assert.equal(transactions.size, 0);
    transactions.close();
  });

  test('a client transaction without a final response ends in error by 64*T1 (here: at close)', () => {
    const { tracer, calls, transactions } = setup();
    transactions.sent(outboundInvite(), calls.startCall('0000000a', 'a1@pbx.example', undefined));
    transactions.close();
    const tx = tracer.spans.find((s) => s.name === 'sip.transaction');
    assert.equal(tx?.ended, true);
    assert.equal(tx?.status.code, SpanStatusCode.ERROR);
  });
});

describe('OtelCallTracer: the call span follows the call\'s events', () => {
  const at = Date.now();
  test('answered: trunk, direction, disposition; ended by `ended` only once', () => {
    const { tracer, calls } = setup();
    const call = calls.startCall('0000000a', 'a1@pbx.example', RECEIVED);
    const [span] = tracer.spans;
    assert.equal(span?.parent?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'a child of the INVITE\'s receive span');
    assert.equal(call.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    call.note({ type: 'planned', trunk: 'acme', direction: 'termination', from: {}, to: {} });
    call.note({ type: 'attempt', leg: 'b1', at, carrier: 'carrierB' });
    call.note({ type: 'answered', leg: 'b1', at });
    call.note({ type: 'hangup', leg: 'a', at, cancel: false });
    call.note({ type: 'ended', at });
    call.note({ type: 'ended', at });
    call.end();
    assert.equal(span?.ended, true);
    assert.equal(span?.attributes['switchboard.trunk'], 'acme');
    assert.equal(span?.attributes['switchboard.call.direction'], 'termination');
    assert.equal(span?.attributes['switchboard.call.disposition'], 'answered');
    assert.deepEqual(span?.events, ['attempt', 'answered', 'hangup']);
  });

  test('cancelled, refused and failed calls', () => {
    const { tracer, calls } = setup();
    const cancelled = calls.startCall('0000000b', 'b@pbx', undefined);
    cancelled.note({ type: 'hangup', leg: 'a', at, cancel: true });
    cancelled.note({ type: 'final', at, status: 487, statusText: 'Request Terminated' });
    cancelled.note({ type: 'ended', at });
    const refused = calls.startCall('0000000c', 'c@pbx', undefined);
    refused.note({ type: 'refused', trunk: 'acme' });
    refused.note({ type: 'final', at, status: 403, statusText: 'Destination Blocked' });
    refused.note({ type: 'ended', at });
    const failed = calls.startCall('0000000d', 'd@pbx', undefined);
    failed.note({ type: 'failed', leg: 'b1', at, status: 503, statusText: 'Service Unavailable', cause: 'response' });
    failed.note({ type: 'final', at, status: 503, statusText: 'All Routes Failed' });
    failed.note({ type: 'ended', at });
    assert.deepEqual(tracer.spans.map((s) => s.attributes['switchboard.call.disposition']), ['cancelled', 'refused', 'failed']);
    assert.deepEqual(tracer.spans.map((s) => s.attributes['sip.status_code']), [487, 403, 503]);
    assert.equal(tracer.spans[2]?.status.code, SpanStatusCode.ERROR);
  });

  test('a transfer span is a child of its call span, in its trace', () => {
    const { tracer, calls } = setup();
    const call = calls.startCall('0000000a', 'a1@pbx.example', RECEIVED);
    const transfer = calls.startTransfer(call, { 'switchboard.transfer.kind': 'pstn' });
    transfer.end({ 'switchboard.transfer.outcome': 'answered' });
    const [callSpan, transferSpan] = tracer.spans;
    assert.equal(transferSpan?.parent?.spanId, callSpan?.spanContext().spanId);
    assert.equal(transfer.traceId, call.traceId);
    assert.equal(transferSpan?.attributes['switchboard.transfer.outcome'], 'answered');
    assert.equal(transferSpan?.name, 'transfer');
  });
});
