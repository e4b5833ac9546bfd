// A transaction whose work is done still answers retransmissions for a while (RFC 3261 §17 and
// RFC 6026: Completed, Confirmed, Accepted), until the timer that ends that state. A transaction
// user that is finished itself (a dialog that ended) can leave what the transaction still owes
// those retransmissions — its `Afterlife` — to something longer-lived, and go at once.
import type { SipMessage } from '@switchboard/sip';
import { ClientInviteTransaction } from './client-invite-transaction.js';
import { ClientNonInviteTransaction } from './client-non-invite-transaction.js';
import type { ClientTransaction, ServerTransaction } from './create-transaction.js';
import { ServerInviteTransaction } from './server-invite-transaction.js';
import { ServerNonInviteTransaction } from './server-non-invite-transaction.js';
import { timerD, timerJ, timerT4, transactionTimeout } from './timers.js';

/** What a transaction that only absorbs retransmissions still does, and for how long. */
export interface Afterlife {
  /** At most this long from now (the whole of the timer that ends its state); 0: it is over. */
  readonly ms: number;
  /**
   * Sent again for each retransmission: a server's last final response (to a retransmitted
   * request, not an ACK), a client INVITE's ACK (to a retransmitted non-2xx). None: absorbed.
   */
  readonly again: SipMessage | undefined;
  /** A client INVITE's after a 2xx (Accepted): a 2xx again is its transaction user's to ACK (§13.2.2.4). */
  readonly passesUp2xx: boolean;
}

const OVER: Afterlife = { ms: 0, again: undefined, passesUp2xx: false };
const absorb = (ms: number, again?: SipMessage, passesUp2xx = false): Afterlife => ({ ms, again, passesUp2xx });

/** `tx`'s afterlife, when all it does now is absorb retransmissions; undefined while it has work of its own (the TU's answer, a retransmission of its own until an ACK). */
export function afterlife(tx: ClientTransaction | ServerTransaction): Afterlife | undefined {
  if (tx.state === 'Terminated') return OVER;
  const { timers, reliable } = tx;
  if (tx instanceof ServerInviteTransaction) {
    if (tx.state === 'Accepted') return absorb(transactionTimeout(timers)); // Timer L (RFC 6026 §8.7)
    if (tx.state === 'Confirmed') return absorb(timerT4(timers, reliable)); // Timer I
    return undefined; // Completed: its non-2xx goes again until the ACK (Timer G)
  }
  if (tx instanceof ServerNonInviteTransaction) return tx.state === 'Completed' ? absorb(timerJ(timers, reliable), tx.lastResponse) : undefined;
  if (tx instanceof ClientInviteTransaction) {
    if (tx.state === 'Completed') return absorb(timerD(timers, reliable), tx.ackRequest);
    if (tx.state === 'Accepted') return absorb(transactionTimeout(timers), undefined, true); // Timer M (RFC 6026 §8.4)
    return undefined;
  }
  return tx instanceof ClientNonInviteTransaction && tx.state === 'Completed' ? absorb(timerT4(timers, reliable)) : undefined; // Timer K
}
