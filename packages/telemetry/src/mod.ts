// @switchboard/telemetry — OpenTelemetry traces of the transport and worker processes: the SDK
// started from the standard OTEL_* variables (off unless an OTLP endpoint is set), and the W3C
// traceparent carried by hand in NATS headers. The rest of the code imports OTel from here only.
export { startTelemetry, activeTelemetry, tracingConfigured, type Telemetry, type TelemetryOptions } from './telemetry.js';
export { spanContextOf, spanContextIn, contextOf, contextWith, traceparentOf, sampledTraceId } from './trace-context.js';
export {
  SpanKind, SpanStatusCode,
  type Attributes, type AttributeValue, type Context, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type TimeInput, type Tracer,
} from '@opentelemetry/api';
