// @switchboard/admin — the operator API on NATS: requests, answers, and the client.
export { AdminErrors, type AdminError, type CallSummary, type CallDetail, type WorkerStats, type ConfigSnapshot } from './admin-protocol.js';
export { AdminRequests, parseAdminRequest, type AdminEndpoint, type AdminRequest } from './admin-requests.js';
export * from './client.js';
