// What the transaction machines ask of their driver, and the events every machine shares.
// The machines are pure: they never send, schedule or read a clock. A driver (the dialog or
// leg actor) executes the effects in order and feeds the outcome back as events.
import type { SipMessage, SipRequest, SipResponse } from '@switchboard/sip';

/**
 * Every timer a machine may start: RFC 3261 §17 Table 4 (A..K), RFC 6026 §7 (L, M), and
 * the UAS core's 2xx retransmission of §13.3.1.4 (`2xx-retransmit`, `2xx-timeout`).
 */
export type TimerName =
  | 'A' | 'B' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L' | 'M'
  | '2xx-retransmit' | '2xx-timeout';

/** Hand `message` to the transport (the request or ACK of a client, the response of a server). */
export interface SendEffect {
  readonly type: 'send';
  readonly message: SipMessage;
}

/**
 * Arm timer `timer` to fire after `ms` milliseconds, replacing it if it is armed already.
 * When it fires, the driver feeds `{ type: 'timer', timer }` back to the same machine.
 */
export interface StartTimerEffect {
  readonly type: 'start-timer';
  readonly timer: TimerName;
  readonly ms: number;
}

/** Disarm timer `timer`: a fire the driver has not delivered yet must be dropped. */
export interface CancelTimerEffect {
  readonly type: 'cancel-timer';
  readonly timer: TimerName;
}

/** Deliver `message` to the transaction user (a response to the client's TU, a request to the server's). */
export interface PassUpEffect {
  readonly type: 'pass-up';
  readonly message: SipMessage;
}

/**
 * The transaction timed out (Timer B or F: the TU treats it as a 408, §8.1.3.1; Timer H:
 * no ACK for a non-2xx final response, §17.2.1).
 */
export interface TimeoutEffect {
  readonly type: 'timeout';
  readonly timer: 'B' | 'F' | 'H';
}

/** The transport could not deliver what the machine sent (§17.1.4, §17.2.4 as updated by RFC 6026 §8.8). */
export interface TransportErrorEffect {
  readonly type: 'transport-error';
}

/** No ACK for a 2xx within 64*T1 (§13.3.1.4): the UAS core should end the dialog with a BYE. */
export interface AckTimeoutEffect {
  readonly type: 'ack-timeout';
}

/**
 * The machine reached Terminated: it emits nothing more and may be forgotten. Every timer it
 * had armed has been cancelled by an explicit `cancel-timer` earlier in the same list.
 */
export interface TerminatedEffect {
  readonly type: 'terminated';
}

export type Effect =
  | SendEffect
  | StartTimerEffect
  | CancelTimerEffect
  | PassUpEffect
  | TimeoutEffect
  | TransportErrorEffect
  | AckTimeoutEffect
  | TerminatedEffect;

/** The TU starts a client transaction, or hands a freshly received request to a new server transaction. */
export interface StartEvent {
  readonly type: 'start';
}

/** A timer the machine armed has fired. */
export interface TimerEvent {
  readonly type: 'timer';
  readonly timer: TimerName;
}

/** A response the transport matched to a client transaction (§17.1.3). */
export interface ResponseEvent {
  readonly type: 'response';
  readonly response: SipResponse;
}

/** A request the transport matched to a server transaction (§17.2.3): a retransmission of the one that created it. */
export interface RequestEvent {
  readonly type: 'request';
  readonly request: SipRequest;
}

/** An ACK the transport matched to an INVITE server transaction (§17.2.3: ACK matches the INVITE's). */
export interface AckEvent {
  readonly type: 'ack';
  readonly request: SipRequest;
}

/** The TU hands a server transaction a response to send. */
export interface RespondEvent {
  readonly type: 'respond';
  readonly response: SipResponse;
}

/** The transport reported that a message this machine sent could not be delivered. */
export interface TransportErrorEvent {
  readonly type: 'transport-error';
}

/** Is `status` a provisional (1xx) status? */
export function isProvisional(status: number): boolean {
  return status >= 100 && status <= 199;
}

/** Is `status` a success (2xx) status? */
export function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

/** Is `status` a final status other than 2xx (300-699)? */
export function isFailure(status: number): boolean {
  return status >= 300 && status <= 699;
}
