// SlotRegistry against a real nats-server: claims are disjoint, takeover and handover are
// compare-and-set (one winner), epochs only grow, verify() reads the bucket itself, and a lost
// bucket comes back with each owner's slots.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { pino } from 'pino';
import { SlotRegistry, type SlotGain } from './slot-registry.js';
import { slotKey } from './slots-bucket.js';
import { decodeSlotOwner } from './slot-value.js';

let server: NatsServerHandle;
const connections: NatsConnection[] = [];
const registries: SlotRegistry[] = [];
const log = pino({ level: 'silent' });
let bucketNo = 0;

async function connection(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  connections.push(nc);
  return nc;
}

async function registry(workerId: string, bucket: string): Promise<SlotRegistry> {
  const r = await SlotRegistry.open(await connection(), { bucket, replicas: 1, workerId, log });
  registries.push(r);
  return r;
}

/** The owner as an operator reads it. */
async function stored(bucket: string, slot: number): Promise<{ worker: string; epoch: number } | undefined> {
  const nc = await connect({ servers: server.url });
  try {
    // a direct get, as the registry's own reads: nats.js's `open` reads through STREAM.MSG.GET otherwise (see kv-call-limiter-heal.test.ts)
    const entry = await (await new Kvm(jetstream(nc, { timeout: 1_000 })).open(bucket, { allow_direct: true })).get(slotKey(slot));
    return entry === null || entry.operation !== 'PUT' ? undefined : decodeSlotOwner(entry.value);
  } finally {
    await nc.close();
  }
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, withinMs = 3_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  assert.fail(`not within ${withinMs} ms: ${what}`);
}

before(async () => {
  server = await startNatsServer();
});

after(async () => {
  for (const r of registries) await r.close();
  for (const nc of connections) await nc.close().catch(() => {});
  await server.stop();
});

