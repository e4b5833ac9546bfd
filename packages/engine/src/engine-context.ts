import type { Logger } from 'pino';
import type { SipUri } from '@switchboard/sip';
import type { TrunkPolicy } from '@switchboard/trunking';
import type { SipHop } from './locate/sip-locator.js';
import type { CallBridge } from './transfer/call-bridge.js';
import type { CdrMessage } from './cdr/cdr-actor.js';
import type { CallActor } from './call/call-actor.js';
import type { RoutingIds } from '@switchboard/wire';
import type { ActorKernel, ActorRef } from './kernel/actor-kernel.js';
import type { CallLimiter } from './limits/mod.js';
import type { SipLink } from './sip-link.js';
import type { TimerSettings } from './transactions/timers.js';
import type { CallSpan, CallTracer } from './tracing/call-tracer.js';

export interface SessionTimerSettings {
  /** Smallest Session-Expires accepted (RFC 4028 §5: 90 s at least); below it → 422. */
  minSE: number;
}

/** What every actor of a worker shares. */
export interface EngineContext {
  workerId: string;
  ids: RoutingIds;
  link: SipLink;
  kernel: ActorKernel;
  timers: TimerSettings;
  sessionTimers: SessionTimerSettings;
  /** Who may call, and where calls go (issue 6): replaced as a whole when the configuration changes. */
  policy: TrunkPolicy;
  /** Cluster-wide concurrency and calls-per-second limits of trunks and carriers. */
  limiter: CallLimiter;
  /** Resolves a host name of a carrier or customer URI to an address. */
  resolve: (host: string) => Promise<string>;
  /** RFC 3263 location of SIP destinations on other domains (transfers), overrides first. */
  locator: { locate(uri: SipUri): Promise<SipHop[]> };
  /** How long after a successful transfer the engine waits for the transferor's BYE before sending its own (RFC 5589 §6). */
  transferorByeMs: number;
  /** Attended transfer: calls reaching calls, on this worker or another (NATS). */
  bridge: CallBridge;
  /** How long a relaying call waits for its master to attach (JOIN_ATTACH_MS). */
  joinAttachMs: number;
  /** The worker's CDR actor: every call tells it what happened, it emits the records. */
  cdr: ActorRef<CdrMessage>;
  /** Counters the stats subject reports (refusals by cause, failovers, limit refusals). */
  counters: Counters;
  /** How long a placed leg may ring (provisional, no final) before the engine cancels it. */
  noAnswerMs: number;
  log: Logger;
  /** Index of INVITE server transactions by key, for retransmissions and CANCEL (§9.2, §17.2.3). */
  invites: Map<string, string>;
  /** Calls in progress by call id (what heartbeats report, drain waits for and stats break down by state). */
  calls: Map<string, CallActor>;
  /** Call and transfer spans (issue 9): absent when tracing is off, and in unit tests. */
  tracer?: CallTracer;
  /** On a traced call's or transfer's own context (`tracedContext`): its span. */
  trace?: CallSpan;
}

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
