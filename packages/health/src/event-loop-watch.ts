export interface EventLoopWatchOptions {
  /** How often the watch's timer asks for its turn. */
  intervalMs?: number;
  /** A loop held this long past a turn is unresponsive (/livez fails). */
  blockedMs?: number;
  now?: () => number;
}

export const DEFAULT_BLOCKED_MS = 5_000;
const DEFAULT_INTERVAL_MS = 500;

/**
 * Whether the event loop still takes turns: a timer that measures how late it fires. A slow
 * loop (a burst of SIP, a long GC) is not dead; only one held past `blockedMs` is, so a liveness
 * probe restarts a process that is wedged, never one that is merely busy.
 */
export class EventLoopWatch {
  readonly intervalMs: number;
  readonly blockedMs: number;
  private readonly now: () => number;
  private lastTick: number;
  private lastLagMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: EventLoopWatchOptions = {}) {
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.blockedMs = options.blockedMs ?? DEFAULT_BLOCKED_MS;
    this.now = options.now ?? Date.now;
    this.lastTick = this.now();
  }

  start(): this {
    if (this.timer === undefined) {
      this.lastTick = this.now();
      // unref: a watch never keeps a process alive that has nothing else to do
      this.timer = setInterval(() => this.tick(), this.intervalMs).unref();
    }
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The timer's turn: how late it came is the loop's last lag. */
  tick(): void {
    const now = this.now();
    this.lastLagMs = Math.max(0, now - this.lastTick - this.intervalMs);
    this.lastTick = now;
  }

  /** How long the loop was last held past its turn: the last turn's lateness, or the wait for the next one when that is longer already. */
  blockedFor(): number {
    return Math.max(this.lastLagMs, this.now() - this.lastTick - this.intervalMs, 0);
  }

  get responsive(): boolean {
    return this.blockedFor() < this.blockedMs;
  }
}
