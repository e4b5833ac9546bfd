// The client or the server transaction for a request, picked by its method (RFC 3261 §17.1, §17.2).
// Apart from transaction.ts so the machines, which implement its interface, import nothing back.
import type { SipRequest } from '@switchboard/sip';
import { ClientInviteTransaction } from './client-invite-transaction.js';
import { ClientNonInviteTransaction } from './client-non-invite-transaction.js';
import { ServerInviteTransaction } from './server-invite-transaction.js';
import { ServerNonInviteTransaction } from './server-non-invite-transaction.js';
import type { TransactionOptions } from './timers.js';

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
