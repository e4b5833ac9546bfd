/** Named event counters of a worker. */
export class Counters {
  private readonly values = new Map<string, number>();
  add(name: string, n = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + n);
  }
  get(name: string): number {
    return this.values.get(name) ?? 0;
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.values);
  }

  private readonly histogramTable = new Map<string, Histogram>();

  /** Records one value (ms) in the histogram `name`. */
  observe(name: string, value: number): void {
    let h = this.histogramTable.get(name);
    if (h === undefined) this.histogramTable.set(name, (h = new Histogram()));
    h.observe(value);
  }

  histograms(): Record<string, HistogramSnapshot> {
    const out: Record<string, HistogramSnapshot> = {};
    for (const [name, h] of this.histogramTable) out[name] = h.snapshot();
    return out;
  }
}

/** Upper bounds (ms) of the histogram buckets: wide enough for post-dial delay, fine enough for signalling. */
export const HISTOGRAM_BOUNDS_MS = [5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000] as const;

export interface HistogramSnapshot {
  count: number;
  sum: number;
  /** Count per bucket: `le` is the bucket's upper bound (ms), `Infinity` for the last. */
  buckets: { le: number; count: number }[];
  /** Upper bound of the bucket holding the 50th / 95th / 99th percentile. */
  p50: number;
  p95: number;
  p99: number;
}

/** A fixed-bucket histogram: constant memory whatever the traffic. */
export class Histogram {
  private readonly counts = new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
  private count = 0;
  private sum = 0;

  observe(value: number): void {
    let i = 0;
    while (i < HISTOGRAM_BOUNDS_MS.length && value > (HISTOGRAM_BOUNDS_MS[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    this.sum += value;
  }

  snapshot(): HistogramSnapshot {
    const bound = (i: number) => HISTOGRAM_BOUNDS_MS[i] ?? Infinity;
    const quantile = (q: number) => {
      let seen = 0;
      for (let i = 0; i < this.counts.length; i++) {
        seen += this.counts[i] ?? 0;
        if (seen >= q * this.count) return bound(i);
      }
      return Infinity;
    };
    return {
      count: this.count, sum: this.sum,
      buckets: this.counts.map((count, i) => ({ le: bound(i), count })),
      p50: this.count === 0 ? 0 : quantile(0.5), p95: this.count === 0 ? 0 : quantile(0.95), p99: this.count === 0 ? 0 : quantile(0.99),
    };
  }
}
