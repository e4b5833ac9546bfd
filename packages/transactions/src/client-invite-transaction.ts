// The INVITE client transaction: RFC 3261 §17.1.1 (Figure 5) with the Accepted state of
// RFC 6026 §7.2 (a 2xx no longer terminates it: it absorbs 2xx retransmissions until Timer M).
import { createAck, type SipRequest, type SipResponse } from '@switchboard/sip';
import { releasedRequest, type Transaction, type ClientTransactionEvent } from './transaction.js';
import {
  isFailure, isProvisional, isSuccess,
  type Effect,
} from './effects.js';
import {
  ArmedTimers, DEFAULT_TIMER_SETTINGS, doubled, timerD, transactionTimeout,
  type TimerSettings, type TransactionOptions,
} from './timers.js';

export type ClientInviteState = 'Calling' | 'Proceeding' | 'Completed' | 'Accepted' | 'Terminated';

export type ClientInviteEvent = ClientTransactionEvent;

/**
 * One INVITE sent by the TU. `handle({ type: 'start' })` sends it; responses, timer fires and
 * transport errors are fed back as events; each `handle` returns the effects to execute, in order.
 *
 * Differences from the letter of Figure 5, on purpose:
 * - a 2xx goes to Accepted (RFC 6026 §7.2), where every further 2xx is passed up for the TU to ACK;
 * - entering Proceeding cancels Timer B as well as A: Figure 5 lets B fire only in Calling, so a
 *   ringing call is bounded by the TU (its no-answer timer, then CANCEL), not by the transaction;
 * - with Timer D = 0 (reliable transport) Completed is left at once, in the same step;
 * - a transport error in Accepted is ignored: there the ACKs are the TU's (§13.2.2.4), not ours.
 */
export class ClientInviteTransaction implements Transaction<ClientInviteEvent, ClientInviteState> {
  readonly kind = 'invite';
  readonly method = 'INVITE';
  readonly cseq: number;
  /** The INVITE, until Accepted (see `request`). */
  private invite: SipRequest | undefined;
  readonly reliable: boolean;
  readonly timers: TimerSettings;
  private current: ClientInviteState = 'Calling';
  private started = false;
  private intervalA: number;
  private ack: SipRequest | undefined;
  private ackedTo: string | undefined;
  private readonly armed = new ArmedTimers();

  /** The INVITE; released once a 2xx made the transaction Accepted (as the server's: ServerInviteTransaction.request). */
  get request(): SipRequest {
    return this.invite ?? releasedRequest(this.method);
  }

  constructor(request: SipRequest, options: TransactionOptions) {
    if (request.method !== 'INVITE') throw new TypeError(`an INVITE client transaction cannot send ${request.method}`);
    this.invite = request;
    this.cseq = request.headers.cseq?.seq ?? 0;
    this.reliable = options.reliable;
    this.timers = options.timers ?? DEFAULT_TIMER_SETTINGS;
    this.intervalA = this.timers.t1;
  }

  get state(): ClientInviteState {
    return this.current;
  }

  /** The ACK this transaction sent for a non-2xx final response (§17.1.1.3), once there is one. */
  get ackRequest(): SipRequest | undefined {
    return this.ack;
  }

  /**
   * An INVITE another worker sent and saw a provisional for (worker takeover of a ringing call):
   * Proceeding at once, sending nothing and arming nothing, so a final response, a 2xx, or the
   * transport failing is handled as it would have been there.
   */
  resume(): void {
    if (this.started) return;
    this.started = true;
    this.current = 'Proceeding';
  }

