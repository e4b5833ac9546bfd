// @switchboard/admin/client — the client's part of the face (mod.ts): what asks the workers,
// without the requests' validation, whose zod took ~80 ms of each CLI run to load (issue 20).
export { AdminErrors, type AdminError, type CallSummary, type CallDetail, type WorkerStats, type ConfigSnapshot } from './admin-protocol.js';
export type { AdminEndpoint, AdminRequest } from './admin-requests.js';
export { AdminClient, AdminCallError, type AdminClientOptions } from './admin-client.js';
export { findLiveWorkers, directoryOf, DISCOVERY_WAIT_MS, type LiveWorkers, type WorkerIdentity } from './live-workers.js';
