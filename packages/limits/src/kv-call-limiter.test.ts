// KvCallLimiter against a real nats-server: several limiters with their own worker ids on one
// bucket stand for the workers of a cluster.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '@switchboard/testkit';
import type { Admission } from './call-limiter.js';
import { DEFAULT_LIMITS_BUCKET, type KvCallLimiterOptions } from './kv-call-limiter.js';
import { decodeLimitValue, type LimitValue } from './limit-value.js';
import { eventually, heldIn, LimitersOnNats } from './testing/limiters-on-nats.js';

let nats: LimitersOnNats;
let bucket: KV;
const connection = (url?: string) => nats.connection(url);
const limiter = (workerId: string, options: Partial<KvCallLimiterOptions> = {}, nc?: NatsConnection) => nats.limiter(workerId, options, nc);

async function stored(key: string): Promise<LimitValue | undefined> {
  const entry = await bucket.get(key);
  return entry === null || entry.operation !== 'PUT' ? undefined : decodeLimitValue(entry.value);
}

const admitted = (admissions: Admission[]) => admissions.filter((a): a is Admission & { admitted: true } => a.admitted);

before(async () => {
  nats = await LimitersOnNats.start();
  // The first limiter creates the default bucket; the tests read it as an operator would.
  await limiter('observer');
  bucket = await new Kvm(await connection()).open(DEFAULT_LIMITS_BUCKET);
});

after(() => nats.stop());

