
// RFC 3261 §17 transactions (RFC 6026 applied) and the §13.3.1.4 2xx retransmission: pure state machines.
export {
  type Effect as TransactionEffect, type TimerName as TransactionTimerName,
  type SendEffect, type StartTimerEffect, type CancelTimerEffect, type PassUpEffect, type TimeoutEffect,
  type TransportErrorEffect, type AckTimeoutEffect, type TerminatedEffect,
} from './transactions/effects.js';
export {
  DEFAULT_TIMER_SETTINGS, timerSettings, type TimerSettings, type TransactionOptions,
} from './transactions/timers.js';
export {
  ClientInviteTransaction, type ClientInviteState, type ClientInviteEvent,
} from './transactions/client-invite-transaction.js';
export {
  ClientNonInviteTransaction, type ClientNonInviteState, type ClientNonInviteEvent,
} from './transactions/client-non-invite-transaction.js';
export {
  ServerInviteTransaction, type ServerInviteState, type ServerInviteEvent,
} from './transactions/server-invite-transaction.js';
export {
  ServerNonInviteTransaction, type ServerNonInviteState, type ServerNonInviteEvent,
} from './transactions/server-non-invite-transaction.js';
export {
  Uas2xxRetransmitter, type Uas2xxRetransmitterState, type Uas2xxRetransmitterEvent,
} from './transactions/uas-2xx-retransmitter.js';
export {
  clientTransactionKey, clientResponseKey, serverTransactionKey, serverAckKey, cancelTargetKey, hasMagicCookie,
  type TransactionKey,
} from './transactions/transaction-key.js';

// The worker: actors, engine, process.
export type { ActorKernel, ActorBehaviour, ActorRef } from './kernel/actor-kernel.js';
export { NactKernel } from './kernel/nact-kernel.js';
export { Engine } from './engine.js';
export { Counters, type EngineContext, type SessionTimerSettings } from './engine-context.js';
export * from './limits/mod.js';
export type { Destination, SipLink } from './sip-link.js';
export { CallActor } from './call/call-actor.js';
export { LegActor, type LegMessage } from './call/leg-actor.js';
export type { CallMessage, LegName } from './call/call-messages.js';
export { WorkerNode, ENGINE_VERSION } from './worker/worker-node.js';
export { loadWorkerConfig, WorkerConfigSchema, WORKER_ENV, type WorkerConfig } from './worker/worker-config.js';
