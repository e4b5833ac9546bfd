import type { Admission, CallLimiter, LimitActivity, LimitHold, LimitRequest } from '@switchboard/limits';

/**
 * The worker's call limiter: the cluster-wide one (JetStream KV) needs NATS, so the worker
 * opens it in start(), after its context is made. It is set once, before the worker
 * subscribes to SIP: a call that asked earlier would be a bug, and limits fail closed.
 */
export class WorkerCallLimiter implements CallLimiter {
  private opened: CallLimiter | undefined;

  use(limiter: CallLimiter): void {
    if (this.opened !== undefined) throw new Error('the call limiter is set once');
    this.opened = limiter;
  }

  admit(request: LimitRequest): Promise<Admission> {
    return this.opened?.admit(request) ?? Promise.resolve({ admitted: false, limit: 'unavailable', key: request.key });
  }

  release(hold: LimitHold): void {
    this.opened?.release(hold);
  }

  adopt(hold: LimitHold): LimitHold {
    return this.opened?.adopt(hold) ?? { key: '', id: 0 };
  }

  held(): ReadonlyMap<string, number> {
    return this.opened?.held() ?? new Map();
  }

  activity(): LimitActivity {
    return this.opened?.activity?.() ?? { admittedLocally: 0, decidedByWrite: 0, writes: 0, conflicts: 0 };
  }

  async close(): Promise<void> {
    await this.opened?.close();
  }
}
