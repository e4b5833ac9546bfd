import type { HealthAnswer, HealthRoute } from '@switchboard/health';

/**
 * How a drain lets the worker's calls go: `slow` takes no new calls and waits for the ones up to
 * end (up to worker.drainTimeoutMs); `handover` gives them to other workers (docs/architecture.md "Worker takeover").
 */
export type DrainMode = 'slow' | 'handover';

export const DRAIN_MODES: readonly DrainMode[] = ['slow', 'handover'];

export function isDrainMode(text: string): text is DrainMode {
  return (DRAIN_MODES as readonly string[]).includes(text);
}

export interface DrainableWorker {
  /** Goes draining and resolves when the calls are gone (`slow`, or the drain time is up) or handed over (`handover`). */
  drain(mode: DrainMode): Promise<void>;
  readonly calls: number;
}

/** What a mode runs, or undefined for a mode not built (POST /drain answers 501): the one place a mode plugs in. */
export type DrainPlan = (mode: DrainMode, worker: DrainableWorker) => (() => Promise<void>) | undefined;

export const drainFor: DrainPlan = (mode, worker) => {
  switch (mode) {
    case 'slow':
    case 'handover':
      return () => worker.drain(mode);
  }
};

export interface RunningDrain {
  mode: DrainMode;
  done: Promise<void>;
}

/**
 * The worker's one drain. The first to ask (a preStop's POST /drain, SIGTERM) starts it; whoever
 * asks later waits for that same drain, whatever mode they named: a pod's preStop and the SIGTERM
 * that follows it must not drain twice.
 */
export class WorkerDrain {
  private running: RunningDrain | undefined;

  constructor(
    private readonly worker: DrainableWorker,
    private readonly plan: DrainPlan = drainFor,
  ) {}

  /** The drain under way, started in `mode` if none was; undefined when none was and `mode` is not built. */
  run(mode: DrainMode): RunningDrain | undefined {
    if (this.running !== undefined) return this.running;
    const drain = this.plan(mode, this.worker);
    if (drain === undefined) return undefined;
    this.running = { mode, done: drain() };
    return this.running;
  }
}

/**
 * `POST /drain[?mode=slow|handover]` on the health listener, from this machine only: answers when
 * the drain is over, so a Kubernetes preStop that calls it holds the pod until then.
 */
export function drainRoute(drain: () => WorkerDrain | undefined, calls: () => number): HealthRoute {
  return {
    method: 'POST',
    path: '/drain',
    loopbackOnly: true,
    handle: async (query): Promise<HealthAnswer> => {
      const asked = query.get('mode') ?? 'slow';
      if (!isDrainMode(asked)) return { status: 400, body: `mode: expected ${DRAIN_MODES.join(' or ')}, got ${JSON.stringify(asked)}` };
      const drains = drain();
      if (drains === undefined) return { status: 503, body: 'starting: nothing to drain yet' };
      const running = drains.run(asked);
      if (running === undefined) return { status: 501, body: `the ${asked} drain is not available in this version` };
      await running.done;
      const left = calls();
      return { status: 200, body: left === 0 ? `drained (${running.mode})` : `drain time limit reached (${running.mode}): ${left} calls still up` };
    },
  };
}
