// Cluster-wide limits under load, through real processes (issue 17: "test both under load with 2
// and 3 workers"): a real nats-server, a transport, two workers and then a third, a PBX and a
// carrier as testkit UAs. packages/limits/src/kv-call-limiter-lease.test.ts proves the same bounds
// on limiters alone; here the admissions are the engine's own (INVITE in, 503 or the carrier's
// INVITE out, released at BYE) on the workers the transport picked.
//  - maxConcurrent N, a burst of more calls than N + workers × MAX_SLOT_BLOCK, all held: at least N
//    and at most that bound admitted, some of them without a round trip (leased); the limits bucket
//    holds exactly what the workers hold within a flush; with k hung up, exactly k more admitted;
//    back to 0 in the bucket when all are gone.
//  - maxCps R, calls offered at 3R a second for 3 s: once the bucket's saved tokens are spent (the
//    first second) no second lets more than R + workers × R/20 reach the carrier.
// Every refusal is the limit's own 503.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { FLUSH_MS, MAX_SLOT_BLOCK, TOKEN_BLOCK_DIVISOR } from '@switchboard/limits';
import { SipUri, type SipRequest, type SipResponse } from '@switchboard/sip';
import { busiestWindow, startNatsServer, UserAgent, type Call, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { decodeMap, Subjects } from '@switchboard/wire';
import { natsClient, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { trunkCount } from '../support/limit-count.js';

const PBX_HOST = '127.0.0.10';
const CARRIER_HOST = '127.0.0.21';
const BUCKET = 'limits-under-load';
/** Above 2 × MAX_SLOT_BLOCK × (workers + 1): room for the leased regime with 2 and with 3 workers. */
const N = 300;
const R = 60;
/** Numbers the carrier holds (the concurrency trunk) and hangs up at once (the rate trunk). */
const HELD_PREFIX = '+1415';
const SHORT_PREFIX = '+1646';

function trunking(carrierPort: number) {
  const plan = { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' };
  const trunk = (id: string, restrictions: Record<string, number>) => ({
    id, domain: `${id}.trunks.example`, acl: [`${PBX_HOST}/32`], numberPlan: plan,
    routing: [{ prefix: '+1', carriers: ['carrier'] }], callerId: { allowed: ['+1212'] }, restrictions,
  });
  return {
    carriers: [{ id: 'carrier', addresses: [{ host: CARRIER_HOST, port: carrierPort }] }],
    trunks: [trunk('concurrent', { maxConcurrent: N }), trunk('rate', { maxCps: R })],
  };
}

interface WorkerLimits {
  limitsHeld: Record<string, number>;
  limits: { admittedLocally: number; decidedByWrite: number };
}

describe('cluster-wide limits under load, with 2 and with 3 workers', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let t1: RunningTransport;
  let configFile: string;
  const workers = new Map<string, ManagedProcess>();
  let pbx: UserAgent;
  let carrier: UserAgent;
  let edge: { host: string; port: number };
  /** When each INVITE of the rate trunk reached the carrier (ms, this process's clock). */
  let shortInvitesAt: number[] = [];

  before(async () => {
    nats = await startNatsServer();
    nc = await natsClient(nats.url);
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100', keepHistory: false, timeoutMs: 20_000 });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100', keepHistory: false, timeoutMs: 20_000 });
    carrier.onInvite((invite: SipRequest) => {
      if (invite.uri instanceof SipUri && invite.uri.user?.startsWith(SHORT_PREFIX) === true) {
        shortInvitesAt.push(performance.now());
        return { ring: 0, hangupAfter: 20 };
      }
      return { ring: 0 };
    });
    // one PBX is one source: the edge's default rate per source would ban it before the limits decide
    const transportYaml = '  edge: { perSourceRate: 50000, burst: 100000 }';
    configFile = writeCluster(nats.url, trunking(carrier.port), { limitsBucket: BUCKET, snapshots: false, transportYaml });
    t1 = await startTransport('t1', nats.url, { transportYaml });
    for (const id of ['w1', 'w2']) workers.set(id, await startWorker(id, configFile, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
  });

  after(async () => {
    await Promise.all([...workers.values()].map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    for (const ua of [pbx, carrier]) await ua?.stop();
    await nc?.close();
    await nats?.stop();
  });

  async function workerLimits(): Promise<WorkerLimits[]> {
    return Promise.all([...workers.keys()].map(async (id) => {
      const reply = await nc.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 5_000 });
      return decodeMap(reply.data) as unknown as WorkerLimits;
    }));
  }
  const heldByWorkers = async (key: string) => (await workerLimits()).reduce((sum, w) => sum + (w.limitsHeld[key] ?? 0), 0);
  const admittedLocally = async () => (await workerLimits()).reduce((sum, w) => sum + w.limits.admittedLocally, 0);

  let numbers = 0;
  /** `count` calls to `trunk`, about `perSecond` a second; each call's final response. */
  async function offer(trunk: string, prefix: string, count: number, perSecond: number): Promise<{ calls: Call[]; outcomes: SipResponse[] }> {
    const calls: Call[] = [];
    const perTick = Math.max(1, Math.round(perSecond / 50));
    while (calls.length < count) {
      for (let i = 0; i < perTick && calls.length < count; i++) {
        calls.push(pbx.call({ to: `sip:${prefix}${String(5_000_000 + ++numbers).padStart(7, '0')}@${trunk}.trunks.example`, via: edge }));
      }
      await sleep(20);
    }
    return { calls, outcomes: await Promise.all(calls.map((c) => c.outcome)) };
  }

  function assertRefusals(outcomes: SipResponse[], reason: string): void {
    const other = outcomes.filter((r) => r.status !== 200 && !(r.status === 503 && r.reason === reason));
    assert.deepEqual(other.map((r) => `${r.status} ${r.reason}`), [], `only 200 or 503 ${reason}`);
  }

  for (const workerCount of [2, 3]) {
    test(`maxConcurrent ${N} on ${workerCount} workers: within N + workers × ${MAX_SLOT_BLOCK}, exact in the bucket within a flush, then exactly the free slots`, async () => {
      if (workerCount === 3) {
        workers.set('w3', await startWorker('w3', configFile, nats.url));
        await workersKnown(t1, ['w3']);
      }
      const key = 'trunk.concurrent';
      const bound = N + workerCount * MAX_SLOT_BLOCK;
      const localBefore = await admittedLocally();
      const { calls, outcomes } = await offer('concurrent', HELD_PREFIX, bound + 30, 200);
      assertRefusals(outcomes, 'Concurrent Call Limit');
      const held = calls.filter((_, i) => outcomes[i]?.status === 200);
      await Promise.all(held.map((c) => c.established));
      console.log(`# ${workerCount} workers: ${held.length} of ${calls.length} admitted for N = ${N} (bound ${bound}), ${(await admittedLocally()) - localBefore} without a round trip`);
      assert.ok(held.length >= N && held.length <= bound, `${held.length} admitted, N ${N}, bound ${bound}`);
      // far from the limit the workers admitted from their leased view
      assert.ok((await admittedLocally()) > localBefore, 'some calls admitted without a round trip');

      await sleep(2 * FLUSH_MS);
      assert.equal(await heldByWorkers(key), held.length, 'the workers hold the calls up');
      assert.equal(await trunkCount(nc, BUCKET, 'concurrent'), held.length, 'the bucket holds exactly what the workers hold');
      // down to N - 5 held, then 10 more: exactly the 5 free slots
      const release = held.splice(0, held.length - (N - 5));
      await Promise.all(release.map((c) => c.hangup()));
      await sleep(2 * FLUSH_MS);
      const again = await offer('concurrent', HELD_PREFIX, 10, 50);
      assertRefusals(again.outcomes, 'Concurrent Call Limit');
      const admitted = again.calls.filter((_, i) => again.outcomes[i]?.status === 200);
      assert.equal(admitted.length, 5, 'exactly the 5 free slots');
      held.push(...admitted);
      await Promise.all(admitted.map((c) => c.established));
      await Promise.all(held.map((c) => c.hangup()));
      await eventually(async () => (await trunkCount(nc, BUCKET, 'concurrent')) === 0, 'the bucket back to 0 calls', 10_000);
    });

    test(`maxCps ${R} on ${workerCount} workers: calls offered at ${3 * R}/s, no second after the first above R + workers × R/${TOKEN_BLOCK_DIVISOR}`, async () => {
      shortInvitesAt = [];
      const start = performance.now();
      const { outcomes } = await offer('rate', SHORT_PREFIX, 9 * R, 3 * R);
      assertRefusals(outcomes, 'Call Rate Exceeded');
      const answered = outcomes.filter((r) => r.status === 200).length;
      // the first second may spend the bucket's saved tokens (a full bucket: R) on top of its refill
      const worst = busiestWindow(shortInvitesAt.filter((t) => t >= start + 1_000));
      const bound = R + workerCount * Math.floor(R / TOKEN_BLOCK_DIVISOR);
      // an admission decided just before a window reaches the carrier inside it: 5 % of R for that
      const slack = Math.ceil(R * 0.05);
      console.log(`# ${workerCount} workers at ${R}/s: ${answered} of ${outcomes.length} answered, worst second after the first ${worst} INVITEs at the carrier (bound ${bound} + ${slack})`);
      assert.ok(worst <= bound + slack, `worst second ${worst}, bound ${bound} + ${slack}`);
      assert.ok(answered >= 2 * R, `the rate is used: ${answered} answered`);
      assert.equal(shortInvitesAt.length, answered, 'every call admitted reached the carrier once');
    });
  }
});
