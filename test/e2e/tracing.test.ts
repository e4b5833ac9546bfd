// Traces end to end: an in-process OTLP/HTTP receiver (JSON, as @opentelemetry/exporter-trace-otlp-http
// sends it) stands in for Jaeger's collector; a real nats-server, transport and worker export to it;
// testkit UAs play the PBX and the carrier. One call must make one trace holding spans of both
// processes, joined by the `traceparent` NATS header.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { isFinalNotify, startNatsServer, UserAgent, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { oneCarrierTrunking, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';

type Value = string | number | boolean;

/** One exported span, flattened from OTLP JSON. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, Value>;
  links: { traceId: string; spanId: string }[];
  events: { name: string; attributes: Record<string, Value> }[];
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: OtlpKeyValue[];
  links?: { traceId: string; spanId: string }[];
  events?: { name: string; attributes?: OtlpKeyValue[] }[];
}
interface OtlpTraces {
  resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

function valueOf(v: OtlpAnyValue): Value {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue ?? '';
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, Value> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

/** A stand-in collector: POST /v1/traces with OTLP JSON bodies, every span kept. */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver(createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        try {
          const raw = Buffer.concat(chunks);
          const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
          assert.match(req.headers['content-type'] ?? '', /application\/json/, 'OTLP/HTTP with JSON bodies');
          receiver.take(JSON.parse(body.toString()) as OtlpTraces);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch (err) {
          res.writeHead(400).end(String(err));
        }
      });
    }));
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private take(body: OtlpTraces): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name,
            attributes: attributesOf(s.attributes), links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
          });
        }
      }
    }
  }

  /** Waits until `find` returns something from the spans received so far. */
  async waitFor<T>(find: (spans: ReceivedSpan[]) => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find(this.spans);
      if (found !== undefined) return found;
      if (Date.now() > deadline) assert.fail(`no ${what} among ${this.spans.length} spans received: ${this.spans.map((s) => `${s.service}/${s.name}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const TRANSPORT = 'switchboard-transport';
const WORKER = 'switchboard-worker';

describe('tracing: one trace per call across the transport and the worker (OTLP/HTTP)', () => {
  let receiver: OtlpReceiver;
  let nats: NatsServerHandle;
  let t1: RunningTransport;
  let worker: ManagedProcess;
  let pbx: UserAgent;
  let carrier: UserAgent;
  let edge: { host: string; port: number };

  before(async () => {
    receiver = await OtlpReceiver.start();
    nats = await startNatsServer();
    pbx = await UserAgent.start({ name: 'pbx', host: '127.0.0.1', user: '+12125550100' });
    carrier = await UserAgent.start({ name: 'carrier', host: '127.0.0.1', user: '+13105550100' });
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    };
    t1 = await startTransport('t1', nats.url, { env });
    const file = writeCluster(nats.url, oneCarrierTrunking(carrier.port), { limitsBucket: 'tracing-e2e' });
    // debug: the call's own log lines (call-started), which must name the trace
    worker = await startWorker('w1', file, nats.url, { ...env, SWITCHBOARD_LOG_LEVEL: 'debug' });
    await workersKnown(t1, ['w1']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
  });

  after(async () => {
    await worker?.stop('SIGINT');
    await t1?.proc.stop();
    for (const ua of [pbx, carrier]) await ua?.stop();
    await nats?.stop();
    await receiver?.stop();
  });

  test('a call placed and hung up: one trace with the transport\'s sip.receive, the worker\'s call span under it, and both services', async () => {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:4155551234@trunk.example', via: edge });
    const far = await carrier.nextCall();
    await call.established;
    await call.hangup();
    assert.equal((await far.ended).how, 'bye');

    // the worker's call span: ended (exported) once the call is over
    const callSpan = await receiver.waitFor(
      (spans) => spans.find((s) => s.service === WORKER && s.name === 'call' && s.attributes['sip.call_id'] === call.callId),
      `call span for ${call.callId}`,
    );
    assert.equal(callSpan.attributes['switchboard.trunk'], 'acme');
    assert.equal(callSpan.attributes['switchboard.call.direction'], 'termination');
    assert.equal(callSpan.attributes['switchboard.call.disposition'], 'answered');
    assert.equal(callSpan.attributes['switchboard.worker'], 'w1');
    // the attempt to the carrier is an event of the call span, as the call's record has it
    assert.deepEqual(callSpan.events.filter((e) => e.name === 'attempt').map((e) => e.attributes), [{ leg: 'b1', carrier: 'carrier', 'sip.call_id': far.callId }]);
    const trace = callSpan.traceId;

    // its parent: the transport's receive span of the PBX's INVITE, carried over NATS in `traceparent`
    const receive = await receiver.waitFor(
      (spans) => spans.find((s) => s.spanId === callSpan.parentSpanId),
      'the parent of the call span',
    );
    assert.equal(receive.service, TRANSPORT);
    assert.equal(receive.name, 'sip.receive');
    assert.equal(receive.traceId, trace);
    assert.equal(receive.attributes['sip.method'], 'INVITE');
    assert.equal(receive.attributes['sip.call_id'], call.callId);
    assert.equal(receive.attributes['network.transport'], 'udp');
    assert.equal(receive.attributes['switchboard.worker'], 'w1');

    // the INVITE to the carrier leaves in the same trace: the worker's client transaction, then the transport's sip.send
    const toCarrier = await receiver.waitFor(
      (spans) => spans.find((s) => s.traceId === trace && s.service === TRANSPORT && s.name === 'sip.send' && s.attributes['sip.method'] === 'INVITE' && s.attributes['sip.status_code'] === undefined),
      'the transport\'s sip.send of the INVITE to the carrier',
    );
    assert.equal(toCarrier.attributes['sip.call_id'], far.callId);
    const clientTx = receiver.spans.find((s) => s.spanId === toCarrier.parentSpanId);
    assert.equal(clientTx?.name, 'sip.transaction');
    assert.equal(clientTx?.service, WORKER);
    assert.equal(clientTx?.parentSpanId, callSpan.spanId);
    assert.equal(clientTx?.attributes['sip.status_code'], 200);

    const services = new Set(receiver.spans.filter((s) => s.traceId === trace).map((s) => s.service));
    assert.deepEqual([...services].sort(), [TRANSPORT, WORKER]);

    // the PBX's BYE came in as a trace of its own at the transport; the worker's handling is in the call's trace, linked to it
    const bye = await receiver.waitFor(
      (spans) => spans.find((s) => s.traceId === trace && s.name === 'sip.transaction' && s.attributes['sip.method'] === 'BYE' && s.attributes['sip.call_id'] === call.callId),
      'the BYE\'s server transaction in the call\'s trace',
    );
    assert.equal(bye.parentSpanId, callSpan.spanId);
    const byeReceive = receiver.spans.find((s) => s.spanId === bye.links[0]?.spanId);
    assert.equal(byeReceive?.name, 'sip.receive');
    assert.equal(byeReceive?.service, TRANSPORT);
    assert.notEqual(byeReceive?.traceId, trace, 'the stateless transport starts a new trace for an in-dialog request');

    // pino: the worker's call lines name the trace
    const started = await worker.waitFor((l) => l.json?.event === 'call-started' && l.json.callId === call.callId);
    assert.equal(started.json?.traceId, trace);
  });

  test('a blind transfer: the transfer span is a child of the call span, and its new leg\'s INVITE leaves in the same trace', async () => {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:4155551235@trunk.example', via: edge });
    const far = await carrier.nextCall();
    await call.established;
    carrier.onNextInvite({ ring: 0 });
    assert.equal((await call.refer('sip:4155552000@trunk.example')).status, 202);
    const target = await carrier.nextCall();
    await call.waitForNotify(isFinalNotify);
    await call.hangup();
    await far.waitForRequest('INVITE'); // re-pointed at the new party
    await far.hangup();
    await target.ended;

    const callSpan = await receiver.waitFor(
      (spans) => spans.find((s) => s.service === WORKER && s.name === 'call' && s.attributes['sip.call_id'] === call.callId),
      `call span for ${call.callId}`,
    );
    const transfer = await receiver.waitFor(
      (spans) => spans.find((s) => s.name === 'transfer' && s.parentSpanId === callSpan.spanId),
      'a transfer span under the call span',
    );
    assert.equal(transfer.traceId, callSpan.traceId);
    assert.equal(transfer.attributes['switchboard.transfer.kind'], 'pstn');
    assert.equal(transfer.attributes['switchboard.transfer.outcome'], 'answered');
    // the new leg's attempt is the transfer span's event, not the call span's
    assert.deepEqual(transfer.events.filter((e) => e.name === 'attempt').map((e) => e.attributes), [{ leg: 'c1.1', carrier: 'carrier', 'sip.call_id': target.callId }]);
    assert.deepEqual(callSpan.events.filter((e) => e.name === 'attempt').map((e) => e.attributes.leg), ['b1']);
    const newLeg = await receiver.waitFor(
      (spans) => spans.find((s) => s.name === 'sip.transaction' && s.attributes['sip.method'] === 'INVITE' && s.attributes['sip.call_id'] === target.callId),
      'the new leg\'s INVITE transaction',
    );
    assert.equal(newLeg.traceId, callSpan.traceId, 'one trace per call, the transfer\'s new leg included');
    assert.equal(newLeg.parentSpanId, transfer.spanId);
    await receiver.waitFor(
      (spans) => spans.find((s) => s.service === TRANSPORT && s.name === 'sip.send' && s.parentSpanId === newLeg.spanId),
      'the transport\'s sip.send of the new leg\'s INVITE',
    );
  });
});
