/*
 * The UA's timers and the promises that wait on it. A wait is re-checked after every message
 * and every timer, so a test says what it waits for, not when it will have happened.
 */

interface Waiter {
  check: () => boolean;
  fail: (err: Error) => void;
}

export class Waits {
  stopped = false;
  private readonly waiters = new Set<Waiter>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pokeScheduled = false;

  /**
   * `errors` receives what a timer's callback throws; `describe` is the UA's log, quoted
   * when a wait times out.
   */
  constructor(
    private readonly name: string,
    private readonly errors: unknown[],
    private readonly describe: () => string,
  ) {}

  /**
   * Resolves with the first value `check` returns other than undefined, re-checking after
   * every message and timer; rejects when `check` throws, or after `timeoutMs` with the log.
   */
  until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        check: () => {
          let v: T | undefined;
          try {
            v = check();
          } catch (err) {
            waiter.fail(err instanceof Error ? err : new Error(String(err)));
            return true;
          }
          if (v === undefined) return false;
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(v);
          return true;
        },
        fail: (err) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(err);
        },
      };
      if (waiter.check()) return;
      if (this.stopped) return waiter.fail(new Error(`${this.name}: stopped while waiting for ${what}`));
      timer = setTimeout(() => waiter.fail(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.describe()}`)), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Re-checks the waiters once the current handler is done. */
  poke(): void {
    if (this.pokeScheduled) return;
    this.pokeScheduled = true;
    queueMicrotask(() => {
      this.pokeScheduled = false;
      for (const w of [...this.waiters]) w.check();
    });
  }

  /** A timer cleared by stop(); unref'd (the sockets keep a test alive). */
  after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopped) return;
      try {
        fn();
      } catch (err) {
        this.errors.push(err);
      }
      this.poke();
    }, ms);
    t.unref();
    this.timers.add(t);
    return t;
  }

  clear(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  /** Clears every timer; pending waits reject. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of [...this.waiters]) w.fail(new Error(`${this.name}: stopped`));
  }
}
