import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { Subjects } from '@switchboard/wire';
import { AdminErrors, type CallDetail, type CallSummary, type ConfigSnapshot, type WorkerStats } from './admin-protocol.js';
import type { AdminRequest } from './admin-requests.js';
import { findLiveWorkers, type LiveWorkers, type WorkerIdentity } from './live-workers.js';

/** An admin request that was answered with an error, or not answered (`unavailable`). */
export class AdminCallError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'AdminCallError';
  }
}

export interface AdminClientOptions {
  /** How long discovery gathers when no transport node's directory says which workers to expect (`findLiveWorkers`). */
  discoveryWaitMs?: number;
}

/**
 * The operator's side of the admin API (the CLI, tests): finds the workers by services
 * discovery (`$SRV.PING.switchboard-worker`), ended early by the workers' heartbeats
 * (`findLiveWorkers`), and asks each the way it must be asked — one worker for a call it
 * holds, every worker for a listing.
 */
export class AdminClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 3_000,
    private readonly options: AdminClientOptions = {},
  ) {}

  /** The live workers and how they were found; no worker at all is an empty list. */
  liveWorkers(): Promise<LiveWorkers> {
    const { discoveryWaitMs } = this.options;
    return findLiveWorkers(this.nc, discoveryWaitMs === undefined ? { timeoutMs: this.timeoutMs } : { timeoutMs: this.timeoutMs, discoveryWaitMs });
  }

  /** The live workers (those answering discovery); none at all is `unavailable`. */
  async workers(): Promise<WorkerIdentity[]> {
    let live: LiveWorkers;
    try {
      live = await this.liveWorkers();
    } catch (error) {
      throw new AdminCallError(AdminErrors.unavailable, `service discovery failed: ${(error as Error).message}`);
    }
    if (live.workers.length === 0) throw new AdminCallError(AdminErrors.unavailable, 'no worker answered service discovery');
    return live.workers;
  }

  stats(worker: string): Promise<WorkerStats> {
    return this.ask(Subjects.adminWorker(worker, 'stats'), {});
  }

  async allStats(): Promise<WorkerStats[]> {
    const workers = await this.workers();
    return Promise.all(workers.map((w) => this.stats(w.id)));
  }

  drain(worker: string, mode?: 'handover' | 'slow'): Promise<{ state: string }> {
    return this.ask(Subjects.adminWorker(worker, 'drain'), mode === undefined ? {} : { mode });
  }

  /** Calls of every worker (or of `worker`), filtered. */
  async listCalls(filter: AdminRequest<'calls.list'> = {}, worker?: string): Promise<CallSummary[]> {
    const ids = worker !== undefined ? [worker] : (await this.workers()).map((w) => w.id);
    const lists = await Promise.all(ids.map((id) => this.ask<{ calls: CallSummary[] }>(Subjects.adminWorker(id, 'calls.list'), filter)));
    return lists.flatMap((l) => l.calls).sort((a, b) => a.startedAt - b.startedAt);
  }

  /** The call with this id, from whichever worker holds it; 404 when none does. */
  async showCall(id: string): Promise<CallDetail> {
    return (await this.onOwner(id, 'calls.show', { id })) as CallDetail;
  }

  hangup(id: string): Promise<{ id: string; worker: string }> {
    return this.onOwner(id, 'calls.hangup', { id }) as Promise<{ id: string; worker: string }>;
  }

  transfer(id: string, target: string): Promise<{ id: string; transfer: string; kind: string }> {
    return this.onOwner(id, 'calls.transfer', { id, target }) as Promise<{ id: string; transfer: string; kind: string }>;
  }

  getConfig(): Promise<ConfigSnapshot> {
    return this.ask(Subjects.adminConfig('get'), {});
  }

  setConfig(trunking: unknown, revision?: number): Promise<ConfigSnapshot> {
    return this.ask(Subjects.adminConfig('set'), revision === undefined ? { trunking } : { trunking, revision });
  }

  /** Asks every worker; the one holding the call answers, the others say 404. */
  private async onOwner<E extends 'calls.show' | 'calls.hangup' | 'calls.transfer'>(id: string, endpoint: E, request: AdminRequest<E>): Promise<unknown> {
    const workers = await this.workers();
    const answers = await Promise.allSettled(workers.map((w) => this.ask(Subjects.adminWorker(w.id, endpoint), request)));
    for (const a of answers) if (a.status === 'fulfilled') return a.value;
    const other = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected' && !(a.reason instanceof AdminCallError && a.reason.code === AdminErrors.notFound));
    if (other !== undefined) throw other.reason;
    throw new AdminCallError(AdminErrors.notFound, `no call ${id} on any of ${workers.length} worker(s)`);
  }

  /** One request; an error answer (services error headers) becomes an AdminCallError. */
  async ask<T>(subject: string, request: unknown): Promise<T> {
    let reply: Msg;
    try {
      reply = await this.nc.request(subject, JSON.stringify(request), { timeout: this.timeoutMs });
    } catch (error) {
      throw new AdminCallError(AdminErrors.unavailable, `no answer on ${subject}: ${(error as Error).message}`);
    }
    const code = reply.headers?.get('Nats-Service-Error-Code');
    if (code !== undefined && code !== '') {
      throw new AdminCallError(Number(code), reply.headers?.get('Nats-Service-Error') ?? 'error');
    }
    try {
      return JSON.parse(reply.string()) as T;
    } catch {
      throw new AdminCallError(AdminErrors.internal, `${subject} answered with something that is not JSON`);
    }
  }
}