describe('KvCallLimiter on a real nats-server', () => {
  test('creates the bucket (file storage, history 1), and a second worker binds it', async () => {
    await limiter('bucket-a', { bucket: 'sb-limits-fresh' });
    await limiter('bucket-b', { bucket: 'sb-limits-fresh' });
    const status = await (await new Kvm(await connection()).open('sb-limits-fresh')).status();
    assert.equal(status.history, 1);
    assert.equal(status.streamInfo.config.storage, 'file');
  });

  test('maxConcurrent 5: of 20 concurrent admissions across two workers exactly 5 are admitted', async () => {
    const key = 'trunk.concurrent';
    const a = await limiter('conc-a');
    const b = await limiter('conc-b');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).admit({ key, maxConcurrent: 5 })),
    );
    const ok = admitted(results);
    assert.equal(ok.length, 5);
    for (const refused of results.filter((r) => !r.admitted)) assert.deepEqual(refused, { admitted: false, limit: 'concurrency', key });
    assert.equal((a.held().get(key) ?? 0) + (b.held().get(key) ?? 0), 5);
    assert.equal(heldIn(await stored(key)), 5);

    // Released slots can be taken again, by the same worker at once and by the other once written.
    const [first, second] = ok;
    first?.release();
    first?.release(); // idempotent
    second?.release();
    await eventually(async () => heldIn(await stored(key)) === 3, 'the releases reach the KV');
    const again = await Promise.all([a.admit({ key, maxConcurrent: 5 }), b.admit({ key, maxConcurrent: 5 }), b.admit({ key, maxConcurrent: 5 })]);
    assert.equal(admitted(again).length, 2);
    assert.equal(heldIn(await stored(key)), 5);
  });

  test('maxPerSecond 10: of 30 admissions at once across two workers exactly 10; the clock refills', async () => {
    const key = 'carrier.rate';
    let now = 1_800_000_000_000;
    const clock = () => now;
    const a = await limiter('rate-a', { now: clock });
    const b = await limiter('rate-b', { now: clock });
    const burst = () => Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).admit({ key, maxPerSecond: 10 })));

    const first = await burst();
    assert.equal(admitted(first).length, 10);
    for (const refused of first.filter((r) => !r.admitted)) assert.deepEqual(refused, { admitted: false, limit: 'rate', key });
    assert.equal(a.held().size + b.held().size, 0, 'rate-only admissions hold no slot');

    now += 1000;
    assert.equal(admitted(await burst()).length, 10);
    now += 300;
    assert.equal(admitted(await burst()).length, 3);
    assert.deepEqual((await stored(key))?.b, { t: 0, at: now });
  });

  test('concurrency and rate on one key are decided together', async () => {
    const key = 'trunk.both';
    let now = 1_800_000_000_000;
    const a = await limiter('both-a', { now: () => now });
    const b = await limiter('both-b', { now: () => now });
    const request = { key, maxConcurrent: 4, maxPerSecond: 6 };
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).admit(request)));
    assert.equal(admitted(first).length, 4);
    assert.ok(first.every((r) => r.admitted || r.limit === 'concurrency'));
    // The 6 tokens paid for 4 calls only: refused calls take none. 2 are left for 2 freed slots,
    // after which a free slot is refused by the rate.
    admitted(first)[0]?.release();
    admitted(first)[1]?.release();
    await eventually(async () => heldIn(await stored(key)) === 2, 'the releases reach the KV');
    const second = await Promise.all([a.admit(request), a.admit(request)]);
    assert.equal(admitted(second).length, 2);
    admitted(second).forEach((s) => s.release());
    await eventually(async () => heldIn(await stored(key)) === 2, 'the releases reach the KV');
    assert.deepEqual(await b.admit(request), { admitted: false, limit: 'rate', key });
    now += 1000;
    assert.equal((await b.admit(request)).admitted, true);
  });

  test('a burst on one worker is decided by one write', async () => {
    // A bucket of its own: its revision counts every write made to it.
    const a = await limiter('batch-a', { bucket: 'sb-limits-batch' });
    const own = await new Kvm(await connection()).open('sb-limits-batch');
    const key = 'trunk.batched';
    assert.equal((await a.admit({ key, maxConcurrent: 100 })).admitted, true);
    const first = (await own.get(key))?.revision ?? 0;
    const results = await Promise.all(Array.from({ length: 20 }, () => a.admit({ key, maxConcurrent: 100 })));
    assert.equal(admitted(results).length, 20);
    const entry = await own.get(key);
    assert.equal(entry?.revision, first + 1);
    assert.equal(entry && decodeLimitValue(entry.value).w['batch-a']?.c, 21);
  });

  test('the value is the documented JSON', async () => {
    const key = 'trunk.format';
    const now = 1_800_000_000_000;
    const a = await limiter('format-a', { now: () => now, leaseMs: 15_000 });
    assert.equal((await a.admit({ key, maxConcurrent: 3, maxPerSecond: 5 })).admitted, true);
    const entry = await bucket.get(key);
    assert.ok(entry !== null);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(entry.value)), {
      w: { 'format-a': { c: 1, l: now + 15_000 } },
      b: { t: 4, at: now },
    });
  });

  test("a crashed worker's slots stay taken while its lease is refreshed and free themselves after", async () => {
    const key = 'trunk.crash';
    const request = { key, maxConcurrent: 5 };
    const a = await limiter('crash-a', { leaseMs: 600 });
    const b = await limiter('crash-b');
    assert.equal(admitted(await Promise.all([a.admit(request), a.admit(request), a.admit(request)])).length, 3);
    assert.equal(admitted(await Promise.all(Array.from({ length: 5 }, () => b.admit(request)))).length, 2);

    // Well past one lease: A is alive and refreshing, so its 3 slots still count.
    await sleep(1500);
    assert.deepEqual(await b.admit(request), { admitted: false, limit: 'concurrency', key });

    a.abandon();
    assert.deepEqual(await b.admit(request), { admitted: false, limit: 'concurrency', key });
    await sleep(1200);
    const after = await Promise.all(Array.from({ length: 4 }, () => b.admit(request)));
    assert.equal(admitted(after).length, 3);
    assert.equal(b.held().get(key), 5);
    assert.deepEqual(Object.keys((await stored(key))?.w ?? {}), ['crash-b'], "A's lapsed share is pruned");
  });

  test("close() removes this worker's share and stops admitting", async () => {
    const key = 'trunk.close';
    const a = await limiter('close-a');
    const b = await limiter('close-b');
    await Promise.all([a.admit({ key, maxConcurrent: 3 }), a.admit({ key, maxConcurrent: 3 }), b.admit({ key, maxConcurrent: 3 })]);
    assert.equal(heldIn(await stored(key)), 3);
    await a.close();
    assert.deepEqual(Object.keys((await stored(key))?.w ?? {}), ['close-b']);
    assert.equal(a.held().size, 0);
    assert.deepEqual(await a.admit({ key, maxConcurrent: 3 }), { admitted: false, limit: 'unavailable', key });
    assert.equal(admitted(await Promise.all([b.admit({ key, maxConcurrent: 3 }), b.admit({ key, maxConcurrent: 3 })])).length, 2);
  });

  test('requests without limits are admitted and malformed ones refused, neither touching the KV', async () => {
    const a = await limiter('plain-a');
    assert.equal((await a.admit({ key: 'trunk.unlimited' })).admitted, true);
    assert.deepEqual(await a.admit({ key: 'trunk.>', maxConcurrent: 1 }), { admitted: false, limit: 'unavailable', key: 'trunk.>' });
    assert.equal(await bucket.get('trunk.unlimited'), null);
  });

  test('with its nats-server gone, admissions are refused as unavailable instead of hanging', async () => {
    const lonely = await startNatsServer();
    try {
      const nc = await connection(lonely.url);
      const a = await limiter('down-a', { timeoutMs: 300 }, nc);
      const held = await a.admit({ key: 'trunk.down', maxConcurrent: 2 });
      assert.equal(held.admitted, true);
      await lonely.stop();
      const results = await Promise.all([a.admit({ key: 'trunk.down', maxConcurrent: 2 }), a.admit({ key: 'trunk.down', maxPerSecond: 2 })]);
      assert.deepEqual(results, [
        { admitted: false, limit: 'unavailable', key: 'trunk.down' },
        { admitted: false, limit: 'unavailable', key: 'trunk.down' },
      ]);
      await nc.close();
      assert.deepEqual(await a.admit({ key: 'trunk.down', maxConcurrent: 2 }), { admitted: false, limit: 'unavailable', key: 'trunk.down' });
      await a.close(); // bounded by timeoutMs even though nothing can be written
    } finally {
      await lonely.stop();
    }
  });

  test('adopt: a dead worker\'s hold is counted in the adopter\'s share without a limit check, and released once', async () => {
    const key = 'trunk.adopted';
    const dead = await limiter('dead-worker');
    const heir = await limiter('heir-worker');
    const [first] = admitted([await dead.admit({ key, maxConcurrent: 1 })]);
    assert.ok(first);
    const hold = heir.adopt(first.hold);
    assert.deepEqual([...heir.held()], [[key, 1]], 'counted although the limit (1) is reached');
    await eventually(async () => (await stored(key))?.w['heir-worker']?.c === 1, 'the heir\'s share written');
    dead.abandon();
    heir.release(hold);
    heir.release(hold);
    assert.equal(heir.held().size, 0);
    await eventually(async () => ((await stored(key))?.w['heir-worker']?.c ?? 0) === 0, 'the heir\'s share back to 0');
    assert.deepEqual(heir.adopt({ key: '', id: 0 }), { key: '', id: 0 }, 'a hold of nothing stays nothing');
  });
});
