import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { activeTelemetry, contextOf, spanContextOf, startTelemetry, traceparentOf, tracingConfigured } from './mod.js';

const OTEL_VARS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SDK_DISABLED', 'OTEL_TRACES_EXPORTER'];
for (const name of OTEL_VARS) delete process.env[name];
// the exporter retries a refused export until this deadline (10 s by default), which would keep the test process up
process.env.OTEL_EXPORTER_OTLP_TIMEOUT = '1000';

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('tracingConfigured: on only with an OTLP endpoint', () => {
  test('off by default', () => assert.equal(tracingConfigured({}), false));
  test('on with either endpoint variable', () => {
    assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }), true);
    assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://localhost:4318/v1/traces' }), true);
    assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), false);
  });
  test('OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none win', () => {
    assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_SDK_DISABLED: 'TRUE' }), false);
    assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_SDK_DISABLED: 'false' }), true);
    assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_TRACES_EXPORTER: 'none' }), false);
  });
});

describe('traceparent ↔ span context', () => {
  test('a traceparent becomes the remote parent, and a span gives its own back', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    assert.deepEqual(spanContextOf(tp), { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true });
    const span = trace.getSpan(contextOf(tp));
    assert.ok(span !== undefined);
    assert.equal(traceparentOf(span), tp);
  });
  test('absent or malformed: the root context', () => {
    assert.equal(contextOf(undefined), ROOT_CONTEXT);
    assert.equal(contextOf('00-xyz'), ROOT_CONTEXT);
    assert.equal(spanContextOf('00-00000000000000000000000000000000-b7ad6b7169203331-01'), undefined);
  });
});

describe('startTelemetry', () => {
  const sockets = new Set<net.Socket>();
  // accepts connections and never answers: a collector that hangs
  const silent = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
    for (const name of OTEL_VARS) delete process.env[name];
  });

  test('off by default: the no-op tracer, nothing started, shutdown resolves', async () => {
    const t = await startTelemetry({ serviceName: 'test', nodeId: 'n1' });
    assert.equal(t.enabled, false);
    assert.equal(activeTelemetry(), undefined);
    assert.equal(t.tracer.startSpan('x').isRecording(), false);
    await t.shutdown();
  });

  test('OTEL_SDK_DISABLED=true: off even with an endpoint', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:4318';
    process.env.OTEL_SDK_DISABLED = 'true';
    const t = await startTelemetry({ serviceName: 'test', nodeId: 'n1' });
    assert.equal(t.enabled, false);
    delete process.env.OTEL_SDK_DISABLED;
  });

  test('an endpoint nobody listens on: starts, records, and shuts down (bounded)', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${await closedPort()}`;
    const t = await startTelemetry({ serviceName: 'test', serviceVersion: '0.0.1', nodeId: 'n1', shutdownTimeoutMs: 500 });
    assert.equal(t.enabled, true);
    assert.equal(activeTelemetry(), t);
    const span = t.tracer.startSpan('unreachable');
    assert.equal(span.isRecording(), true);
    span.end();
    await t.shutdown();
    assert.equal(activeTelemetry(), undefined);
  });

  test('a collector that accepts and never answers: shutdown still resolves (bounded)', async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const t = await startTelemetry({ serviceName: 'test', nodeId: 'n1', shutdownTimeoutMs: 500 });
    assert.equal(t.enabled, true);
    for (let i = 0; i < 10; i++) t.tracer.startSpan(`hung-${i}`).end();
    await t.shutdown();
    await t.shutdown(); // a second stop (SIGINT after SIGTERM) is the same one
  });
});
