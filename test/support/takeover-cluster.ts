// The cluster of the worker-takeover e2e tests (test/e2e/worker-takeover*.test.ts): a real
// nats-server, transport t1 and workers started as processes, trunk acme with a PBX on UDP, a
// PBX on TCP and a carrier (testkit UAs on loopback addresses of the test's own), and what the
// tests read back from it: a worker's stats, the trunk's cluster-wide count, nothing left.
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/nats-core';
import { startNatsServer, UserAgent, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { decodeHeartbeat, decodeMap, Subjects } from '@switchboard/wire';
import { eventually } from './eventually.js';
import { trunkCount } from './limit-count.js';
import { acmeTrunking, natsClient, startTransport, startWorker, workersKnown, writeCluster, type ClusterOptions, type RunningTransport } from './cluster.js';

export interface TakeoverClusterOptions {
  /** Loopback addresses of the UDP PBX, the TCP PBX and the carrier (distinct per test file). */
  hosts: { pbx: string; pbxTcp: string; carrier: string };
  workers: readonly string[];
  /** Worker settings; `limitsBucket` and `leaseMs` are also what the trunk's count is read with. */
  config: ClusterOptions & { limitsBucket: string; leaseMs: number };
}

export class TakeoverCluster {
  readonly workers = new Map<string, ManagedProcess>();

  private constructor(
    readonly nats: NatsServerHandle,
    readonly t1: RunningTransport,
    /** The workers' configuration file. */
    readonly file: string,
    /** The trunking of `file`, for a test that starts a worker with other settings. */
    readonly trunking: unknown,
    readonly pbx: UserAgent,
    readonly pbxTcp: UserAgent,
    readonly carrier: UserAgent,
    /** The tests' own NATS connection (stats, the limits bucket, records). */
    readonly check: NatsConnection,
    private readonly o: TakeoverClusterOptions,
  ) {}

  static async start(o: TakeoverClusterOptions): Promise<TakeoverCluster> {
    const nats = await startNatsServer();
    const pbx = await UserAgent.start({ name: 'pbx', host: o.hosts.pbx, user: '+12125550100', timeoutMs: 40_000 });
    const pbxTcp = await UserAgent.start({ name: 'pbx-tcp', host: o.hosts.pbxTcp, user: '+12125550101', transport: 'tcp', timeoutMs: 40_000 });
    const carrier = await UserAgent.start({ name: 'carrier', host: o.hosts.carrier, user: '+13105550100', timeoutMs: 40_000 });
    const trunking = acmeTrunking({ pbx: { host: o.hosts.pbx, port: pbx.port }, carrier: { host: o.hosts.carrier, port: carrier.port } }) as { trunks: Record<string, unknown>[] };
    const [acme] = trunking.trunks;
    trunking.trunks = [{ ...acme, acl: [`${o.hosts.pbx}/32`, `${o.hosts.pbxTcp}/32`], restrictions: { maxConcurrent: 500, maxCps: 200 } }];
    const t1 = await startTransport('t1', nats.url);
    const file = writeCluster(nats.url, trunking, o.config);
    const cluster = new TakeoverCluster(nats, t1, file, trunking, pbx, pbxTcp, carrier, await natsClient(nats.url), o);
    for (const id of o.workers) cluster.workers.set(id, await startWorker(id, file, nats.url));
    await workersKnown(t1, o.workers);
    return cluster;
  }

  async stop(): Promise<void> {
    await this.check.close();
    await Promise.all([...this.workers.values()].map((w) => w.stop('SIGINT')));
    await this.t1.proc.stop();
    for (const ua of [this.pbx, this.pbxTcp, this.carrier]) await ua.stop();
    await this.nats.stop();
  }

  /** Starts `id` again (after a kill or a drain; `config`: another configuration file) so the next test has every worker. */
  async restart(id: string, config = this.file): Promise<void> {
    await this.workers.get(id)?.stop('SIGKILL');
    this.workers.set(id, await startWorker(id, config, this.nats.url));
    await workersKnown(this.t1, [id]);
  }

  /** A configuration file like the workers' with other settings. */
  configWith(settings: ClusterOptions): string {
    return writeCluster(this.nats.url, this.trunking, { ...this.o.config, ...settings });
  }

  async stats(id: string): Promise<{ calls: number; counters: Record<string, number> }> {
    const reply = await this.check.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 2_000 });
    return decodeMap(reply.data) as { calls: number; counters: Record<string, number> };
  }

  async counter(id: string, name: string): Promise<number> {
    return (await this.stats(id)).counters[name] ?? 0;
  }

  /**
   * Resolves once a worker other than `dead` announces `slot` in its heartbeat: the survivor owns
   * and has adopted it, and the transports (which hear the same heartbeat) route it there. Call it
   * before the kill, so no heartbeat is missed.
   */
  announced(slot: number, dead: string, ms = 20_000): Promise<string> {
    const sub = this.check.subscribe(Subjects.workerHeartbeat);
    const timer = setTimeout(() => sub.unsubscribe(), ms);
    return (async () => {
      try {
        for await (const m of sub) {
          const hb = decodeHeartbeat(m.data);
          if (hb.workerId !== dead && hb.slots.some(([s]) => s === slot)) return hb.workerId;
        }
        assert.fail(`not within ${ms} ms: slot ${slot} of ${dead} announced by a survivor`);
      } finally {
        clearTimeout(timer);
        sub.unsubscribe();
      }
    })();
  }

  /** The concurrent calls counted for trunk acme across the cluster (live leases only). */
  async trunkCount(): Promise<number> {
    return trunkCount(this.check, this.o.config.limitsBucket);
  }

  /** No call left on the live workers, and the trunk's count back to 0 (a dead worker's share once its lease ends). */
  async assertNothingLeft(live: readonly string[]): Promise<void> {
    await eventually(async () => (await Promise.all(live.map(async (id) => (await this.stats(id)).calls))).every((n) => n === 0), `no call left on ${live.join(', ')}`);
    await eventually(async () => (await this.trunkCount()) === 0, 'the trunk\'s concurrency count back to 0', this.o.config.leaseMs + 10_000);
  }
}
