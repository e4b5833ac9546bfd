// The one face of the four transaction machines (RFC 3261 §17), so a driver holds a client or a
// server transaction without knowing which class it is: events in, effects out, a state to read.
import type { SipRequest } from '@switchboard/sip';
import type {
  AckEvent, Effect, RequestEvent, RespondEvent, ResponseEvent, StartEvent, TimerEvent, TransportErrorEvent,
} from './effects.js';
import { ClientInviteTransaction } from './client-invite-transaction.js';
import { ClientNonInviteTransaction } from './client-non-invite-transaction.js';
import { ServerInviteTransaction } from './server-invite-transaction.js';
import { ServerNonInviteTransaction } from './server-non-invite-transaction.js';
import type { TransactionOptions } from './timers.js';

/** A transaction machine: `handle` takes every event its side (client or server) may receive. */
export interface Transaction<E, S extends string = string> {
  /** INVITE transactions differ in shape (§17.1.1 vs §17.1.2, §17.2.1 vs §17.2.2): tell them apart by this. */
  readonly kind: 'invite' | 'non-invite';
  readonly request: SipRequest;
  readonly state: S;
  handle(event: E): Effect[];
}

/** Every event a client transaction takes (§17.1): both kinds take the same. */
export type ClientTransactionEvent = StartEvent | ResponseEvent | TimerEvent | TransportErrorEvent;

/** Every event a server transaction takes (§17.2); a non-INVITE one ignores `ack` (an ACK matches only an INVITE's). */
export type ServerTransactionEvent = StartEvent | RequestEvent | AckEvent | RespondEvent | TimerEvent | TransportErrorEvent;

/** A client transaction of either kind; `kind` narrows it to its class. */
export type ClientTransaction = ClientInviteTransaction | ClientNonInviteTransaction;

/** A server transaction of either kind; `kind` narrows it to its class. */
export type ServerTransaction = ServerInviteTransaction | ServerNonInviteTransaction;

/** The client transaction that sends `request`: INVITE's (§17.1.1) or the non-INVITE one (§17.1.2). */
export function clientTransaction(request: SipRequest, options: TransactionOptions): ClientTransaction {
  return request.method === 'INVITE' ? new ClientInviteTransaction(request, options) : new ClientNonInviteTransaction(request, options);
}

/** The server transaction that serves `request`: INVITE's (§17.2.1) or the non-INVITE one (§17.2.2). */
export function serverTransaction(request: SipRequest, options: TransactionOptions): ServerTransaction {
  return request.method === 'INVITE' ? new ServerInviteTransaction(request, options) : new ServerNonInviteTransaction(request, options);
}
