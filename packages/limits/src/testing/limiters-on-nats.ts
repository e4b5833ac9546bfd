// Test support for the KvCallLimiter tests: limiters on connections of their own to one real
// nats-server stand for the workers of a cluster; everything opened is closed by stop().
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { KvCallLimiter, type KvCallLimiterOptions } from '../kv-call-limiter.js';
import type { LimitValue } from '../limit-value.js';

export class LimitersOnNats {
  private readonly connections: NatsConnection[] = [];
  private readonly limiters: KvCallLimiter[] = [];

  private constructor(
    readonly server: NatsServerHandle,
    private readonly defaults: { connection?: Partial<ConnectionOptions>; limiter?: Partial<KvCallLimiterOptions> },
  ) {}

  static async start(defaults: { connection?: Partial<ConnectionOptions>; limiter?: Partial<KvCallLimiterOptions> } = {}): Promise<LimitersOnNats> {
    return new LimitersOnNats(await startNatsServer(), defaults);
  }

  /** A connection that reconnects quickly (tests restart servers under it), closed by stop(). */
  async connection(url = this.server.url): Promise<NatsConnection> {
    const nc = await connect({ servers: url, reconnectTimeWait: 50, ...this.defaults.connection });
    this.connections.push(nc);
    return nc;
  }

  /** A limiter as worker `workerId`, on a connection of its own unless given one. */
  async limiter(workerId: string, options: Partial<KvCallLimiterOptions> = {}, nc?: NatsConnection): Promise<KvCallLimiter> {
    const opened = await KvCallLimiter.open(nc ?? (await this.connection()), { workerId, ...this.defaults.limiter, ...options });
    this.limiters.push(opened);
    return opened;
  }

  async stop(): Promise<void> {
    for (const opened of this.limiters) opened.abandon();
    for (const nc of this.connections) await nc.close().catch(() => {});
    await this.server.stop();
  }
}

/** Polls `check` until it holds, failing after `withinMs`: a limiter's writes after a release are asynchronous. */
export async function eventually(check: () => Promise<boolean>, what: string, withinMs = 2_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) assert.fail(`not within ${withinMs} ms: ${what}`);
    await sleep(10);
  }
}

/** The slots a stored value says every worker holds together. */
export const heldIn = (value: LimitValue | undefined): number => Object.values(value?.w ?? {}).reduce((sum, share) => sum + share.c, 0);

/** Each worker's count in a stored value. */
export const sharesIn = (value: LimitValue | undefined): Record<string, number> =>
  Object.fromEntries(Object.entries(value?.w ?? {}).map(([worker, share]) => [worker, share.c]));
