// openKvBucket against a real nats-server: a bucket made anew loses no write to its making, one
// worker makes it, its revisions start above every earlier one, and a bucket left hidden by a
// maker that stopped is finished by the next opener.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { hiddenSubject, kvStreamName, openKvBucket, type KvBucketSettings } from './kv-bucket.js';

describe('openKvBucket', () => {
  let server: NatsServerHandle;
  const connections: NatsConnection[] = [];
  let n = 0;
  /** A bucket of its own for each test. */
  const settings = (more: Partial<KvBucketSettings> = {}): KvBucketSettings => ({ bucket: `b${++n}`, replicas: 1, purpose: 'a test bucket', ...more });

  async function connection(): Promise<NatsConnection> {
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    return nc;
  }

  const client = async (): Promise<JetStreamClient> => jetstream(await connection(), { timeout: 1_000 });
  const manager = async () => jetstreamManager(await connection());

  /** The bucket's stream as a maker leaves it between making it hidden and revealing it. */
  async function makerStoppedBeforeRevealing(bucket: string): Promise<void> {
    await (await manager()).streams.add({
      name: kvStreamName(bucket), subjects: [hiddenSubject(bucket)], retention: RetentionPolicy.Limits, storage: StorageType.File,
      max_msgs_per_subject: 1, allow_direct: true, allow_rollup_hdrs: true,
    });
  }

  before(async () => {
    server = await startNatsServer();
  });

  after(async () => {
    for (const nc of connections) await nc.close();
    await server?.stop();
  });

  test('a bucket made on an empty server: its revisions start above any earlier bucket\'s, it takes writes, a second open binds it', async () => {
    const s = settings();
    const before = Date.now() * 1000;
    const made = await openKvBucket(await client(), s);
    assert.equal(made.created, true);
    const revision = await made.kv.put('k', 'v1');
    assert.ok(revision > before, `revision ${revision} above ${before}`);
    const bound = await openKvBucket(await client(), s);
    assert.equal(bound.created, false);
    assert.equal((await bound.kv.get('k'))?.string(), 'v1');
    const { config } = await (await manager()).streams.info(kvStreamName(s.bucket));
    assert.deepEqual(config.subjects, [`$KV.${s.bucket}.>`]);
    assert.equal(config.storage, StorageType.File);
    assert.equal(config.max_msgs_per_subject, 1);
    assert.equal(config.allow_direct, true);
  });

  test('workers opening a missing bucket at once: exactly one makes it, all bind the same one', async () => {
    const s = settings();
    const opened = await Promise.all(Array.from({ length: 5 }, async () => openKvBucket(await client(), s)));
    assert.equal(opened.filter((o) => o.created).length, 1);
    await opened[0]!.kv.put('k', 'one');
    for (const o of opened) assert.equal((await o.kv.get('k'))?.string(), 'one');
  });

  test('no write is lost to the making: writes through a handle of the lost bucket, racing workers that make it again', async () => {
    const s = settings();
    const jsm = await manager();
    const stale: KV = (await openKvBucket(await client(), s)).kv;
    for (let round = 0; round < 30; round++) {
      await jsm.streams.delete(kvStreamName(s.bucket));
      // what a worker that has not noticed the loss writes meanwhile: every write that succeeds must stay
      const written = new Map<string, string>();
      let opening = true;
      const writer = (async () => {
        for (let i = 0; opening || i % 20 !== 0; i++) {
          const key = `r${round}.k${i}`;
          try {
            await stale.put(key, `v${i}`);
            written.set(key, `v${i}`);
          } catch {
            // no bucket yet, or being made: as a worker's write fails before its heal
          }
        }
      })();
      const opens = await Promise.all(Array.from({ length: 3 }, async () => openKvBucket(await client(), s))).finally(() => (opening = false));
      await writer;
      assert.equal(opens.filter((o) => o.created).length, 1, 'one maker');
      const kv = opens[0]!.kv;
      for (const [key, value] of written) assert.equal((await kv.get(key))?.string(), value, `round ${round}: ${key}, written after the bucket was made, is still there`);
      assert.ok(written.size > 0, 'writes went through once the bucket was there');
    }
  });

  test('a bucket being made takes no write until it is revealed, and an opener waits for it', async () => {
    const s = settings();
    const js = await client();
    const jsm = await manager();
    await makerStoppedBeforeRevealing(s.bucket);
    const early = await new Kvm(js).open(s.bucket);
    await assert.rejects(early.put('k', 'lost'), 'a write to a hidden bucket fails');
    let openedAt = 0;
    const opening = openKvBucket(await client(), { ...s, hiddenForAtMostMs: 60_000 }).then((o) => ((openedAt = Date.now()), o));
    await sleep(200);
    assert.equal(openedAt, 0, 'the opener waits while the maker is within its time');
    const revealedAt = Date.now();
    await jsm.streams.update(kvStreamName(s.bucket), { subjects: [`$KV.${s.bucket}.>`] });
    const opened = await opening;
    assert.ok(openedAt >= revealedAt, 'bound once revealed');
    assert.equal(opened.created, false);
    await opened.kv.put('k', 'kept');
    assert.equal((await early.get('k'))?.string(), 'kept');
  });

  test('a bucket left hidden by a maker that stopped is finished by the next opener: revealed, revisions moved up', async () => {
    const s = settings({ hiddenForAtMostMs: 300 });
    await makerStoppedBeforeRevealing(s.bucket);
    const before = Date.now() * 1000;
    const opened = await openKvBucket(await client(), s);
    assert.equal(opened.created, false);
    assert.ok((await opened.kv.put('k', 'v')) > before, 'revisions above any earlier bucket\'s');
  });
});
