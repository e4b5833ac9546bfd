// Finding the live workers (@switchboard/admin's findLiveWorkers, which the CLI's listings and the
// AdminClient share) against a real nats-server, on which fakes play a transport node (its stats
// with the directory it built from heartbeats) and workers (services discovery and calls.show).
// The discovery wait is made a minute long: a find that ends without it used the heartbeats.
// Tested here, not in @switchboard/admin, which has no nats-server helper (testkit) to test with.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { headers, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { AdminCallError, AdminClient, AdminErrors, directoryOf, findLiveWorkers, type LiveWorkers } from '@switchboard/admin';
import { encodeMap, Subjects, WORKER_SERVICE } from '@switchboard/wire';

const LONG_WAIT_MS = 60_000;

/** What the CLI prints of a find: the ids, and how the find ended. */
const idsOf = (live: LiveWorkers) => ({ ids: live.workers.map((w) => w.id), via: live.via });

describe('findLiveWorkers: discovery ended by the heartbeats, or gathering for its whole wait', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let fakes: NatsConnection;
  let subs: Subscription[] = [];

  /** Workers answering discovery as the workers' service does (metadata `worker`). */
  const workers = (...ids: string[]) => {
    for (const id of ids) {
      subs.push(fakes.subscribe(`$SRV.PING.${WORKER_SERVICE}`, {
        callback: (_err, msg) => void msg.respond(JSON.stringify({ type: 'io.nats.micro.v1.ping_response', name: WORKER_SERVICE, id: `instance-${id}`, version: '0.1.0', metadata: { worker: id } })),
      }));
    }
  };
  /** A transport node whose directory holds `ids`, up for `uptimeMs`. */
  const transport = (ids: string[], uptimeMs = 60_000) => {
    subs.push(fakes.subscribe(Subjects.transportStatsAll, {
      callback: (_err, msg) => void msg.respond(encodeMap({ nodeId: 't1', uptimeMs, workers: ids.map((workerId) => ({ workerId, state: 'active', calls: 0 })), nats: { connected: true } })),
    }));
  };

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    fakes = await connect({ servers: nats.url });
  });

  after(async () => {
    await fakes?.close();
    await nc?.close();
    await nats?.stop();
  });

  const reset = async () => {
    for (const s of subs) s.unsubscribe();
    subs = [];
    await fakes.flush();
  };

  it('ends as soon as every worker the transport heard has answered, without the discovery wait', { timeout: 20_000 }, async () => {
    await reset();
    workers('w2', 'w1');
    transport(['w1', 'w2']);
    await fakes.flush();
    const startedAt = Date.now();
    const live = await findLiveWorkers(nc, { timeoutMs: LONG_WAIT_MS, discoveryWaitMs: LONG_WAIT_MS });
    assert.deepEqual(live, {
      workers: [{ id: 'w1', version: '0.1.0', instance: 'instance-w1' }, { id: 'w2', version: '0.1.0', instance: 'instance-w2' }], via: 'heartbeats',
    });
    assert.ok(Date.now() - startedAt < LONG_WAIT_MS / 2, 'the discovery wait was not taken');
  });

  it('a worker the transport still lists but that does not answer: discovery gathers for its whole wait and leaves it out', async () => {
    await reset();
    workers('w1');
    transport(['w1', 'w2']);
    await fakes.flush();
    assert.deepEqual(idsOf(await findLiveWorkers(nc, { timeoutMs: 5_000, discoveryWaitMs: 300 })), { ids: ['w1'], via: 'discovery' });
  });

  it('no transport node answering: discovery alone', async () => {
    await reset();
    workers('w1', 'w2');
    await fakes.flush();
    assert.deepEqual(idsOf(await findLiveWorkers(nc, { timeoutMs: 5_000, discoveryWaitMs: 300 })), { ids: ['w1', 'w2'], via: 'discovery' });
  });

  it('a transport node too young to have heard every heartbeat is not trusted', async () => {
    await reset();
    workers('w1', 'w2');
    transport(['w1'], 500);
    await fakes.flush();
    assert.deepEqual(idsOf(await findLiveWorkers(nc, { timeoutMs: 5_000, discoveryWaitMs: 300 })), { ids: ['w1', 'w2'], via: 'discovery' });
  });

  it('no worker at all: an empty list at once (NATS has no responders), not an error', { timeout: 20_000 }, async () => {
    await reset();
    assert.deepEqual(idsOf(await findLiveWorkers(nc, { timeoutMs: LONG_WAIT_MS, discoveryWaitMs: LONG_WAIT_MS })), { ids: [], via: 'discovery' });
  });

  // calls show | hangup | transfer: the AdminClient finds the call's worker through the same find
  it('AdminClient: the call is found on the workers the heartbeats named, without the discovery wait', { timeout: 20_000 }, async () => {
    await reset();
    workers('w1', 'w2');
    transport(['w1', 'w2']);
    const call = { id: '00000000000000c2', worker: 'w2' };
    for (const id of ['w1', 'w2']) {
      subs.push(fakes.subscribe(Subjects.adminWorker(id, 'calls.show'), {
        callback: (_err, msg) => {
          if (id === call.worker) return void msg.respond(JSON.stringify(call));
          const h = headers();
          h.set('Nats-Service-Error-Code', String(AdminErrors.notFound));
          h.set('Nats-Service-Error', 'no such call');
          msg.respond('', { headers: h });
        },
      }));
    }
    await fakes.flush();
    const client = new AdminClient(nc, LONG_WAIT_MS, { discoveryWaitMs: LONG_WAIT_MS });
    assert.equal((await client.liveWorkers()).via, 'heartbeats');
    assert.deepEqual(await client.showCall(call.id), call);
  });

  it('AdminClient: no worker at all is unavailable, at once', { timeout: 20_000 }, async () => {
    await reset();
    const client = new AdminClient(nc, LONG_WAIT_MS, { discoveryWaitMs: LONG_WAIT_MS });
    await assert.rejects(client.showCall('00000000000000c2'), (e) => e instanceof AdminCallError && e.code === AdminErrors.unavailable);
  });
});

describe('directoryOf: the transport directory, when it can name every live worker', () => {
  it('the ids of a settled, connected node', () => {
    assert.deepEqual(directoryOf({ uptimeMs: 5_000, workers: [{ workerId: 'w1' }, { workerId: 'w2' }], nats: { connected: true } }), new Set(['w1', 'w2']));
  });

  it('nothing from a young node, one cut off from NATS, an empty directory or a malformed answer', () => {
    assert.equal(directoryOf({ uptimeMs: 1_000, workers: [{ workerId: 'w1' }] }), undefined);
    assert.equal(directoryOf({ uptimeMs: 5_000, workers: [{ workerId: 'w1' }], nats: { connected: false } }), undefined);
    assert.equal(directoryOf({ uptimeMs: 5_000, workers: [] }), undefined);
    assert.equal(directoryOf('stats'), undefined);
    assert.equal(directoryOf({ uptimeMs: 5_000 }), undefined);
  });
});
