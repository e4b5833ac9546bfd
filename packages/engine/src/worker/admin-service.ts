import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/nats-core';
import { AdminErrors, parseAdminRequest, type AdminEndpoint, type AdminRequest, type CallDetail, type CallSummary, type ConfigSnapshot, type WorkerStats } from '@switchboard/admin';
import { CONFIG_SERVICE, Subjects, WORKER_SERVICE } from '@switchboard/wire';
import type { Logger } from 'pino';

/** An answer the endpoint chose to give as an error (404 for an unknown call, 409 for a stale write…). */
export class AdminRefusal extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'AdminRefusal';
  }
}

/** What the admin endpoints do on a worker (the WorkerNode). */
export interface AdminTarget {
  readonly id: string;
  readonly version: string;
  listCalls(filter: AdminRequest<'calls.list'>): { calls: CallSummary[]; truncated: boolean };
  showCall(id: string): CallDetail | undefined;
  hangupCall(id: string): boolean;
  transferCall(id: string, target: string): Promise<{ transfer: string; kind: string }>;
  startDrain(mode?: 'handover' | 'slow'): void;
  adminStats(): WorkerStats;
  getConfig(): Promise<ConfigSnapshot>;
  setConfig(trunking: unknown, revision?: number): Promise<ConfigSnapshot>;
}

type Handler<E extends AdminEndpoint> = (request: AdminRequest<E>) => unknown;

/**
 * The worker's operator endpoints, as two NATS services: `switchboard-worker` (one instance
 * per worker, on `sb.admin.worker.<id>.…`) and `switchboard-config` (every worker in one queue
 * group, on `sb.admin.config.…`). Every request is validated; a bad one gets a 400 naming the
 * field; an endpoint's failure a 500 — every request is answered.
 */
export class AdminService {
  private services: Service[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly target: AdminTarget,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const t = this.target;
    const svcm = new Svcm(this.nc);
    const worker = await svcm.add({
      name: WORKER_SERVICE, version: t.version, description: `Switchboard worker ${t.id}: its calls, drain, stats`,
      metadata: { worker: t.id }, queue: '',
    });
    this.endpoint(worker, 'calls.list', Subjects.adminWorker(t.id, 'calls.list'), (r) => t.listCalls(r));
    this.endpoint(worker, 'calls.show', Subjects.adminWorker(t.id, 'calls.show'), (r) => t.showCall(r.id) ?? notFound(r.id, t.id));
    this.endpoint(worker, 'calls.hangup', Subjects.adminWorker(t.id, 'calls.hangup'), (r) => (t.hangupCall(r.id) ? { id: r.id, worker: t.id } : notFound(r.id, t.id)));
    this.endpoint(worker, 'calls.transfer', Subjects.adminWorker(t.id, 'calls.transfer'), async (r) => ({ id: r.id, worker: t.id, ...(await t.transferCall(r.id, r.target)) }));
    this.endpoint(worker, 'drain', Subjects.adminWorker(t.id, 'drain'), (r) => {
      t.startDrain(r.mode);
      return { worker: t.id, state: 'draining' };
    });
    this.endpoint(worker, 'stats', Subjects.adminWorker(t.id, 'stats'), () => t.adminStats());
    const config = await svcm.add({ name: CONFIG_SERVICE, version: t.version, description: 'Switchboard live trunking configuration', metadata: { worker: t.id }, queue: 'config' });
    this.endpoint(config, 'config.get', Subjects.adminConfig('get'), () => t.getConfig());
    this.endpoint(config, 'config.set', Subjects.adminConfig('set'), (r) => t.setConfig(r.trunking, r.revision));
    this.services = [worker, config];
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.services.map((s) => s.stop()));
    this.services = [];
  }

  private endpoint<E extends AdminEndpoint>(service: Service, endpoint: E, subject: string, handle: Handler<E>): void {
    service.addEndpoint(endpoint.replace('.', '-'), {
      subject,
      handler: (err, msg) => {
        if (err === null) void this.answer(endpoint, msg, handle);
      },
    });
  }

  private async answer<E extends AdminEndpoint>(endpoint: E, msg: ServiceMsg, handle: Handler<E>): Promise<void> {
    const parsed = parseAdminRequest(endpoint, msg.data);
    if (!parsed.ok) {
      msg.respondError(parsed.error.code, parsed.error.message, JSON.stringify({ error: parsed.error }));
      return;
    }
    try {
      const result = await handle(parsed.request);
      msg.respond(JSON.stringify(result));
    } catch (error) {
      const refusal = error instanceof AdminRefusal ? error : undefined;
      if (refusal === undefined) this.log.error({ err: error, endpoint }, 'admin endpoint failed');
      const code = refusal?.code ?? AdminErrors.internal;
      const message = refusal?.message ?? `${endpoint} failed: ${(error as Error).message}`;
      try {
        msg.respondError(code, message, JSON.stringify({ error: { code, message } }));
      } catch (closed) {
        // the connection is closing (the worker stops): nobody is left to tell
        this.log.warn({ err: closed, endpoint }, 'admin answer not sent');
      }
    }
  }
}

function notFound(id: string, worker: string): never {
  throw new AdminRefusal(AdminErrors.notFound, `no call ${id} on worker ${worker}`);
}
