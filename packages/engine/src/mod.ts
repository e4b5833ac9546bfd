// The worker: actors, engine, process.
export type { ActorKernel, ActorBehaviour, ActorRef } from './kernel/actor-kernel.js';
export { NactKernel } from './kernel/nact-kernel.js';
export { InboundRouter } from './router.js';
export type { EngineContext, SessionTimerSettings } from './context.js';
export { Counters } from './metrics/counters.js';
export type { Destination, SipLink } from './protocol/sip-link.js';
export { CallActor } from './call/call-actor.js';
export { LegActor } from './dialog/leg-actor.js';
export type { CallMessage, LegEvent, LegName, RequestToken, TransferEvent } from './protocol/call-messages.js';
export type { LegMessage } from './protocol/leg-messages.js';
export { WorkerNode, ENGINE_VERSION } from './worker/worker-node.js';
export { loadWorkerConfig, WorkerConfigSchema, WORKER_ENV, type WorkerConfig } from './worker/worker-config.js';
export { connectWorker, loadWorkerFiles, type WorkerFiles } from './worker/worker-process.js';
export { WorkerDrain, drainRoute } from './worker/worker-drain.js';
