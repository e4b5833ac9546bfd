import type { SipMessage } from '@switchboard/sip';
import type { Flow } from './flow.js';

/**
 * What a transaction (RFC 3261 §17) needs of the user agent it runs in: the transport to send
 * on and the timers its retransmissions run on. The UserAgent is one; the transactions and the
 * dialogs take this, not the UserAgent class, so they import nothing of the agent above them.
 */
export interface TransactionHost {
  readonly name: string;
  readonly t1: number;
  readonly t2: number;
  /** Sends `msg` (or `raw`, its bytes) on `flow`, logging it when it is written. */
  _send(msg: SipMessage, flow: Flow, retransmission?: boolean, raw?: Buffer): Promise<void>;
  /** Runs a send in the background: a failure is kept (and given to `onError`). */
  _fire(p: Promise<void>, onError?: (err: Error) => void): void;
  /** A timer that stops with the agent. */
  _after(ms: number, fn: () => void): NodeJS.Timeout;
  _clear(t: NodeJS.Timeout | undefined): void;
}
