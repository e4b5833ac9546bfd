// The INVITE server transaction: RFC 3261 §17.2.1 (Figure 7) with the Accepted state of
// RFC 6026 §7.1 and §8.5-8.8 (a 2xx no longer terminates it: it absorbs INVITE retransmissions
// and passes ACKs up until Timer L; transport errors leave the state unchanged).
import { createResponse, type SipRequest, type SipResponse } from '@switchboard/sip';
import { releasedRequest, type Transaction, type ServerTransactionEvent } from './transaction.js';
import {
  isFailure, isProvisional, isSuccess,
  type Effect,
} from './effects.js';
import {
  ArmedTimers, DEFAULT_TIMER_SETTINGS, doubled, timerT4, transactionTimeout,
  type TimerSettings, type TransactionOptions,
} from './timers.js';

export type ServerInviteState = 'Proceeding' | 'Completed' | 'Confirmed' | 'Accepted' | 'Terminated';

export type ServerInviteEvent = ServerTransactionEvent;

/**
 * One received INVITE. `handle({ type: 'start' })` sends `100 Trying` at once (so no TU delay
 * can let the client retransmit, §17.2.1) and passes the INVITE up. The TU answers with
 * `respond` events; retransmitted INVITEs (`request`) and ACKs (`ack`) come from the transport.
 * A `request` event carrying an ACK is handled as `ack`.
 *
 * - Proceeding: 1xx sent as given; a retransmitted INVITE gets the last provisional again.
 * - 300-699 → Completed: G (unreliable) retransmits the final response from T1 doubling up to T2,
 *   H (64*T1) gives up with `timeout`; the ACK → Confirmed, which absorbs ACKs until Timer I
 *   (T4; 0 on reliable transports: Terminated in the same step).
 * - 2xx → Accepted (RFC 6026): the 2xx is sent but not retransmitted here (that is the UAS core's,
 *   see Uas2xxRetransmitter); INVITE retransmissions are absorbed, ACKs passed up, further 2xx from
 *   the TU sent, until Timer L (64*T1).
 * - A response the state cannot send (a 1xx after the final, a second final) returns no effects.
 */
export class ServerInviteTransaction implements Transaction<ServerInviteEvent, ServerInviteState> {
  readonly kind = 'invite';
  readonly method = 'INVITE';
  readonly cseq: number;
  readonly reliable: boolean;
  /** The INVITE, until Accepted (see `request`). */
  private invite: SipRequest | undefined;
  readonly timers: TimerSettings;
  private current: ServerInviteState = 'Proceeding';
  private started = false;
  private last: SipResponse | undefined;
  private intervalG: number;
  private readonly armed = new ArmedTimers();

  constructor(request: SipRequest, options: TransactionOptions) {
    if (request.method !== 'INVITE') throw new TypeError(`an INVITE server transaction cannot serve ${request.method}`);
    this.invite = request;
    this.cseq = request.headers.cseq?.seq ?? 0;
    this.reliable = options.reliable;
    this.timers = options.timers ?? DEFAULT_TIMER_SETTINGS;
    this.intervalG = this.timers.t1;
  }

  get state(): ServerInviteState {
    return this.current;
  }

  /**
   * The INVITE. Accepted lets go of it, and of the 2xx: that state only absorbs retransmissions
   * and passes ACKs up (RFC 6026 §8.7), and a call holds its transaction for 64*T1 after the
   * answer, so the messages of every call of the last 32 s stayed in memory (issue 17: ~8 KB a
   * call). Read in Accepted or later, it throws: the transaction user must have taken what it
   * needed before it answered.
   */
  get request(): SipRequest {
    return this.invite ?? releasedRequest(this.method);
  }

