import { context, propagation, trace, type Tracer } from '@opentelemetry/api';

export interface TelemetryOptions {
  /** `service.name` of every span: `switchboard-transport`, `switchboard-worker`. */
  serviceName: string;
  serviceVersion?: string;
  /** This process's id in the cluster (transport node or worker id): `service.instance.id`. */
  nodeId: string;
  /** How long `shutdown()` may wait for the last export (default 1 s). */
  shutdownTimeoutMs?: number;
}

/** A process's tracing: recording and exporting spans, or the API's no-op tracer. */
export interface Telemetry {
  /** Spans are recorded and exported. When false, callers keep their cheap path and never touch `tracer`. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** Flushes what is left and stops; resolves within `shutdownTimeoutMs` even when no collector answers. */
  shutdown(): Promise<void>;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 1_000;

let active: Telemetry | undefined;

/**
 * Whether the standard OTel variables turn tracing on: an OTLP endpoint is set
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none` says otherwise. Off is the default.
 */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').split(',').some((e) => e.trim().toLowerCase() === 'none')) return false;
  return set('OTEL_EXPORTER_OTLP_ENDPOINT') || set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
}

/** The telemetry `startTelemetry` started in this process, while it runs (undefined when tracing is off). */
export function activeTelemetry(): Telemetry | undefined {
  return active;
}

/**
 * Starts tracing for this process when the environment asks for it (see `tracingConfigured`):
 * the OTel Node SDK with one OTLP/HTTP (JSON) trace exporter behind a BatchSpanProcessor
 * (`OTEL_BSP_*`), sampling by `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` (default
 * `parentbased_always_on`). No auto-instrumentation (nothing patches http, dns or net: the
 * SIP path stays as it is), no metrics or logs exporters. When off, the SDK is not even
 * loaded and the tracer is the API's no-op one.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if (!tracingConfigured()) return { enabled: false, tracer: trace.getTracer(options.serviceName), shutdown: async () => undefined };
  // loaded only when on: the SDK and its exporters cost ~100 ms and some MB at start-up
  const [{ NodeSDK, resources }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const sdk = new NodeSDK({
    resource: resources.resourceFromAttributes({
      'service.name': options.serviceName,
      'service.instance.id': options.nodeId,
      ...(options.serviceVersion === undefined ? {} : { 'service.version': options.serviceVersion }),
    }),
    // host and process attributes, and OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME (which win)
    resourceDetectors: [resources.hostDetector, resources.processDetector, resources.envDetector],
    // a BatchSpanProcessor from OTEL_BSP_*: spans are queued and exported off the message path
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  const telemetry: Telemetry = {
    enabled: true,
    tracer: trace.getTracer(options.serviceName, options.serviceVersion),
    shutdown: () => (stopped ??= (async () => {
      // the exporter's own timeout is 10 s (OTEL_EXPORTER_OTLP_TIMEOUT): a process stopping must not wait for it
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      await Promise.race([sdk.shutdown().catch(() => undefined), bound]);
      clearTimeout(timer);
      if (active === telemetry) active = undefined;
      // the globals go back to no-op, so a later start in this process (tests) registers afresh
      trace.disable();
      context.disable();
      propagation.disable();
    })()),
  };
  active = telemetry;
  return telemetry;
}
