// The one face of the four transaction machines (RFC 3261 §17), so a driver holds a client or a
// server transaction without knowing which class it is: events in, effects out, a state to read.
// The machines implement it; the factories that pick one are in create-transaction.ts.
import type { SipRequest } from '@switchboard/sip';
import type {
  AckEvent, Effect, RequestEvent, RespondEvent, ResponseEvent, StartEvent, TimerEvent, TransportErrorEvent,
} from './effects.js';

/** A transaction machine: `handle` takes every event its side (client or server) may receive. */
export interface Transaction<E, S extends string = string> {
  /** INVITE transactions differ in shape (§17.1.1 vs §17.1.2, §17.2.1 vs §17.2.2): tell them apart by this. */
  readonly kind: 'invite' | 'non-invite';
  /** The request's method, for as long as the transaction lives. */
  readonly method: string;
  /** The request's CSeq number (0 when it had none). */
  readonly cseq: number;
  /** The request; an INVITE transaction lets go of it once Accepted, and reading it then throws (RFC 6026: that state has no use for it). */
  readonly request: SipRequest;
  readonly state: S;
  handle(event: E): Effect[];
}

/** Every event a client transaction takes (§17.1): both kinds take the same. */
export type ClientTransactionEvent = StartEvent | ResponseEvent | TimerEvent | TransportErrorEvent;

/** Every event a server transaction takes (§17.2); a non-INVITE one ignores `ack` (an ACK matches only an INVITE's). */
export type ServerTransactionEvent = StartEvent | RequestEvent | AckEvent | RespondEvent | TimerEvent | TransportErrorEvent;

/** What reading an INVITE transaction's request after Accepted gets: a bug in the transaction user, thrown as one. */
export function releasedRequest(method: string): never {
  throw new Error(`the ${method} of an Accepted transaction was released: the transaction user must take what it needs before the 2xx`);
}
