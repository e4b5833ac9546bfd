// The trunks' maximum call durations (`restrictions.maxCallSeconds`) of every call of a worker,
// on one timer. A Node timer per call cost a held call about 300 bytes of heap (its Timeout, its
// closure and, with a delay of its own, a timer list of its own) out of ~8 KB; here a call costs
// a place in the set of its second. Deadlines are kept to the second, rounded up: a call ends
// within a second after its maximum, never before.

/** What is told when its deadline comes: the call actor's reference. */
export interface DeadlineTarget {
  tell(message: { type: 'max-duration' }): void;
}

const MAX_DURATION = Object.freeze({ type: 'max-duration' as const });

export class CallDeadlines {
  /** Targets by the second (epoch) their deadline falls in, rounded up. */
  private readonly bySecond = new Map<number, Set<DeadlineTarget>>();
  private timer: NodeJS.Timeout | undefined;
  /** The second the timer is armed for. */
  private armedFor = Infinity;

  /** Tells `target` once `atMs` (epoch ms) has passed; the key returned cancels it. */
  add(atMs: number, target: DeadlineTarget): number {
    const second = Math.ceil(atMs / 1000);
    let due = this.bySecond.get(second);
    if (due === undefined) {
      due = new Set();
      this.bySecond.set(second, due);
    }
    due.add(target);
    if (second < this.armedFor) this.arm(second);
    return second;
  }

  cancel(key: number, target: DeadlineTarget): void {
    const due = this.bySecond.get(key);
    if (due === undefined) return;
    due.delete(target);
    if (due.size === 0) this.bySecond.delete(key);
  }

  /** Deadlines not yet told. */
  get size(): number {
    let n = 0;
    for (const due of this.bySecond.values()) n += due.size;
    return n;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(second: number): void {
    clearTimeout(this.timer);
    this.armedFor = second;
    this.timer = setTimeout(() => this.fire(), Math.max(0, second * 1000 - Date.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [second, due] of this.bySecond) {
      if (second * 1000 > now) {
        next = Math.min(next, second);
        continue;
      }
      this.bySecond.delete(second);
      for (const target of due) target.tell(MAX_DURATION);
    }
    if (next !== Infinity) this.arm(next);
  }
}
