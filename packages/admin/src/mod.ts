// @switchboard/admin — the operator API on NATS: requests, answers, and the client.
export {
  AdminRequests, AdminErrors, parseAdminRequest,
  type AdminEndpoint, type AdminRequest, type AdminError, type CallSummary, type CallDetail, type WorkerStats, type ConfigSnapshot,
} from './admin-protocol.js';
export { AdminClient, AdminCallError, type AdminClientOptions } from './admin-client.js';
export { findLiveWorkers, directoryOf, DISCOVERY_WAIT_MS, type LiveWorkers, type WorkerIdentity } from './live-workers.js';
