import type { Msg } from '@nats-io/transport-node';
import { readRoutingFields, type RoutingFields } from '@switchboard/sip';
import { SpanKind, spanContextOf, contextOf, type Span, type Tracer } from '@switchboard/telemetry';
import { TRACEPARENT_HEADER, type OutboundSip, type TransportInfo } from '@switchboard/wire';

/**
 * One received message, forwarded: a new trace for each (the node is stateless, it cannot know a
 * dialog's call); the worker joins a new call's trace to its INVITE's, and in-dialog requests to their call's.
 */
export function receiveSpan(tracer: Tracer, nodeId: string, workerId: string, route: RoutingFields, t: TransportInfo): Span {
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
export function sendSpan(tracer: Tracer, nodeId: string, msg: Msg, out: OutboundSip): Span | undefined {
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
