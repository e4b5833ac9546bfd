// KvCallLimiter losing its bucket or its server, against a real nats-server: the bucket comes
// back with exactly the slots the workers hold, and admissions work again without a restart.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '@switchboard/testkit';
import { pino } from 'pino';
import type { Admission } from './call-limiter.js';
import { KvCallLimiter, type KvCallLimiterOptions } from './kv-call-limiter.js';
import { kvStreamName } from './limits-bucket.js';
import { decodeLimitValue, type LimitValue } from './limit-value.js';
import { eventually, LimitersOnNats, sharesIn } from './testing/limiters-on-nats.js';

let nats: LimitersOnNats;
const connection = (url?: string) => nats.connection(url);
const limiter = (workerId: string, options: Partial<KvCallLimiterOptions>, nc?: NatsConnection) => nats.limiter(workerId, options, nc);

/**
 * Reads with direct gets, as the workers' own bucket handles do: nats.js's `open` otherwise
 * reads through STREAM.MSG.GET, and nats-server 2.9.10 can crash on one (a nil message in
 * jsMsgGetRequest) sent while a worker is making the bucket again after an empty-store restart.
 * A direct get of a stream not there yet is not refused but unanswered: a timeout of 1 s, not 5.
 */
const DIRECT = { allow_direct: true };
const reader = (nc: NatsConnection) => new Kvm(jetstream(nc, { timeout: 1_000 }));

/** The key's revision as an operator reads it; 0 while the bucket or key is missing. */
async function revision(bucket: string, key: string): Promise<number> {
  const nc = await connect({ servers: nats.server.url });
  try {
    return (await (await reader(nc).open(bucket, DIRECT)).get(key))?.revision ?? 0;
  } catch {
    return 0;
  } finally {
    await nc.close();
  }
}

/** The value as an operator reads it, on a connection of its own; undefined while the bucket or key is missing. */
async function stored(bucket: string, key: string, url = nats.server.url): Promise<LimitValue | undefined> {
  const nc = await connect({ servers: url });
  try {
    const entry = await (await reader(nc).open(bucket, DIRECT)).get(key);
    return entry === null || entry.operation !== 'PUT' ? undefined : decodeLimitValue(entry.value);
  } catch {
    return undefined;
  } finally {
    await nc.close();
  }
}

/** Asks until a call is admitted (each refusal is `unavailable`, never a limit), within `withinMs`. */
async function admittedAgain(on: KvCallLimiter, key: string, maxConcurrent: number, withinMs: number): Promise<Admission> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const admission = await on.admit({ key, maxConcurrent });
    if (admission.admitted) return admission;
    assert.equal(admission.limit, 'unavailable', 'while the bucket is missing, refusals are for lack of it');
    if (Date.now() > deadline) assert.fail(`no admission within ${withinMs} ms`);
    await sleep(50);
  }
}

async function holdSlots(on: KvCallLimiter, key: string, maxConcurrent: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.equal((await on.admit({ key, maxConcurrent })).admitted, true);
}

before(async () => {
  // connections reconnect for as long as it takes: the tests restart the server under them
  nats = await LimitersOnNats.start({ connection: { maxReconnectAttempts: -1 }, limiter: { timeoutMs: 500 } });
});

after(() => nats.stop());


