// What the transport node tells its traces (issue 9), and the one full parse of a request at the edge.
import type { Msg } from '@nats-io/transport-node';
import { parseMessage, readRoutingFields, SipParseError, validateMessage, type RoutingFields, type SipRequest } from '@switchboard/sip';
import { TRACEPARENT_HEADER, type OutboundSip, type TransportInfo } from '@switchboard/wire';
import { SpanKind, spanContextOf, contextOf, type Span, type Tracer } from '@switchboard/telemetry';

/** Parses and validates a request; the fault to answer with, or the message. */
export function checkRequest(data: Buffer): { fault: SipParseError } | { request: SipRequest } {
  try {
    const msg = parseMessage(data);
    const fault = validateMessage(msg);
    return fault === undefined ? { request: msg as SipRequest } : { fault };
  } catch (err) {
    if (err instanceof SipParseError) return { fault: err };
    throw err;
  }
}

/**
 * One received message, forwarded: a new trace for each (the node is stateless, it cannot know a
 * dialog's call); the worker joins a new call's trace to its INVITE's, and in-dialog requests to their call's.
 */
export function receiveSpan(nodeId: string, tracer: Tracer, workerId: string, route: RoutingFields, t: TransportInfo): Span {
  return tracer.startSpan('sip.receive', {
    kind: SpanKind.CONSUMER,
    attributes: {
      'sip.method': route.method, ...(route.kind === 'response' ? { 'sip.status_code': route.status } : {}), 'sip.call_id': route.callId,
      'network.transport': t.protocol, 'network.peer.address': t.remoteAddress, 'network.peer.port': t.remotePort,
      'switchboard.transport': nodeId, 'switchboard.worker': workerId,
    },
  });
}

/** SIP a worker sent within a traced call (its `traceparent` header): a child span, ended once it is written. */
export function sendSpan(nodeId: string, tracer: Tracer, msg: Pick<Msg, 'headers'>, out: OutboundSip): Span | undefined {
  const parent = spanContextOf(msg.headers?.get(TRACEPARENT_HEADER));
  if (parent === undefined) return undefined;
  let route: RoutingFields | undefined;
  try {
    route = readRoutingFields(out.sip);
  } catch {
    route = undefined; // unreadable (never from our workers): the span still shows that it left
  }
  return tracer.startSpan('sip.send', {
    kind: SpanKind.PRODUCER,
    attributes: {
      ...(route === undefined ? {} : { 'sip.method': route.method, 'sip.call_id': route.callId, ...(route.kind === 'response' ? { 'sip.status_code': route.status } : {}) }),
      'network.transport': out.protocol, 'network.peer.address': out.address, 'network.peer.port': out.port,
      'switchboard.transport': nodeId, 'switchboard.worker': out.workerId,
    },
  }, contextOf(parent));
}
