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
  /** Call detail records, stored by the JetStream stream CDR_STREAM: one subject per trunk and call ('_' for no trunk). */
  cdrRecord: (trunk: string | undefined, callId: string): string => `sb.cdr.rec.${trunk ?? '_'}.${callId}`,
  /** Everything the CDR stream stores. */
  cdrRecords: 'sb.cdr.rec.>',
  /** The records of one trunk, or of one call on any trunk (a stream filter). */
  cdrRecordsOf: (filter: { trunk?: string; callId?: string }): string => `sb.cdr.rec.${filter.trunk ?? '*'}.${filter.callId ?? '*'}`,
  /** Request/reply (JSON): the CDR query, answered by one worker of the queue group CDR_QUERY_QUEUE. */
  cdrQuery: 'sb.cdr.query',
  /** Operator requests to one worker (service `switchboard-worker`): `calls.list`, `calls.show`, `calls.hangup`, `calls.transfer`, `drain`, `stats`. */
  adminWorker: (workerId: string, endpoint: string): string => `sb.admin.worker.${assertNodeId(workerId, 'worker id')}.${endpoint}`,
  /** Operator requests about the live configuration (service `switchboard-config`, any one worker answers): `get`, `set`. */
  adminConfig: (endpoint: 'get' | 'set'): string => `sb.admin.config.${endpoint}`,
  /** Every operator subject: what only the admin account may publish to. */
  admin: 'sb.admin.>',
  /** Request/reply: one transport node's counters. */
  transportStats: (nodeId: string): string => `sb.transport.${assertNodeId(nodeId, 'transport id')}.stats`,
  /** Request/reply: every transport node answers with its counters (gather replies until a timeout). */
  transportStatsAll: 'sb.transport.stats',
  /**
   * Workers → transport nodes: the networks the trunking configuration knows (trunk ACLs, carrier
   * sources), published on each configuration change and every EDGE_SOURCES_INTERVAL_MS, so a node
   * that starts later learns them without a request (it makes none) and without JetStream (it has none).
   */
  edgeSources: 'sb.edge.sources',
  /** Workers → transport nodes: an address whose request just passed digest authentication, known until a time. */
  edgeAuthenticated: 'sb.edge.authenticated',
} as const;

/** The JetStream stream holding call detail records. */
export const CDR_STREAM = 'SB_CDR';
/** The NATS services (`$SRV.*` discovery) workers run for operators. */
export const WORKER_SERVICE = 'switchboard-worker';
export const CONFIG_SERVICE = 'switchboard-config';
/** The JetStream KV bucket of the live trunking configuration, and its one key. */
export const CONFIG_BUCKET = 'sb-config';
/** The JetStream KV bucket of digest nonce counts already used (create-only keys `<nonce>.<nc>`): the cluster-wide replay check. */
export const NONCES_BUCKET = 'sb-nonces';
export const TRUNKING_KEY = 'trunking';
/** The queue group of the workers answering CDR queries. */
export const CDR_QUERY_QUEUE = 'cdr-query';

/** NATS message header carrying the W3C trace context (https://www.w3.org/TR/trace-context/). */
export const TRACEPARENT_HEADER = 'traceparent';
