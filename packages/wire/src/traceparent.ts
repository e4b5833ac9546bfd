// W3C Trace Context: version 00 traceparent values, carried in NATS message headers.

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: number;
}

function hex(chars: number): string {
  let s = '';
  while (s.length < chars) s += Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
  return s.slice(0, chars);
}

export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  const m = value === undefined ? null : TRACEPARENT.exec(value);
  if (m === null) return undefined;
  const [, traceId = '', spanId = '', flags = '00'] = m;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

export function formatTraceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.flags.toString(16).padStart(2, '0')}`;
}

/** A new root context (sampled), or a child span of `parent`. Not cryptographic: ids only need to be unique. */
export function newTraceparent(parent?: TraceContext): string {
  return formatTraceparent({ traceId: parent?.traceId ?? hex(32), spanId: hex(16), flags: parent?.flags ?? 1 });
}
