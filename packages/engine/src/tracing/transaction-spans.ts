import { SipResponse, type SipMessage } from '@switchboard/sip';
import {
  contextOf, contextWith, spanContextOf, SpanKind, SpanStatusCode, traceparentOf, type Context, type Link, type Span, type SpanContext, type Tracer,
} from '@switchboard/telemetry';
import type { InboundSip } from '@switchboard/wire';
import type { CallSpan } from './call-tracer.js';
import { OtelCallSpan } from './otel-call-tracer.js';

interface ServerEntry {
  at: number;
  /** The transport's `sip.receive` span of the request. */
  received: SpanContext | undefined;
  protocol: string;
}

interface ClientEntry {
  at: number;
  span: Span;
  traceparent: string;
}

export interface TransactionSpansOptions {
  workerId: string;
  /** After this long without a final response a transaction is over anyway (64*T1, RFC 3261 §17). */
  staleMs: number;
}

/**
 * `sip.transaction` spans, seen from the worker's edge — what it receives from and publishes to
 * the transport — so the transaction machines stay pure and untraced. A server transaction
 * spans from its request's arrival to its final response; a client transaction from its
 * request's first sending to its final response (or 64*T1). Both are children of the call's
 * (or transfer's) span when the call is traced; a server transaction also links to the
 * transport's `sip.receive` span of its request, which for an in-dialog request is a trace of
 * its own (the stateless transport cannot know the call). Keys are Call-ID, top Via branch
 * and CSeq method (RFC 3261 §17.1.3, §17.2.3); ACK is no transaction of its own.
 */
export class TransactionSpans {
  private readonly servers = new Map<string, ServerEntry>();
  private readonly clients = new Map<string, ClientEntry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly tracer: Tracer,
    private readonly options: TransactionSpansOptions,
  ) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), Math.max(1_000, options.staleMs / 4));
    this.sweeper.unref();
  }

  /** An inbound message: a request opens a server transaction, a final response closes a client one. */
  received(env: InboundSip, traceparent: string | undefined): void {
    const r = env.route;
    if (r.kind === 'request') {
      if (r.method === 'ACK') return;
      const key = `${r.callId}|${r.branch}|${r.method}`;
      // a retransmission belongs to the transaction already open
      if (!this.servers.has(key)) this.servers.set(key, { at: Date.now(), received: spanContextOf(traceparent), protocol: env.transport.protocol });
      return;
    }
    if (r.status < 200) return;
    const key = `${r.callId}|${r.branch}|${r.cseqMethod}`;
    const c = this.clients.get(key);
    if (c === undefined) return;
    this.clients.delete(key);
    c.span.setAttribute('sip.status_code', r.status);
    if (r.status >= 500) c.span.setStatus({ code: SpanStatusCode.ERROR, message: String(r.status) });
    c.span.end();
  }

  /**
   * An outbound message, sent within `call`'s trace (undefined outside a traced call): the
   * traceparent its NATS header carries to the transport — its transaction's span, else the call's.
   */
  sent(message: SipMessage, call: CallSpan | undefined): string | undefined {
    const h = message.headers;
    if (message instanceof SipResponse) {
      if (message.status < 200) return call?.traceparent;
      const key = `${h.callId}|${h.topVia?.branch}|${h.cseq?.method}`;
      const s = this.servers.get(key);
      if (s === undefined) return call?.traceparent; // a retransmitted final response, or a 2xx retransmission (§13.3.1.4)
      this.servers.delete(key);
      const links: Link[] = call !== undefined && s.received !== undefined ? [{ context: s.received }] : [];
      const span = this.tracer.startSpan('sip.transaction', {
        kind: SpanKind.SERVER, startTime: s.at, links,
        attributes: { 'sip.method': h.cseq?.method ?? '', 'sip.call_id': h.callId ?? '', 'sip.status_code': message.status, 'network.transport': s.protocol, 'switchboard.worker': this.options.workerId },
      }, call === undefined ? contextOf(s.received) : this.parentOf(call));
      if (message.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: String(message.status) });
      span.end();
      return traceparentOf(span);
    }
    if (message.method === 'ACK') return call?.traceparent;
    const key = `${h.callId}|${h.topVia?.branch}|${message.method}`;
    const open = this.clients.get(key);
    if (open !== undefined) return open.traceparent; // a retransmission (Timer A/E)
    if (call === undefined) return undefined;
    const span = this.tracer.startSpan('sip.transaction', {
      kind: SpanKind.CLIENT,
      attributes: { 'sip.method': message.method, 'sip.call_id': h.callId ?? '', 'switchboard.worker': this.options.workerId },
    }, this.parentOf(call));
    const traceparent = traceparentOf(span);
    this.clients.set(key, { at: Date.now(), span, traceparent });
    return traceparent;
  }

  /** Open transactions (for tests). */
  get size(): number {
    return this.servers.size + this.clients.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweep(Infinity);
  }

  private parentOf(call: CallSpan): Context {
    return call instanceof OtelCallSpan ? contextWith(call.span) : contextOf(call.traceparent);
  }

  /** Transactions past 64*T1: a client one timed out (Timer B/F), a server one was never answered by us. */
  private sweep(now: number): void {
    const before = now - this.options.staleMs;
    for (const [key, s] of this.servers) if (s.at <= before) this.servers.delete(key);
    for (const [key, c] of this.clients) {
      if (c.at > before) continue;
      this.clients.delete(key);
      c.span.setStatus({ code: SpanStatusCode.ERROR, message: 'no final response' });
      c.span.end();
    }
  }
}