describe('SlotRegistry', () => {
  test('workers claim disjoint free slots, and each sees the others\' in its table', async () => {
    const bucket = `slots-${++bucketNo}`;
    const [a, b] = [await registry('w1', bucket), await registry('w2', bucket)];
    const [wonA, wonB] = await Promise.all([a.claimFree(20), b.claimFree(20)]);
    assert.equal(wonA.length, 20);
    assert.equal(wonB.length, 20);
    assert.equal(wonA.filter((s) => wonB.includes(s)).length, 0, 'no slot claimed twice');
    for (const s of wonA) assert.deepEqual(await stored(bucket, s), { worker: 'w1', epoch: 1 });
    await eventually(() => wonA.every((s) => b.table.ownerOf(s) === 'w1') && wonB.every((s) => a.table.ownerOf(s) === 'w2'), 'tables agree');
    assert.deepEqual(a.owned().map(([s]) => s).sort((x, y) => x - y), [...wonA].sort((x, y) => x - y));
    assert.ok(a.owned().every(([, epoch]) => epoch === 1));
  });

  test('a takeover raced by two workers has one winner, at the next epoch; the loser and the old owner hear of it', async () => {
    const bucket = `slots-${++bucketNo}`;
    const dead = await registry('w1', bucket);
    const [slot] = await dead.claimFree(1);
    assert.ok(slot !== undefined);
    const [b, c] = [await registry('w2', bucket), await registry('w3', bucket)];
    await eventually(() => b.table.ownerOf(slot) === 'w1' && c.table.ownerOf(slot) === 'w1', 'the claim seen');
    const gained: SlotGain[] = [];
    b.onGained((g) => gained.push(g));
    c.onGained((g) => gained.push(g));
    const lost: number[] = [];
    dead.onLost((s) => lost.push(s));
    const results = await Promise.all([b.takeOver(slot), c.takeOver(slot)]);
    assert.deepEqual(results.filter(Boolean).length, 1, `one winner: ${results}`);
    const winner = results[0] === true ? 'w2' : 'w3';
    assert.deepEqual(await stored(bucket, slot), { worker: winner, epoch: 2 });
    assert.deepEqual(gained, [{ slot, epoch: 2, fresh: false }]);
    await eventually(() => lost.includes(slot), 'the old owner sees it lost');
    assert.equal(dead.ownsSlot(slot), false);
  });

  test('a fresh claim is reported fresh (nothing to adopt); a handover is not, and the receiver hears of it through its watch', async () => {
    const bucket = `slots-${++bucketNo}`;
    const a = await registry('w1', bucket);
    const b = await registry('w2', bucket);
    const gainedA: SlotGain[] = [];
    const gainedB: SlotGain[] = [];
    a.onGained((g) => gainedA.push(g));
    b.onGained((g) => gainedB.push(g));
    const [slot] = await a.claimFree(1);
    assert.ok(slot !== undefined);
    assert.deepEqual(gainedA, [{ slot, epoch: 1, fresh: true }]);
    await eventually(() => b.table.ownerOf(slot) === 'w1', 'b sees the claim');
    assert.equal(await a.handOver(slot, 'w2'), true);
    assert.equal(a.ownsSlot(slot), false);
    await eventually(() => gainedB.length === 1, 'b gains it');
    assert.deepEqual(gainedB, [{ slot, epoch: 2, fresh: false }]);
    assert.deepEqual(b.owned(), [[slot, 2]]);
    assert.equal(await a.handOver(slot, 'w1'), false, 'not a\'s to give any more');
  });

  test('a release leaves the key with no worker and a higher epoch; a later claim takes it at the epoch after', async () => {
    const bucket = `slots-${++bucketNo}`;
    const a = await registry('w1', bucket);
    const [slot] = await a.claimFree(1);
    assert.ok(slot !== undefined);
    assert.equal(await a.release(slot), true);
    assert.deepEqual(await stored(bucket, slot), { worker: '', epoch: 2 });
    assert.deepEqual(a.owned(), []);
    const b = await registry('w2', bucket);
    let got: number[] = [];
    for (let i = 0; i < 50 && !got.includes(slot); i++) got = got.concat(await b.claimFree(100));
    assert.ok(got.includes(slot), 'the released slot is free again');
    assert.deepEqual(await stored(bucket, slot), { worker: 'w2', epoch: 3 });
  });

  test('verify() reads the bucket itself: a slot written behind the worker\'s back is reported lost', async () => {
    const bucket = `slots-${++bucketNo}`;
    const a = await registry('w1', bucket);
    const won = await a.claimFree(3);
    const victim = won[0] as number;
    // another worker's takeover, written straight to the bucket
    const nc = await connection();
    const kv = await new Kvm(nc).open(bucket);
    const entry = await kv.get(slotKey(victim));
    await kv.update(slotKey(victim), new TextEncoder().encode(JSON.stringify({ worker: 'w9', epoch: 2 })), entry?.revision ?? 0);
    const still = await a.verify();
    assert.deepEqual([...still.keys()].sort((x, y) => x - y), won.slice(1).sort((x, y) => x - y));
    assert.equal(a.ownsSlot(victim), false);
  });

  test('a lost bucket is recreated and each owner writes its slots back at their epochs', async () => {
    const bucket = `slots-${++bucketNo}`;
    const a = await registry('w1', bucket);
    const won = await a.claimFree(2);
    const jsm = await jetstreamManager(await connection());
    await jsm.streams.delete(`KV_${bucket}`);
    await eventually(async () => {
      try {
        return (await stored(bucket, won[0] as number))?.worker === 'w1' && (await stored(bucket, won[1] as number))?.worker === 'w1';
      } catch {
        return false;
      }
    }, 'slots written back', 8_000);
    assert.deepEqual(await a.verify(), new Map(a.owned()));
  });

  test('verify() right after the bucket was lost (before any heal ran) binds it again first: every slot confirmed, not a read timing out', async () => {
    const bucket = `slots-${++bucketNo}`;
    const a = await registry('w1', bucket);
    const won = await a.claimFree(4);
    await (await jetstreamManager(await connection())).streams.delete(`KV_${bucket}`);
    // what a worker does when its heartbeat is confirmed after a reconnect to an empty store
    const still = await a.verify();
    assert.deepEqual([...still.keys()].sort((x, y) => x - y), [...won].sort((x, y) => x - y));
    for (const slot of won) assert.equal((await stored(bucket, slot))?.worker, 'w1', `slot ${slot} written back`);
  });
});