describe('KvCallLimiter heals its bucket', () => {
  test('the bucket is made with file storage, history 1 and the configured replicas', async () => {
    await limiter('storage-a', { bucket: 'heal-storage', replicas: 1 });
    const status = await (await new Kvm(await connection()).open('heal-storage')).status();
    assert.equal(status.history, 1);
    assert.equal(status.streamInfo.config.storage, 'file');
    assert.equal(status.streamInfo.config.num_replicas, 1);
    await assert.rejects(limiter('storage-b', { bucket: 'heal-storage', replicas: 6 }), RangeError);
  });

  test('deleted under a worker holding 3 slots: recreated with exactly those 3, admissions work again', async () => {
    const bucket = 'heal-deleted';
    const key = 'trunk.deleted';
    const a = await limiter('deleted-a', { bucket });
    await holdSlots(a, key, 4, 3);
    const before = await revision(bucket, key);
    await (await jetstreamManager(await connection())).streams.delete(kvStreamName(bucket));

    const fourth = await admittedAgain(a, key, 4, 5_000);
    assert.deepEqual(sharesIn(await stored(bucket, key)), { 'deleted-a': 4 }, 'the 3 held slots and the new one, nothing more');
    // a worker still holding the old bucket's revision can never compare-and-set the new one by chance
    assert.ok((await revision(bucket, key)) > before, 'the new bucket numbers its revisions above the old one\'s');
    assert.deepEqual(await a.admit({ key, maxConcurrent: 4 }), { admitted: false, limit: 'concurrency', key });
    if (fourth.admitted) fourth.release();
    await eventually(async () => sharesIn(await stored(bucket, key))['deleted-a'] === 3, 'the release reaches the new bucket', 2_000);
  });

  test('a second worker that saw no failure writes its share back at its next lease refresh', async () => {
    const bucket = 'heal-two';
    const key = 'trunk.two';
    const a = await limiter('two-a', { bucket, leaseMs: 900 });
    const b = await limiter('two-b', { bucket, leaseMs: 900 });
    await holdSlots(a, key, 5, 2);
    await holdSlots(b, key, 5, 1);
    await (await jetstreamManager(await connection())).streams.delete(kvStreamName(bucket));

    await admittedAgain(a, key, 5, 5_000);
    await eventually(async () => sharesIn(await stored(bucket, key))['two-b'] === 1, "b's share is back", 3_000);
    assert.deepEqual(sharesIn(await stored(bucket, key)), { 'two-a': 3, 'two-b': 1 });
    assert.equal((await b.admit({ key, maxConcurrent: 5 })).admitted, true);
    assert.deepEqual(await b.admit({ key, maxConcurrent: 5 }), { admitted: false, limit: 'concurrency', key });
  });

  test('nats-server back on an empty store: the reconnect alone rebuilds the shares, before any admission or lease refresh', async () => {
    const own = await startNatsServer();
    try {
      const bucket = 'heal-empty';
      const key = 'trunk.empty';
      // the default lease (15 s) refreshes every 5 s: too late for the wait below, so only the reconnect can do it
      const a = await limiter('empty-a', { bucket }, await connection(own.url));
      const b = await limiter('empty-b', { bucket }, await connection(own.url));
      await holdSlots(a, key, 4, 2);
      await holdSlots(b, key, 4, 1);
      await own.restart({ emptyStore: true });

      await eventually(async () => {
        const value = await stored(bucket, key, own.url);
        return value?.w['empty-a']?.c === 2 && value.w['empty-b']?.c === 1;
      }, 'both shares written back into the new bucket', 3_000).catch((err: Error) => {
        // a nats-server that died meanwhile says why (its panic) rather than leaving a bare timeout
        throw new Error(`${err.message}; nats-server ${own.process.running ? 'running' : 'exited'}:\n${own.process.output(30)}`);
      });
      assert.equal((await a.admit({ key, maxConcurrent: 4 })).admitted, true);
      assert.deepEqual(await b.admit({ key, maxConcurrent: 4 }), { admitted: false, limit: 'concurrency', key });
    } finally {
      await own.stop();
    }
  });

  test('while the server is down admissions fail closed and bucket checks back off; on its return (same store) the counts are exact', async () => {
    const own = await startNatsServer();
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) });
    try {
      const bucket = 'heal-down';
      const key = 'trunk.down';
      const a = await limiter('down-a', { bucket, timeoutMs: 200, log }, await connection(own.url));
      await holdSlots(a, key, 3, 2);
      await own.kill();
      const downAt = Date.now();
      while (Date.now() - downAt < 3_000) {
        assert.deepEqual(await a.admit({ key, maxConcurrent: 3 }), { admitted: false, limit: 'unavailable', key });
        await sleep(20);
      }
      // ~100 refusals in those 3 s; the back-off (250 ms doubling to 5 s) allows a handful of checks
      const checks = warnings.filter((msg) => msg.startsWith('call limits bucket not reachable')).length;
      assert.ok(checks >= 1 && checks <= 8, `${checks} bucket checks in 3 s`);

      await own.start();
      await admittedAgain(a, key, 3, 5_000);
      assert.deepEqual(sharesIn(await stored(bucket, key, own.url)), { 'down-a': 3 });
      assert.deepEqual(await a.admit({ key, maxConcurrent: 3 }), { admitted: false, limit: 'concurrency', key });
    } finally {
      await own.stop();
    }
  });
});
