// The non-INVITE client transaction: RFC 3261 §17.1.2 (Figure 6).
import type { SipRequest, SipResponse } from '@switchboard/sip';
import type { Transaction, ClientTransactionEvent } from './transaction.js';
import {
  isProvisional,
  type Effect,
} from './effects.js';
import {
  ArmedTimers, DEFAULT_TIMER_SETTINGS, doubled, timerT4, transactionTimeout,
  type TimerSettings, type TransactionOptions,
} from './timers.js';

export type ClientNonInviteState = 'Trying' | 'Proceeding' | 'Completed' | 'Terminated';

export type ClientNonInviteEvent = ClientTransactionEvent;

/**
 * One non-INVITE request (BYE, CANCEL, REFER, NOTIFY, OPTIONS, ...) sent by the TU.
 * `handle({ type: 'start' })` sends it; Timer E retransmits it on unreliable transports,
 * Timer F bounds the wait, Timer K absorbs retransmitted final responses in Completed.
 * With K = 0 (reliable transport) Completed is left at once, in the same step. A transport
 * error in Completed is ignored: the transaction sends nothing there.
 */
export class ClientNonInviteTransaction implements Transaction<ClientNonInviteEvent, ClientNonInviteState> {
  readonly kind = 'non-invite';
  readonly request: SipRequest;
  readonly method: string;
  readonly cseq: number;
  readonly reliable: boolean;
  readonly timers: TimerSettings;
  private current: ClientNonInviteState = 'Trying';
  private started = false;
  private intervalE: number;
  private readonly armed = new ArmedTimers();

  constructor(request: SipRequest, options: TransactionOptions) {
    if (request.method === 'INVITE' || request.method === 'ACK') {
      throw new TypeError(`a non-INVITE client transaction cannot send ${request.method}`);
    }
    this.request = request;
    this.method = request.method;
    this.cseq = request.headers.cseq?.seq ?? 0;
    this.reliable = options.reliable;
    this.timers = options.timers ?? DEFAULT_TIMER_SETTINGS;
    this.intervalE = this.timers.t1;
  }

  get state(): ClientNonInviteState {
    return this.current;
  }

  handle(event: ClientNonInviteEvent): Effect[] {
    const out: Effect[] = [];
    switch (this.current) {
      case 'Trying':
        switch (event.type) {
          case 'start':
            if (this.started) break;
            this.started = true;
            out.push({ type: 'send', message: this.request });
            if (!this.reliable) this.armed.start(out, 'E', this.intervalE);
            this.armed.start(out, 'F', transactionTimeout(this.timers));
            break;
          case 'response':
            this.onResponse(out, event.response);
            break;
          case 'timer':
            if (!this.armed.fired(event.timer)) break;
            if (event.timer === 'E') {
              out.push({ type: 'send', message: this.request });
              this.intervalE = doubled(this.intervalE, this.timers.t2); // §17.1.2.2: MIN(2*E, T2)
              this.armed.start(out, 'E', this.intervalE);
            } else if (event.timer === 'F') {
              this.terminate(out, { type: 'timeout', timer: 'F' });
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
            if (!this.armed.fired(event.timer)) break;
            if (event.timer === 'E') {
              out.push({ type: 'send', message: this.request });
              this.intervalE = this.timers.t2; // §17.1.2.2: in Proceeding E is reset to T2
              this.armed.start(out, 'E', this.intervalE);
            } else if (event.timer === 'F') {
              this.terminate(out, { type: 'timeout', timer: 'F' });
            }
            break;
          case 'transport-error':
            this.terminate(out, { type: 'transport-error' });
            break;
        }
        break;
      case 'Completed':
        switch (event.type) {
          case 'start':
          case 'response': // §17.1.2.2: retransmitted final responses are absorbed
          case 'transport-error':
            break;
          case 'timer':
            if (this.armed.fired(event.timer) && event.timer === 'K') this.terminate(out);
            break;
        }
        break;
      case 'Terminated':
        break;
    }
    return out;
  }

  /** A response in Trying or Proceeding. */
  private onResponse(out: Effect[], response: SipResponse): void {
    if (isProvisional(response.status)) {
      this.current = 'Proceeding';
      out.push({ type: 'pass-up', message: response });
    } else if (response.status >= 200 && response.status <= 699) {
      this.armed.cancel(out, 'E');
      this.armed.cancel(out, 'F');
      this.current = 'Completed';
      out.push({ type: 'pass-up', message: response });
      const k = timerT4(this.timers, this.reliable);
      if (k === 0) this.terminate(out);
      else this.armed.start(out, 'K', k);
    }
  }

  private terminate(out: Effect[], why?: Effect): void {
    this.armed.cancelAll(out);
    if (why !== undefined) out.push(why);
    this.current = 'Terminated';
    out.push({ type: 'terminated' });
  }
}
