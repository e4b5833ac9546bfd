import type { AdminRequest, CallDetail, CallSummary, ConfigSnapshot, WorkerStats } from '@switchboard/admin';
import type { CdrPublisher } from '@switchboard/cdr';
import type { WorkerState } from '@switchboard/wire';
import type { Logger } from 'pino';
import type { EngineContext } from '../context.js';
import type { ActorKernel, ActorRef } from '../kernel/actor-kernel.js';
import type { OperatorTransferAnswer } from '../protocol/call-messages.js';
import { AdminRefusal, type AdminTarget } from './admin-service.js';
import { ConfigWriteError, type LiveTrunking } from './live-trunking.js';

/** How long an operator's transfer waits for the call to say whether it took it. */
const TRANSFER_ANSWER_MS = 2_000;
/** `calls.list`'s answer when the request names no limit (it must fit max_payload). */
const DEFAULT_LIST_LIMIT = 1_000;
/** Seconds of `calls.started` samples behind calls per second. */
const CALL_SAMPLES = 60;

export interface WorkerAdminParts {
  id: string;
  version: string;
  ctx: EngineContext;
  kernel: ActorKernel;
  cdr: Pick<CdrPublisher, 'pending' | 'published' | 'duplicates'>;
  startedAt: number;
  state: () => WorkerState;
  /** Absent `mode`: the worker's worker.drain.mode. */
  drain: (mode?: 'handover' | 'slow') => void;
  /** The live configuration, once the worker has opened it (start()). */
  live: () => LiveTrunking | undefined;
  log: Logger;
}

/** What the admin endpoints and the stats subject of one worker read and do: its calls, stats and the cluster's trunking. */
export class WorkerAdminTarget implements AdminTarget {
  readonly id: string;
  readonly version: string;
  /** `calls.started` once a second over the last minute, for calls per second. */
  private readonly callSamples: number[] = [];

  constructor(private readonly p: WorkerAdminParts) {
    this.id = p.id;
    this.version = p.version;
  }

  listCalls(filter: AdminRequest<'calls.list'>): { calls: CallSummary[]; truncated: boolean } {
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
    const out: CallSummary[] = [];
    for (const call of this.p.ctx.calls.values()) {
      const summary = call.summary();
      if ((filter.trunk !== undefined && summary.trunk !== filter.trunk) || (filter.state !== undefined && summary.state !== filter.state)) continue;
      if (out.length === limit) return { calls: out, truncated: true };
      out.push(summary);
    }
    return { calls: out, truncated: false };
  }

  showCall(id: string): CallDetail | undefined {
    return this.p.ctx.calls.get(id)?.detail();
  }

  hangupCall(id: string): boolean {
    const call = this.p.ctx.calls.get(id);
    call?.self.tell({ type: 'operator-hangup' });
    return call !== undefined;
  }

  transferCall(id: string, target: string): Promise<{ transfer: string; kind: string }> {
    const call = this.p.ctx.calls.get(id);
    if (call === undefined) return Promise.reject(new AdminRefusal(404, `no call ${id} on worker ${this.id}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new AdminRefusal(503, 'the call did not answer in time')), TRANSFER_ANSWER_MS);
      // the call answers an address: this request's, at the edge where NATS waits for it
      const replyTo: ActorRef<OperatorTransferAnswer> = {
        id: `operator-transfer-${id}`,
        tell: (answer) => {
          clearTimeout(timer);
          if (answer.ok) resolve({ transfer: answer.transfer, kind: answer.kind });
          else reject(new AdminRefusal(422, `transfer refused: ${answer.status} ${answer.reason}`));
        },
      };
      call.self.tell({ type: 'operator-transfer', target, replyTo });
    });
  }

  startDrain(mode?: 'handover' | 'slow'): void {
    if (this.p.state() !== 'draining') this.p.drain(mode);
  }

  adminStats(): WorkerStats {
    const byTrunk: Record<string, number> = {};
    for (const call of this.p.ctx.calls.values()) {
      const trunk = call.summary().trunk;
      if (trunk !== undefined) byTrunk[trunk] = (byTrunk[trunk] ?? 0) + 1;
    }
    const samples = this.callSamples;
    const first = samples[0] ?? 0;
    const last = this.p.ctx.counters.get('calls.started');
    const callsPerSecond = samples.length === 0 ? 0 : (last - first) / samples.length;
    return { ...(this.stats() as unknown as WorkerStats), callsByTrunk: byTrunk, callsPerSecond: Math.round(callsPerSecond * 100) / 100 };
  }

  async getConfig(): Promise<ConfigSnapshot> {
    const live = this.p.live();
    if (live === undefined) throw new AdminRefusal(503, 'the worker is starting');
    const { revision, config } = await live.get();
    return { revision, trunking: config };
  }

  async setConfig(trunking: unknown, revision?: number): Promise<ConfigSnapshot> {
    const live = this.p.live();
    if (live === undefined) throw new AdminRefusal(503, 'the worker is starting');
    try {
      const written = await live.set(trunking, revision);
      this.p.log.info({ event: 'config-written', revision: written.revision }, 'trunking configuration written by an operator');
      return { revision: written.revision, trunking: written.trunking };
    } catch (error) {
      if (error instanceof ConfigWriteError) throw new AdminRefusal(error.kind === 'invalid' ? 400 : 409, error.message);
      throw error;
    }
  }

  /** Once a second (with the heartbeat): the calls started so far, for calls per second. */
  sampleCallsStarted(): void {
    this.callSamples.push(this.p.ctx.counters.get('calls.started'));
    if (this.callSamples.length > CALL_SAMPLES) this.callSamples.shift();
  }

  /** What the stats subject answers. Heap is measured after a collection when the process runs with --expose-gc. */
  stats(): Record<string, unknown> {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const { ctx, cdr } = this.p;
    return {
      workerId: this.id, state: this.p.state(), calls: ctx.calls.size, callsByState: this.callsByState(), actors: this.p.kernel.size, invites: ctx.invites.size, settled: ctx.settled.size,
      counters: ctx.counters.toJSON(), histograms: ctx.counters.histograms(), limitsHeld: Object.fromEntries(ctx.limiter.held()), limits: ctx.limiter.activity?.(),
      cdr: { pending: cdr.pending, published: cdr.published, duplicates: cdr.duplicates },
      heapUsed: process.memoryUsage().heapUsed, gcBeforeHeap: gc !== undefined, uptimeMs: Date.now() - this.p.startedAt, version: this.version,
    };
  }

  private callsByState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const call of this.p.ctx.calls.values()) out[call.state] = (out[call.state] ?? 0) + 1;
    return out;
  }
}
