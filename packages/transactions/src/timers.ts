// RFC 3261 §17 timer values (Table 4 of Appendix A) and RFC 6026 §7.3 (L, M), derived from
// T1, T2 and T4; plus the bookkeeping every machine uses to arm and disarm its timers.
import type { Effect, TimerName } from './effects.js';

/** The three base values, in milliseconds. RFC 3261 §17.1.1.1: T1 (RTT estimate), T2, T4. */
export interface TimerSettings {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
}

/** How a transaction is created. */
export interface TransactionOptions {
  /** TCP (true) or UDP (false): retransmission timers (A, E, G) run only on unreliable transports. */
  readonly reliable: boolean;
  /** Defaults to DEFAULT_TIMER_SETTINGS. */
  readonly timers?: TimerSettings;
}

/** RFC 3261 defaults: T1 500 ms, T2 4 s, T4 5 s. */
export const DEFAULT_TIMER_SETTINGS: TimerSettings = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

/**
 * Settings with `overrides` applied to the defaults. Throws a RangeError unless every value is a
 * positive finite number and T1 <= T2 (§17.1.2.2: E doubles from T1 up to T2).
 */
export function timerSettings(overrides: Partial<TimerSettings> = {}): TimerSettings {
  const s: TimerSettings = { ...DEFAULT_TIMER_SETTINGS, ...overrides };
  for (const name of ['t1', 't2', 't4'] as const) {
    const v = s[name];
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`timer ${name.toUpperCase()} must be a positive number of ms, got ${v}`);
  }
  if (s.t1 > s.t2) throw new RangeError(`T1 (${s.t1} ms) must not exceed T2 (${s.t2} ms)`);
  return Object.freeze(s);
}

/** 64*T1: Timers B, F, H, L, M, J (unreliable), and the 2xx ACK wait of §13.3.1.4. */
export function transactionTimeout(s: TimerSettings): number {
  return 64 * s.t1;
}

/** Timer D (§17.1.1.2): at least 32 s on unreliable transports, 0 on reliable ones. */
export function timerD(s: TimerSettings, reliable: boolean): number {
  // "at least 32 seconds": a T1 above the default keeps D at 64*T1, the server's Timer H window
  return reliable ? 0 : Math.max(32_000, 64 * s.t1);
}

/** Timer I (§17.2.1, Confirmed) and Timer K (§17.1.2.2, Completed): T4 unreliable, 0 reliable. */
export function timerT4(s: TimerSettings, reliable: boolean): number {
  return reliable ? 0 : s.t4;
}

/** Timer J (§17.2.2): 64*T1 unreliable, 0 reliable. */
export function timerJ(s: TimerSettings, reliable: boolean): number {
  return reliable ? 0 : 64 * s.t1;
}

/** The next interval of a doubling retransmission timer: A uncapped (cap undefined); E, G and 2xx capped at T2. */
export function doubled(interval: number, cap?: number): number {
  return cap === undefined ? interval * 2 : Math.min(interval * 2, cap);
}

/**
 * The timers a machine has armed. Starting or cancelling one appends the effect; a fire is
 * accepted only for a timer that is armed, so a stale fire (one the driver delivered after a
 * cancel) is ignored; `cancelAll` disarms what is left when the machine terminates.
 */
export class ArmedTimers {
  private readonly armed = new Set<TimerName>();

  start(out: Effect[], timer: TimerName, ms: number): void {
    this.armed.add(timer);
    out.push({ type: 'start-timer', timer, ms });
  }

  cancel(out: Effect[], timer: TimerName): void {
    if (this.armed.delete(timer)) out.push({ type: 'cancel-timer', timer });
  }

  cancelAll(out: Effect[]): void {
    for (const timer of this.armed) out.push({ type: 'cancel-timer', timer });
    this.armed.clear();
  }

  /** Records that `timer` fired; false when it was not armed (the event must then be ignored). */
  fired(timer: TimerName): boolean {
    return this.armed.delete(timer);
  }

  has(timer: TimerName): boolean {
    return this.armed.has(timer);
  }

  /** The armed timers, in the order they were first armed. */
  list(): TimerName[] {
    return [...this.armed];
  }
}
