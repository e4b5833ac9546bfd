import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/**
 * Whether a load, sampled again and again, counts as busy: smoothed (each sample weighs half),
 * busy once above `above` and clear again only below `above - HYSTERESIS`, so a load hovering at
 * the line does not flip the decision with every sample. `above` 0: always busy; 1: never.
 */
export class LoadThreshold {
  static readonly HYSTERESIS = 0.1;
  private smoothed = 0;
  private busy: boolean;

  constructor(private readonly above: number) {
    this.busy = above <= 0;
  }

  /** Folds in one sample (0–1); returns whether the load is busy now. */
  update(sample: number): boolean {
    this.smoothed = this.smoothed / 2 + sample / 2;
    if (this.above > 0 && this.above < 1) this.busy = this.smoothed > (this.busy ? this.above - LoadThreshold.HYSTERESIS : this.above);
    return this.busy;
  }

  get isBusy(): boolean {
    return this.busy;
  }

  get load(): number {
    return this.smoothed;
  }
}

/**
 * The edge-worker's process load: the share of time its event loop spent working (Node's event
 * loop utilization) every SAMPLE_MS, through a LoadThreshold. The transport node and the worker
 * share that loop, so this is the room left for new calls in the process.
 */
export class EventLoopLoad {
  static readonly SAMPLE_MS = 250;
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly threshold: LoadThreshold) {
    this.timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      threshold.update(performance.eventLoopUtilization(now, this.last).utilization);
      this.last = now;
    }, EventLoopLoad.SAMPLE_MS);
    this.timer.unref();
  }

  get busy(): boolean {
    return this.threshold.isBusy;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