  /** The last response sent (provisional or final), which a retransmitted INVITE gets again; none once Accepted. */
  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  handle(event: ServerInviteEvent): Effect[] {
    const out: Effect[] = [];
    if (event.type === 'request' && event.request.method === 'ACK') return this.handle({ type: 'ack', request: event.request });
    switch (this.current) {
      case 'Proceeding':
        switch (event.type) {
          case 'start': {
            if (this.started) break;
            this.started = true;
            const trying = createResponse(this.request, 100);
            this.last = trying;
            out.push({ type: 'send', message: trying });
            out.push({ type: 'pass-up', message: this.request });
            break;
          }
          case 'request':
            // §17.2.1: a retransmission gets the most recent provisional response again
            if (this.last !== undefined) out.push({ type: 'send', message: this.last });
            break;
          case 'ack':
            break; // no final response yet: nothing to acknowledge
          case 'respond':
            this.onRespond(out, event.response);
            break;
          case 'timer':
            break; // no timer runs in Proceeding: a fire is stale
          case 'transport-error':
            out.push({ type: 'transport-error' }); // RFC 6026 §8.8: inform the TU, stay
            break;
        }
        break;
      case 'Completed':
        switch (event.type) {
          case 'start':
          case 'respond':
            break;
          case 'request':
            if (this.last !== undefined) out.push({ type: 'send', message: this.last });
            break;
          case 'ack': {
            // §17.2.1: retransmissions of the final response stop; Confirmed absorbs further ACKs
            this.armed.cancel(out, 'G');
            this.armed.cancel(out, 'H');
            this.current = 'Confirmed';
            const i = timerT4(this.timers, this.reliable);
            if (i === 0) this.terminate(out);
            else this.armed.start(out, 'I', i);
            break;
          }
          case 'timer':
            if (!this.armed.fired(event.timer)) break;
            if (event.timer === 'G' && this.last !== undefined) {
              out.push({ type: 'send', message: this.last });
              this.intervalG = doubled(this.intervalG, this.timers.t2); // §17.2.1: MIN(2*G, T2)
              this.armed.start(out, 'G', this.intervalG);
            } else if (event.timer === 'H') {
              this.terminate(out, { type: 'timeout', timer: 'H' }); // no ACK ever came
            }
            break;
          case 'transport-error':
            out.push({ type: 'transport-error' }); // RFC 6026 §8.8: Timer H still ends it
            break;
        }
        break;
      case 'Confirmed':
        switch (event.type) {
          case 'start':
          case 'request':
          case 'ack':
          case 'respond':
          case 'transport-error':
            break;
          case 'timer':
            if (this.armed.fired(event.timer) && event.timer === 'I') this.terminate(out);
            break;
        }
        break;
      case 'Accepted':
        switch (event.type) {
          case 'start':
          case 'request': // RFC 6026 §8.7: absorbed; the UAS core retransmits the 2xx on its own schedule
            break;
          case 'ack':
            out.push({ type: 'pass-up', message: event.request }); // RFC 6026 §8.7: the ACK of a 2xx is the TU's
            break;
          case 'respond':
            // RFC 6026 §8.7: the TU's 2xx (a retransmission) is sent; nothing else may follow a 2xx
            if (isSuccess(event.response.status)) out.push({ type: 'send', message: event.response });
            break;
          case 'timer':
            if (this.armed.fired(event.timer) && event.timer === 'L') this.terminate(out);
            break;
          case 'transport-error':
            out.push({ type: 'transport-error' }); // RFC 6026 §8.8
            break;
        }
        break;
      case 'Terminated':
        break;
    }
    return out;
  }

  /** A response from the TU in Proceeding. */
  private onRespond(out: Effect[], response: SipResponse): void {
    const { status } = response;
    if (isProvisional(status)) {
      this.last = response;
      out.push({ type: 'send', message: response });
    } else if (isSuccess(status)) {
      this.last = undefined;
      this.invite = undefined;
      this.current = 'Accepted';
      out.push({ type: 'send', message: response });
      this.armed.start(out, 'L', transactionTimeout(this.timers)); // RFC 6026 §8.5
    } else if (isFailure(status)) {
      this.last = response;
      this.current = 'Completed';
      out.push({ type: 'send', message: response });
      if (!this.reliable) this.armed.start(out, 'G', this.intervalG);
      this.armed.start(out, 'H', transactionTimeout(this.timers));
    }
  }

  private terminate(out: Effect[], why?: Effect): void {
    this.armed.cancelAll(out);
    if (why !== undefined) out.push(why);
    this.current = 'Terminated';
    out.push({ type: 'terminated' });
  }
}
