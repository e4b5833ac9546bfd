// @switchboard/wire — the contract between transport nodes, workers and tools.
export {
  Subjects, TRACEPARENT_HEADER, CDR_STREAM, CDR_QUERY_QUEUE, WORKER_SERVICE, CONFIG_SERVICE, CONFIG_BUCKET, NONCES_BUCKET, TRUNKING_KEY, assertNodeId,
} from './subjects.js';
export {
  ENVELOPE_VERSION, EnvelopeError, encodeEnvelope, decodeInbound, decodeOutbound, decodeSendFailure, decodeHeartbeat,
  encodeMap, decodeMap,
  type InboundSip, type OutboundSip, type TlsFiles, type SendFailure, type Heartbeat, type TransportInfo, type ListenerAddress, type Protocol, type WorkerState,
  type EnvelopeErrorCode,
} from './envelopes.js';
export {
  encodeJoinRequest, decodeJoinRequest, encodeJoinReply, decodeJoinReply, encodeBridged, decodeBridged,
  type JoinRequest, type JoinReply, type CallAddress, type Bridged, type BridgedMessage, type RelayedEvent, type RelayedCommand, type FailureCause, type RequestToken,
} from './bridge.js';
export { RoutingIds, newRoutingScope, newCallId, CALL_ID_PATTERN, scopeOf, slotOfScope, SLOT_COUNT } from './routing-ids.js';
export { SlotTable, type SlotOwner } from './slot-table.js';
export { RendezvousSet } from './rendezvous.js';
export { WorkerDirectory, type WorkerStatus } from './worker-directory.js';
export { HEARTBEAT_INTERVAL_MS, HEARTBEATS_MISSED_TO_DROP } from './heartbeat.js';
export { newTraceparent, parseTraceparent, formatTraceparent, type TraceContext } from './traceparent.js';
export { BatchedPublisher, type PublishFn } from './batched-publisher.js';
export { natsInboxPrefix, type NatsRole } from './nats-roles.js';
export {
  EDGE_SOURCES_INTERVAL_MS, encodeEdgeSources, decodeEdgeSources, encodeAuthenticatedSource, decodeAuthenticatedSource,
  type EdgeSources, type AuthenticatedSource,
} from './edge-sources.js';
export { LocalBus, type LocalMessage } from './local-bus.js';
