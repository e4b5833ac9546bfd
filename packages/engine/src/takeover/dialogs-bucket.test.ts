// The sb-dialogs bucket on a real nats-server: compare-and-set, prefix listing, and a bucket an
// outage lost made again by the next write.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { pino } from 'pino';
import { RevisionConflict } from './dialog-store.js';
import { JetStreamDialogStore } from './dialogs-bucket.js';

let server: NatsServerHandle;
let nc: NatsConnection;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});

after(async () => {
  await nc.close();
  await server.stop();
});

describe('JetStreamDialogStore on a real nats-server', () => {
  test('file storage, compare-and-set on put and delete, keys by slot', async () => {
    const store = new JetStreamDialogStore(jetstream(nc), { bucket: 'sb-dialogs-t1', replicas: 1 }, pino({ level: 'silent' }));
    await store.ready();
    const status = await (await new Kvm(nc).open('sb-dialogs-t1')).status();
    assert.equal(status.streamInfo.config.storage, 'file');
    const first = await store.put('7.c1', new Uint8Array([1]), undefined);
    await store.put('70.c2', new Uint8Array([2]), undefined);
    await assert.rejects(store.put('7.c1', new Uint8Array([3]), undefined), RevisionConflict);
    const second = await store.put('7.c1', new Uint8Array([4]), first);
    await assert.rejects(store.put('7.c1', new Uint8Array([5]), first), RevisionConflict, 'a zombie\'s stale revision fails');
    assert.deepEqual(await store.keys('7'), ['7.c1']);
    assert.deepEqual([...((await store.get('7.c1'))?.value ?? [])], [4]);
    await assert.rejects(store.delete('7.c1', first), RevisionConflict);
    await store.delete('7.c1', second);
    assert.equal(await store.get('7.c1'), undefined);
    assert.deepEqual(await store.keys('7'), []);
  });

  test('a bucket deleted under it is made again, and the next write lands', async () => {
    const store = new JetStreamDialogStore(jetstream(nc), { bucket: 'sb-dialogs-t2', replicas: 1 }, pino({ level: 'silent' }));
    await store.ready();
    await (await jetstreamManager(nc)).streams.delete('KV_sb-dialogs-t2');
    await assert.rejects(store.put('1.c1', new Uint8Array([1]), undefined));
    let written = false;
    for (let i = 0; i < 50 && !written; i++) {
      await new Promise((r) => setTimeout(r, 20));
      written = await store.put('1.c1', new Uint8Array([1]), undefined).then(() => true, () => false);
    }
    assert.ok(written);
  });
});
