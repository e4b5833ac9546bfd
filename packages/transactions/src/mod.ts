// @switchboard/transactions — RFC 3261 §17 transactions (RFC 6026 applied) and the §13.3.1.4 2xx retransmission: pure state machines, no I/O.
export {
  type Effect, type TimerName, type TimerEvent, isProvisional, isSuccess, isFailure,
  type SendEffect, type StartTimerEffect, type CancelTimerEffect, type PassUpEffect, type TimeoutEffect,
  type TransportErrorEffect, type AckTimeoutEffect, type TerminatedEffect,
} from './effects.js';
export {
  DEFAULT_TIMER_SETTINGS, timerSettings, type TimerSettings, type TransactionOptions,
} from './timers.js';
export {
  ClientInviteTransaction, type ClientInviteState, type ClientInviteEvent,
} from './client-invite-transaction.js';
export {
  ClientNonInviteTransaction, type ClientNonInviteState, type ClientNonInviteEvent,
} from './client-non-invite-transaction.js';
export {
  ServerInviteTransaction, type ServerInviteState, type ServerInviteEvent,
} from './server-invite-transaction.js';
export {
  ServerNonInviteTransaction, type ServerNonInviteState, type ServerNonInviteEvent,
} from './server-non-invite-transaction.js';
export {
  Uas2xxRetransmitter, type Uas2xxRetransmitterState, type Uas2xxRetransmitterEvent,
} from './uas-2xx-retransmitter.js';
export {
  clientTransactionKey, clientResponseKey, serverTransactionKey, serverAckKey, cancelTargetKey, hasMagicCookie,
  type TransactionKey,
} from './transaction-key.js';
export { type Transaction, type ClientTransactionEvent, type ServerTransactionEvent } from './transaction.js';
export { clientTransaction, serverTransaction, type ClientTransaction, type ServerTransaction } from './create-transaction.js';
export { afterlife, type Afterlife } from './absorbing.js';
