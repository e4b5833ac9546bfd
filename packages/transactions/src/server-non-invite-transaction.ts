// The non-INVITE server transaction: RFC 3261 §17.2.2 (Figure 8), transport errors as
// updated by RFC 6026 §8.8 (inform the TU, keep the state).
import type { SipRequest, SipResponse } from '@switchboard/sip';
import type { Transaction, ServerTransactionEvent } from './transaction.js';
import {
  isProvisional,
  type Effect,
} from './effects.js';
import { ArmedTimers, DEFAULT_TIMER_SETTINGS, timerJ, type TimerSettings, type TransactionOptions } from './timers.js';

export type ServerNonInviteState = 'Trying' | 'Proceeding' | 'Completed' | 'Terminated';

export type ServerNonInviteEvent = ServerTransactionEvent;

/**
 * One received non-INVITE request (BYE, CANCEL, REFER, NOTIFY, OPTIONS, ...).
 * `handle({ type: 'start' })` passes it up; the transaction sends no 100 of its own (RFC 4320
 * §4.1 allows one only late, and only 100: the TU's call). Trying absorbs retransmissions; Proceeding and Completed
 * answer them with the last response; Timer J (64*T1; 0 on reliable transports: Terminated in
 * the same step) ends Completed. A response the state cannot send returns no effects.
 */
export class ServerNonInviteTransaction implements Transaction<ServerNonInviteEvent, ServerNonInviteState> {
  readonly kind = 'non-invite';
  readonly request: SipRequest;
  readonly method: string;
  readonly cseq: number;
  readonly reliable: boolean;
  readonly timers: TimerSettings;
  private current: ServerNonInviteState = 'Trying';
  private started = false;
  private last: SipResponse | undefined;
  private readonly armed = new ArmedTimers();

  constructor(request: SipRequest, options: TransactionOptions) {
    if (request.method === 'INVITE' || request.method === 'ACK') {
      throw new TypeError(`a non-INVITE server transaction cannot serve ${request.method}`);
    }
    this.request = request;
    this.method = request.method;
    this.cseq = request.headers.cseq?.seq ?? 0;
    this.reliable = options.reliable;
    this.timers = options.timers ?? DEFAULT_TIMER_SETTINGS;
  }

  get state(): ServerNonInviteState {
    return this.current;
  }

  /** The last response sent, which a retransmitted request gets again. */
  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  handle(event: ServerNonInviteEvent): Effect[] {
    const out: Effect[] = [];
    if (event.type === 'ack') return out; // §17.2.3: an ACK matches only an INVITE server transaction
    switch (this.current) {
      case 'Trying':
        switch (event.type) {
          case 'start':
            if (this.started) break;
            this.started = true;
            out.push({ type: 'pass-up', message: this.request });
            break;
          case 'request':
            break; // §17.2.2: retransmissions in Trying are discarded
          case 'respond':
            this.onRespond(out, event.response);
            break;
          case 'timer':
            break; // no timer runs in Trying: a fire is stale
          case 'transport-error':
            out.push({ type: 'transport-error' }); // RFC 6026 §8.8: inform the TU, stay
            break;
        }
        break;
      case 'Proceeding':
        switch (event.type) {
          case 'start':
            break;
          case 'request':
            if (this.last !== undefined) out.push({ type: 'send', message: this.last });
            break;
          case 'respond':
            this.onRespond(out, event.response);
            break;
          case 'timer':
            break; // no timer runs in Proceeding: a fire is stale
          case 'transport-error':
            out.push({ type: 'transport-error' });
            break;
        }
        break;
      case 'Completed':
        switch (event.type) {
          case 'start':
          case 'respond': // §17.2.2: any other final response from the TU is discarded
            break;
          case 'request':
            if (this.last !== undefined) out.push({ type: 'send', message: this.last });
            break;
          case 'timer':
            if (this.armed.fired(event.timer) && event.timer === 'J') this.terminate(out);
            break;
          case 'transport-error':
            out.push({ type: 'transport-error' }); // RFC 6026 §8.8: Timer J still ends it
            break;
        }
        break;
      case 'Terminated':
        break;
    }
    return out;
  }

  /** A response from the TU in Trying or Proceeding. */
  private onRespond(out: Effect[], response: SipResponse): void {
    if (isProvisional(response.status)) {
      this.last = response;
      this.current = 'Proceeding';
      out.push({ type: 'send', message: response });
    } else if (response.status >= 200 && response.status <= 699) {
      this.last = response;
      this.current = 'Completed';
      out.push({ type: 'send', message: response });
      const j = timerJ(this.timers, this.reliable);
      if (j === 0) this.terminate(out);
      else this.armed.start(out, 'J', j);
    }
  }

  private terminate(out: Effect[]): void {
    this.armed.cancelAll(out);
    this.current = 'Terminated';
    out.push({ type: 'terminated' });
  }
}
