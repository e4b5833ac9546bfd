// The limits of one process, kept in memory: for the engine's unit tests and single-worker
// runs. Same decisions as the KV limiter (the same pure `decideLimits`), answered at once.
import type { Logger } from 'pino';
import { HeldSlots, hasLimits, requestProblem, UNLIMITED, type Admission, type CallLimiter, type LimitHold, type LimitRequest } from './call-limiter.js';
import { decideLimits } from './limit-decision.js';
import type { LimitValue } from './limit-value.js';

const LOCAL_WORKER = 'local';
const UNLIMITED_HOLD: LimitHold = Object.freeze({ key: '', id: 0 });

export interface LocalCallLimiterOptions {
  /** Wall clock, epoch ms; tests pass their own. */
  readonly now?: () => number;
  readonly log?: Logger;
}

export class LocalCallLimiter implements CallLimiter {
  private readonly values = new Map<string, LimitValue>();
  private readonly slots = new Map<string, number>();
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  private state: 'open' | 'closed' = 'open';
  private readonly holds = new HeldSlots();

  constructor(options: LocalCallLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.log = options.log;
  }

  admit(request: LimitRequest): Promise<Admission> {
    if (!hasLimits(request)) return Promise.resolve(UNLIMITED);
    const { key } = request;
    const problem = requestProblem(request);
    if (problem !== undefined || this.state === 'closed') {
      if (problem !== undefined) this.log?.error({ key }, `call limit refused: ${problem}`);
      return Promise.resolve({ admitted: false, limit: 'unavailable', key });
    }
    const decision = decideLimits({
      current: this.values.get(key),
      now: this.now(),
      workerId: LOCAL_WORKER,
      held: this.slots.get(key) ?? 0,
      // Only this process writes the value, and `held` overrides its own share: no lease can lapse.
      leaseMs: Number.MAX_SAFE_INTEGER,
      requests: [request],
    });
    this.values.set(key, decision.value);
    this.setHeld(key, decision.held);
    const [verdict] = decision.verdicts;
    if (verdict === undefined || !verdict.admitted) return Promise.resolve({ admitted: false, limit: verdict?.limit ?? 'unavailable', key });
    if (!verdict.slot) return Promise.resolve(UNLIMITED);
    return Promise.resolve(this.holds.grant(key, () => {
      if (this.state !== 'closed') this.setHeld(key, (this.slots.get(key) ?? 0) - 1);
    }));
  }

  adopt(hold: LimitHold): LimitHold {
    if (hold.id === 0 || this.state === 'closed') return UNLIMITED_HOLD;
    this.setHeld(hold.key, (this.slots.get(hold.key) ?? 0) + 1);
    return this.holds.adopted(hold.key, () => {
      if (this.state !== 'closed') this.setHeld(hold.key, (this.slots.get(hold.key) ?? 0) - 1);
    });
  }

  release(hold: LimitHold): void {
    this.holds.release(hold);
  }

  held(): ReadonlyMap<string, number> {
    return new Map(this.slots);
  }

  close(): Promise<void> {
    this.state = 'closed';
    this.slots.clear();
    this.holds.clear();
    return Promise.resolve();
  }

  private setHeld(key: string, held: number): void {
    if (held > 0) this.slots.set(key, held);
    else this.slots.delete(key);
  }
}
