// The UAS core's reliability for a 2xx to INVITE (RFC 3261 §13.3.1.4): the transaction layer
// sends the 2xx once (ServerInviteTransaction, Accepted); retransmitting it until the ACK is the core's.
import type { SipResponse } from '@switchboard/sip';
import type { Effect, TimerEvent } from './effects.js';
import { ArmedTimers, DEFAULT_TIMER_SETTINGS, doubled, transactionTimeout, type TimerSettings } from './timers.js';

export type Uas2xxRetransmitterState = 'Retransmitting' | 'Terminated';

/** `start`: the 2xx has just been sent. `ack`: its ACK arrived. `stop`: the dialog no longer needs it (BYE, replaced). */
export type Uas2xxRetransmitterEvent =
  | { readonly type: 'start' }
  | { readonly type: 'ack' }
  | { readonly type: 'stop' }
  | TimerEvent;

/**
 * Retransmits one 2xx at T1, 2*T1, ... capped at T2 (`2xx-retransmit`) until `ack` or `stop`;
 * after 64*T1 without an ACK (`2xx-timeout`) it emits `ack-timeout`: the UAS core then confirms
 * and ends the dialog with a BYE (§13.3.1.4). `start` only arms the timers: the first
 * transmission is the server transaction's. The schedule is the same on every transport
 * (§13.3.1.4: "independent of the transport protocol", for the unreliable hops beyond ours).
 * Sending a different 2xx means a new retransmitter (stop the old one).
 */
export class Uas2xxRetransmitter {
  readonly response: SipResponse;
  readonly timers: TimerSettings;
  private current: Uas2xxRetransmitterState = 'Retransmitting';
  private started = false;
  private interval: number;
  private readonly armed = new ArmedTimers();

  constructor(response: SipResponse, timers: TimerSettings = DEFAULT_TIMER_SETTINGS) {
    if (response.status < 200 || response.status > 299) throw new TypeError(`only a 2xx is retransmitted by the UAS core, not ${response.status}`);
    this.response = response;
    this.timers = timers;
    this.interval = timers.t1;
  }

  get state(): Uas2xxRetransmitterState {
    return this.current;
  }

  handle(event: Uas2xxRetransmitterEvent): Effect[] {
    const out: Effect[] = [];
    switch (this.current) {
      case 'Retransmitting':
        switch (event.type) {
          case 'start':
            if (this.started) break;
            this.started = true;
            this.armed.start(out, '2xx-retransmit', this.interval);
            this.armed.start(out, '2xx-timeout', transactionTimeout(this.timers));
            break;
          case 'ack':
          case 'stop':
            this.terminate(out);
            break;
          case 'timer':
            if (!this.armed.fired(event.timer)) break;
            if (event.timer === '2xx-retransmit') {
              out.push({ type: 'send', message: this.response });
              this.interval = doubled(this.interval, this.timers.t2);
              this.armed.start(out, '2xx-retransmit', this.interval);
            } else if (event.timer === '2xx-timeout') {
              this.terminate(out, { type: 'ack-timeout' });
            }
            break;
        }
        break;
      case 'Terminated':
        break;
    }
    return out;
  }

  private terminate(out: Effect[], why?: Effect): void {
    this.armed.cancelAll(out);
    if (why !== undefined) out.push(why);
    this.current = 'Terminated';
    out.push({ type: 'terminated' });
  }
}
