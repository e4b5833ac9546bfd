import { dispositionOf, type CallEvent, type SetupOutcome } from '@switchboard/cdr';
import {
  contextOf, contextWith, sampledTraceId, SpanKind, SpanStatusCode, traceparentOf, type Span, type Tracer,
} from '@switchboard/telemetry';
import type { CallSpan, CallTracer, TraceAttributes } from './call-tracer.js';

/**
 * Call and transfer spans on OpenTelemetry. `call` (attributes `switchboard.call.id`,
 * `sip.call_id`, `switchboard.worker`, then `switchboard.trunk`, `switchboard.call.direction`,
 * and at the end `switchboard.call.disposition` and `sip.status_code`) with events for attempts,
 * ringing, answers, hang-ups and transfers; `transfer`, its child, with the transfer's id, kind,
 * target and outcome.
 */
export class OtelCallTracer implements CallTracer {
  constructor(
    private readonly tracer: Tracer,
    private readonly workerId: string,
  ) {}

  startCall(callId: string, sipCallId: string, traceparent: string | undefined): CallSpan {
    const attributes = { 'switchboard.call.id': callId, 'sip.call_id': sipCallId, 'switchboard.worker': this.workerId };
    return new OtelCallSpan(this.tracer.startSpan('call', { kind: SpanKind.INTERNAL, attributes }, contextOf(traceparent)), 'call');
  }

  startTransfer(call: CallSpan, attributes: TraceAttributes): CallSpan {
    const parent = call instanceof OtelCallSpan ? contextWith(call.span) : contextOf(call.traceparent);
    const span = this.tracer.startSpan('transfer', { kind: SpanKind.INTERNAL, attributes: { ...attributes, 'switchboard.worker': this.workerId } }, parent);
    return new OtelCallSpan(span, 'transfer');
  }
}

export class OtelCallSpan implements CallSpan {
  readonly traceparent: string;
  readonly traceId: string | undefined;
  /** What decides the call's disposition, the same way its record's is decided (`dispositionOf`). */
  private readonly outcome: SetupOutcome = { answered: false, refused: false, cancelled: false, status: undefined };
  private ended = false;

  constructor(
    readonly span: Span,
    private readonly kind: 'call' | 'transfer',
  ) {
    this.traceparent = traceparentOf(span);
    this.traceId = sampledTraceId(span);
  }

  note(e: CallEvent): void {
    if (this.ended) return;
    const o = this.outcome;
    const span = this.span;
    switch (e.type) {
      case 'planned':
        span.setAttributes({ 'switchboard.trunk': e.trunk, 'switchboard.call.direction': e.direction });
        return;
      case 'refused':
        o.refused = true;
        if (e.trunk !== undefined) span.setAttribute('switchboard.trunk', e.trunk);
        return;
      case 'unrecorded': // a challenge or a stranger: refused, and not recorded
        o.refused = true;
        return;
      case 'attempt':
        span.addEvent('attempt', { leg: e.leg, ...(e.carrier === undefined ? {} : { carrier: e.carrier }), ...(e.sipCallId === undefined ? {} : { 'sip.call_id': e.sipCallId }) }, e.at);
        return;
      case 'ringing':
        span.addEvent('ringing', { leg: e.leg }, e.at);
        return;
      case 'answered':
        if (e.leg !== 'a') o.answered = true;
        span.addEvent('answered', { leg: e.leg }, e.at);
        return;
      case 'failed':
        if (!o.answered) o.cause = e.cause;
        span.addEvent('leg-failed', { leg: e.leg, 'sip.status_code': e.status, cause: e.cause }, e.at);
        return;
      case 'hangup':
        if (e.cancel && !o.answered) o.cancelled = true;
        span.addEvent(e.cancel ? 'cancel' : 'hangup', { leg: e.leg }, e.at);
        return;
      case 'final':
        o.status = e.status;
        return;
      case 'transfer':
        span.addEvent('transfer', { index: e.index, kind: e.kind, billable: e.billable }, e.at);
        return;
      case 'transfer-failed':
        span.addEvent('transfer-failed', { index: e.index, 'sip.status_code': e.status, aborted: e.aborted }, e.at);
        return;
      case 'ended':
        this.end();
        return;
      default:
    }
  }

  end(attributes?: TraceAttributes): void {
    if (this.ended) return;
    this.ended = true;
    if (this.kind === 'call') {
      const disposition = dispositionOf(this.outcome);
      this.span.setAttribute('switchboard.call.disposition', disposition);
      if (this.outcome.status !== undefined) this.span.setAttribute('sip.status_code', this.outcome.status);
      if (disposition === 'failed') this.span.setStatus({ code: SpanStatusCode.ERROR, message: `call failed${this.outcome.status === undefined ? '' : `: ${this.outcome.status}`}` });
    }
    if (attributes !== undefined) this.span.setAttributes(attributes);
    this.span.end();
  }
}
