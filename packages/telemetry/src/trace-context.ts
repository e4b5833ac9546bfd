// W3C trace context by hand between OTel spans and the `traceparent` NATS header: NATS has
// no OTel instrumentation, and the header is all that crosses a process boundary.
import { ROOT_CONTEXT, trace, type Context, type Span, type SpanContext } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent } from '@switchboard/wire';

/** The remote span context a `traceparent` value names, or undefined when it is absent or malformed. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const t = parseTraceparent(traceparent);
  return t === undefined ? undefined : { traceId: t.traceId, spanId: t.spanId, traceFlags: t.flags, isRemote: true };
}

/** A context whose parent is the span a `traceparent` value (or a span context) names; the root context when there is none. */
export function contextOf(parent: string | SpanContext | undefined): Context {
  const sc = typeof parent === 'string' ? spanContextOf(parent) : parent;
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc);
}

/** The span context `context` carries (the parent of spans started in it). */
export function spanContextIn(context: Context): SpanContext | undefined {
  return trace.getSpanContext(context);
}

/** The context whose parent is `span`: to start its children. */
export function contextWith(span: Span): Context {
  return trace.setSpan(ROOT_CONTEXT, span);
}

/** `span`'s W3C traceparent: what a message sent within it carries in its header. */
export function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return formatTraceparent({ traceId: c.traceId, spanId: c.spanId, flags: c.traceFlags });
}

/** The trace id to write on log lines, when the span's trace is sampled (an unsampled id finds nothing in Jaeger). */
export function sampledTraceId(span: Span): string | undefined {
  const c = span.spanContext();
  return (c.traceFlags & 1) === 1 ? c.traceId : undefined;
}
