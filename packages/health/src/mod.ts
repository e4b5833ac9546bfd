// @switchboard/health — the HTTP listener an orchestrator probes on every long-running process:
// /livez (the event loop takes its turns) apart from /readyz (NATS connected, configuration
// loaded, not draining), plus a process's own loopback-only actions (the worker's POST /drain).
export { HealthServer, serveHealth, isLoopback, type HealthAnswer, type HealthRoute, type HealthServerOptions, type ReadinessCheck } from './health-server.js';
export { EventLoopWatch, DEFAULT_BLOCKED_MS, type EventLoopWatchOptions } from './event-loop-watch.js';
export { ConnectionWatch, type ConnectionStatusSource } from './connection-watch.js';
export { healthListenFromEnv, DEFAULT_HEALTH_HOST, type HealthListen, type HealthListenResult } from './health-listen.js';
