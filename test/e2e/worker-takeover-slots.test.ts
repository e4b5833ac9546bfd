// Worker takeover, the slot half (issue 16; docs/architecture.md "Worker takeover"): real
// nats-server, a transport and three workers. Workers claim disjoint slots; a killed worker's
// slots go to the survivors (spread), the transport routes to them; a paused worker resumed
// after losing its slots sends nothing for them; a handover drain moves a worker's slots and it
// exits in seconds. No call snapshots here (NO_ADOPTION): an adopted slot has no calls, so a
// request for a dead worker's dialog is answered 481 by the adopter instead of going unanswered.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SipResponse } from '@switchboard/sip';
import { startNatsServer, UserAgent, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import {
  natsClient, oneCarrierTrunking, startTransport, startWorker, transportStats, workersKnown, writeCluster, type RunningTransport,
} from '../support/cluster.js';
import { ownerOfTag, slotOfTag, slotOwner } from '../support/slot-owner.js';

const SLOTS_PER_WORKER = 64;

async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`not within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('worker takeover: slots', { timeout: 120_000 }, () => {
  let nats: NatsServerHandle;
  let t1: RunningTransport;
  const workers = new Map<string, ManagedProcess>();
  let carrier: UserAgent;
  let pbx: UserAgent;
  let file: string;

  before(async () => {
    nats = await startNatsServer();
    carrier = await UserAgent.start({ name: 'carrier' });
    pbx = await UserAgent.start({ name: 'pbx', user: '+12125550100' });
    t1 = await startTransport('t1', nats.url);
    file = writeCluster(nats.url, oneCarrierTrunking(carrier.port), { drainMode: 'handover', snapshots: false });
    // slots alone: no call snapshots, so an adopted slot has no calls (calls taken over: worker-takeover.test.ts)
    for (const id of ['w1', 'w2', 'w3']) workers.set(id, await startWorker(id, file, nats.url));
    await workersKnown(t1, ['w1', 'w2', 'w3']);
  });

  after(async () => {
    for (const w of workers.values()) {
      w.child.kill('SIGCONT');
      await w.stop('SIGINT');
    }
    await t1?.proc.stop();
    await pbx?.stop();
    await carrier?.stop();
    await nats?.stop();
  });

  /** Slots per worker as the transport routes them (from heartbeats). */
  async function routed(): Promise<Map<string, number>> {
    const nc = await natsClient(nats.url);
    try {
      const stats = await transportStats(nc, 't1');
      return new Map((stats.workers as { workerId: string; slots: number }[]).map((w) => [w.workerId, w.slots]));
    } finally {
      await nc.close();
    }
  }

  /** An established call whose slot `worker` owns. */
  async function callOn(worker: string) {
    for (let i = 0; i < 40; i++) {
      carrier.onNextInvite({ ring: 0 });
      const call = pbx.call({ to: `sip:+1415555${String(1000 + i)}@trunk.example`, via: { host: '127.0.0.1', port: t1.udpPort } });
      const far = await carrier.nextCall();
      const ok = await call.answered;
      await call.established;
      if ((await ownerOfTag(nats.url, ok.headers.to?.tag)) === worker) return { call, far, tag: ok.headers.to?.tag ?? '' };
      await call.hangup();
      await far.ended;
    }
    assert.fail(`no call landed on ${worker}`);
  }

  test('each worker claims its own slots: disjoint, announced to the transport', async () => {
    const slots = await eventually(async () => {
      const r = await routed();
      return ['w1', 'w2', 'w3'].every((w) => r.get(w) === SLOTS_PER_WORKER) ? r : undefined;
    }, 'every worker routed with its slots', 10_000);
    // the transport's table gives each slot one owner: 3 × 64 distinct slots
    assert.equal([...slots.values()].reduce((a, b) => a + b, 0), 3 * SLOTS_PER_WORKER);
  });

  test('kill -9: the dead worker\'s slots go to the survivors (both), and its dialog is answered by the new owner (481: nothing adopted)', async () => {
    const { call, tag } = await callOn('w3');
    const slot = slotOfTag(tag);
    const killedAt = Date.now();
    await workers.get('w3')?.stop('SIGKILL');
    workers.delete('w3');
    const owner = await eventually(async () => {
      const o = await slotOwner(nats.url, slot);
      return o.worker === 'w1' || o.worker === 'w2' ? o : undefined;
    }, 'the slot taken over in the bucket', 8_000);
    assert.equal(owner.epoch, 2, 'the takeover raised the epoch');
    const r = await eventually(async () => {
      const m = await routed();
      return (m.get('w1') ?? 0) + (m.get('w2') ?? 0) === 3 * SLOTS_PER_WORKER && !m.has('w3') ? m : undefined;
    }, 'every slot of w3 routed to a survivor', 10_000);
    assert.ok((r.get('w1') ?? 0) > SLOTS_PER_WORKER && (r.get('w2') ?? 0) > SLOTS_PER_WORKER, `spread over both: ${JSON.stringify([...r])}`);
    const answer: SipResponse = await call.request('INFO');
    assert.equal(answer.status, 481, 'the adopter answers: the dialog is in no snapshot');
    assert.ok(Date.now() - killedAt < 15_000, 'answered well within the peer\'s transaction timeout');
  });

  test('SIGSTOP past the timeout, then SIGCONT: the resumed worker drops its lost slots and sends nothing for them', async (t) => {
    const { call, tag } = await callOn('w2');
    const slot = slotOfTag(tag);
    const w2 = workers.get('w2') as ManagedProcess;
    w2.child.kill('SIGSTOP');
    // the first copy reaches w2's subscription (paused); the retransmissions go to w1 once it owns the slot
    const info = call.request('INFO');
    await eventually(async () => ((await slotOwner(nats.url, slot)).worker === 'w1' ? true : undefined), 'w1 took the slot', 10_000);
    assert.equal((await info).status, 481);
    // every write to the slot's key from here on (KV puts are published on the key's subject)
    const watcher = await natsClient(nats.url);
    t.after(() => watcher.close().catch(() => undefined)); // an assertion failing before the close below must not leave it open
    const writes: { worker: string; epoch: number }[] = [];
    watcher.subscribe(`$KV.sb-slots.slot.${slot}`, { callback: (_err, m) => {
      writes.push(m.data.length === 0 ? { worker: '', epoch: 0 } : m.json()); // an empty body: the key deleted (free)
    } });
    await watcher.flush();
    w2.child.kill('SIGCONT');
    // it verified its slots before sending anything: the INFO it got is passed to the slot's owner, or its answer discarded
    const unfenced = await w2.waitFor((l) => l.json?.event === 'unfenced', 10_000);
    assert.equal(unfenced.json?.slots, 0, 'w1 took every slot of w2');
    await new Promise((r) => setTimeout(r, 1_000));
    const answers = call.log.filter((e) => e.dir === 'in' && 'status' in e.message && (e.message as SipResponse).headers.cseq?.method === 'INFO');
    assert.deepEqual([...new Set(answers.map((e) => (e.message as SipResponse).status))], [481], 'no 200 from the zombie');
    await watcher.close();
    // w1 may give the slot back as spare (it holds no adopted call) and any worker, w2 too, may then
    // claim it afresh; what must never happen is w2 writing it back over w1's ownership
    let owner = 'w1';
    for (const w of writes) {
      assert.ok(w.worker !== 'w2' || owner === '', `the zombie did not win its slot back: ${JSON.stringify(writes)}`);
      owner = w.worker;
    }
  });

  test('drain by handover: the worker\'s slots move to the others and it exits in seconds', async () => {
    workers.set('w4', await startWorker('w4', file, nats.url));
    await workersKnown(t1, ['w4']);
    const w4 = workers.get('w4') as ManagedProcess;
    await eventually(async () => ((await routed()).get('w4') === SLOTS_PER_WORKER ? true : undefined), 'w4 routed', 10_000);
    const t0 = Date.now();
    w4.child.kill('SIGTERM');
    const handed = await w4.waitFor((l) => l.json?.event === 'handed-over', 10_000);
    assert.equal(handed.json?.slots, SLOTS_PER_WORKER, 'every slot handed over');
    assert.equal(handed.json?.kept, 0);
    assert.equal(await w4.exited, 0);
    workers.delete('w4');
    assert.ok(Date.now() - t0 < 10_000, `exited in ${Date.now() - t0} ms`);
    // the transport routes none of them to w4 any more
    const nc = await natsClient(nats.url);
    try {
      await eventually(async () => {
        const stats = await transportStats(nc, 't1');
        const w4Slots = (stats.workers as { workerId: string; slots: number }[]).find((w) => w.workerId === 'w4')?.slots ?? 0;
        return w4Slots === 0 ? true : undefined;
      }, 'w4\'s slots routed to the others', 10_000);
    } finally {
      await nc.close();
    }
  });
});