  handle(event: ClientInviteEvent): Effect[] {
    const out: Effect[] = [];
    switch (this.current) {
      case 'Calling':
        switch (event.type) {
          case 'start':
            if (this.started) break;
            this.started = true;
            out.push({ type: 'send', message: this.request });
            // §17.1.1.2: Timer A only on unreliable transports; Timer B always
            if (!this.reliable) this.armed.start(out, 'A', this.intervalA);
            this.armed.start(out, 'B', transactionTimeout(this.timers));
            break;
          case 'response':
            this.onResponse(out, event.response);
            break;
          case 'timer':
            if (!this.armed.fired(event.timer)) break;
            if (event.timer === 'A') {
              out.push({ type: 'send', message: this.request });
              this.intervalA = doubled(this.intervalA); // 2*T1, 4*T1...: uncapped, Timer B bounds it
              this.armed.start(out, 'A', this.intervalA);
            } else if (event.timer === 'B') {
              this.terminate(out, { type: 'timeout', timer: 'B' });
            }
            break;
          case 'transport-error':
            this.terminate(out, { type: 'transport-error' });
            break;
        }
        break;
      case 'Proceeding':
        switch (event.type) {
          case 'start':
            break;
          case 'response':
            this.onResponse(out, event.response);
            break;
          case 'timer':
            break; // no timer runs in Proceeding: a fire is stale
          case 'transport-error':
            // nothing of ours is in flight, but a broken connection means no final response can come back
            this.terminate(out, { type: 'transport-error' });
            break;
        }
        break;
      case 'Completed':
        switch (event.type) {
          case 'start':
            break;
          case 'response': {
            const { response } = event;
            // §17.1.1.2: a retransmitted final response is ACKed again but not passed up
            if (isFailure(response.status)) out.push({ type: 'send', message: this.ackFor(response) });
            break;
          }
          case 'timer':
            if (this.armed.fired(event.timer) && event.timer === 'D') this.terminate(out);
            break;
          case 'transport-error':
            this.terminate(out, { type: 'transport-error' });
            break;
        }
        break;
      case 'Accepted':
        switch (event.type) {
          case 'start':
          case 'transport-error':
            break;
          case 'response':
            // RFC 6026 §7.2: every 2xx (retransmission or another fork) goes up for the TU to ACK
            if (isSuccess(event.response.status)) out.push({ type: 'pass-up', message: event.response });
            break;
          case 'timer':
            if (this.armed.fired(event.timer) && event.timer === 'M') this.terminate(out);
            break;
        }
        break;
      case 'Terminated':
        break;
    }
    return out;
  }

  /** A response in Calling or Proceeding. */
  private onResponse(out: Effect[], response: SipResponse): void {
    const { status } = response;
    if (isProvisional(status)) {
      // §17.1.1.2: no more retransmissions once a provisional response arrived
      this.armed.cancel(out, 'A');
      this.armed.cancel(out, 'B');
      this.current = 'Proceeding';
      out.push({ type: 'pass-up', message: response });
    } else if (isSuccess(status)) {
      this.armed.cancel(out, 'A');
      this.armed.cancel(out, 'B');
      this.invite = undefined; // Accepted only passes 2xx up (see `request`)
      this.current = 'Accepted';
      out.push({ type: 'pass-up', message: response });
      this.armed.start(out, 'M', transactionTimeout(this.timers)); // RFC 6026 §7.2
    } else if (isFailure(status)) {
      this.armed.cancel(out, 'A');
      this.armed.cancel(out, 'B');
      this.current = 'Completed';
      out.push({ type: 'send', message: this.ackFor(response) });
      out.push({ type: 'pass-up', message: response });
      const d = timerD(this.timers, this.reliable);
      if (d === 0) this.terminate(out);
      else this.armed.start(out, 'D', d);
    }
  }

  /**
   * The §17.1.1.3 ACK for `response`: built once and re-sent for retransmissions; a final
   * response with another To (another downstream element answering) gets an ACK of its own.
   * The To is compared as written: a retransmission is a copy, and nothing needs parsing.
   */
  private ackFor(response: SipResponse): SipRequest {
    const to = response.headers.get('to');
    if (this.ack === undefined) {
      this.ack = createAck(this.request, response);
      this.ackedTo = to;
      return this.ack;
    }
    return to === this.ackedTo ? this.ack : createAck(this.request, response);
  }

  private terminate(out: Effect[], why?: Effect): void {
    this.armed.cancelAll(out);
    if (why !== undefined) out.push(why);
    this.current = 'Terminated';
    out.push({ type: 'terminated' });
  }
}
