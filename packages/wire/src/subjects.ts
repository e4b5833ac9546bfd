// Every NATS subject Switchboard uses is named here and nowhere else.

const ID = /^[A-Za-z0-9]{1,32}$/;

/** Ids become subject tokens: no dots, wildcards or spaces, so a bad id cannot widen a subscription. */
export function assertNodeId(id: string, what = 'id'): string {
  if (!ID.test(id)) throw new Error(`${what} must be 1-32 letters or digits: ${JSON.stringify(id)}`);
  return id;
}

export const Subjects = {
  /** SIP for one worker: the new requests it was chosen for and everything that echoes its ids. */
  workerInbound: (workerId: string): string => `sb.sip.worker.${assertNodeId(workerId, 'worker id')}`,
  /** SIP a worker wants sent, for the transport node that holds the peer's address or connection. */
  transportOutbound: (nodeId: string): string => `sb.sip.transport.${assertNodeId(nodeId, 'transport id')}`,
  /** A transport node's report that it could not send what a worker published (RFC 3261 §17.1.4). */
  sendFailure: (workerId: string): string => `sb.sip.sendfail.${assertNodeId(workerId, 'worker id')}`,
  /** Workers announce themselves here every HEARTBEAT_INTERVAL_MS. */
  workerHeartbeat: 'sb.workers.heartbeat',
  /** Request/reply: one worker's figures (calls, actors, heap). */
  workerStats: (workerId: string): string => `sb.worker.${assertNodeId(workerId, 'worker id')}.stats`,
  /** Request/reply: attended transfer (RFC 3891) asks the worker owning the replaced dialog to hand over its far party. */
  workerJoin: (workerId: string): string => `sb.worker.${assertNodeId(workerId, 'worker id')}.join`,
  /** Messages between the two halves of a call joined across workers (the master call and the relay). */
  workerBridge: (workerId: string): string => `sb.worker.${assertNodeId(workerId, 'worker id')}.bridge`,
  /** Request/reply: one transport node's counters. */
  transportStats: (nodeId: string): string => `sb.transport.${assertNodeId(nodeId, 'transport id')}.stats`,
  /** Request/reply: every transport node answers with its counters (gather replies until a timeout). */
  transportStatsAll: 'sb.transport.stats',
} as const;

/** NATS message header carrying the W3C trace context (https://www.w3.org/TR/trace-context/). */
export const TRACEPARENT_HEADER = 'traceparent';
