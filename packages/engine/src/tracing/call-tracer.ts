import type { CallEvent } from '@switchboard/cdr';

/** Span attributes as the engine writes them (no OTel types in the engine's pure parts). */
export type TraceAttributes = Readonly<Record<string, string | number | boolean>>;

/**
 * The span of one call or one transfer, as the actors see it. Tracing is an edge concern:
 * the actors only start it, tell it what they tell the CDR actor, and end it.
 */
export interface CallSpan {
  /** The trace id for log lines, when the trace is sampled. */
  readonly traceId: string | undefined;
  /** This span's W3C traceparent: what SIP sent within it carries to the transport node. */
  readonly traceparent: string;
  /** The call's events, as its records get them: trunk, direction, progress, disposition; `ended` ends the span. */
  note(event: CallEvent): void;
  /** Ends the span (once; later calls do nothing). */
  end(attributes?: TraceAttributes): void;
}

/** Starts the spans of calls and transfers. Absent from the engine context when tracing is off. */
export interface CallTracer {
  /**
   * A call's span, started when its CallActor starts: a child of the transport's `sip.receive`
   * span of the INVITE (`traceparent`, from the NATS header), or a new trace without one.
   */
  startCall(callId: string, sipCallId: string, traceparent: string | undefined): CallSpan;
  /** A transfer's span: a child of its call's, in the same trace. */
  startTransfer(call: CallSpan, attributes: TraceAttributes): CallSpan;
}
