// The co-located layout (issue 17, step 6): transport node t1 and worker w1 in one process
// (switchboard-edge-worker), worker w2 in its own, a real nats-server, testkit UAs as PBX and
// carrier. The SIP between t1 and w1 is handed over in the process: a NATS subscriber on their
// SIP subjects sees nothing while calls go through. Under faults: nats-server restarted under a
// held call, and the edge-worker killed with SIGKILL (w2 adopts its calls; the process back on
// its ports, they go on, each ends with exactly one record and the trunk's count returns to 0). A busy process gives new calls
// to the other workers too (transport.edgeWorker.spillAboveLoad).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { CdrClient, type CallDetailRecord } from '@switchboard/cdr';
import { startNatsServer, UserAgent, type Call, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { decodeMap, Subjects } from '@switchboard/wire';
import {
  acmeTrunking, callIdLandingOn, callUp, natsClient, startEdgeWorker, startWorker, transportStats, workersKnown, writeCluster, writeConfig, type RunningTransport,
} from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { trunkCount } from '../support/limit-count.js';

const PBX_HOST = '127.0.0.71';
const CARRIER_HOST = '127.0.0.72';

describe('switchboard-edge-worker: a transport node and a worker in one process', () => {
  let nats: NatsServerHandle;
  let edge: RunningTransport;
  let w2: ManagedProcess;
  let pbx: UserAgent;
  let carrier: UserAgent;
  let check: NatsConnection;
  let file: string;
  let serial = 0;

  before(async () => {
    nats = await startNatsServer();
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100', timeoutMs: 40_000 });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100', timeoutMs: 40_000 });
    const trunking = acmeTrunking({ pbx: { host: PBX_HOST, port: pbx.port }, carrier: { host: CARRIER_HOST, port: carrier.port } }) as { trunks: Record<string, unknown>[] };
    trunking.trunks = trunking.trunks.map((t) => ({ ...t, restrictions: { maxConcurrent: 100, maxCps: 50 } }));
    file = writeCluster(nats.url, trunking, { limitsBucket: 'edge-worker', leaseMs: 3_000, drainMode: 'handover' });
    edge = await startEdgeWorker('w1', file, nats.url);
    w2 = await startWorker('w2', file, nats.url);
    await workersKnown(edge, ['w1', 'w2']);
    check = await natsClient(nats.url);
  });

  after(async () => {
    await check?.close();
    await w2?.stop('SIGINT');
    await edge?.proc.stop('SIGINT');
    for (const ua of [pbx, carrier]) await ua?.stop();
    await nats?.stop();
  });

  const dial = () => callUp(pbx, carrier, `sip:+1415555${String(serial++).padStart(4, '0')}@acme.trunks.example`, { host: '127.0.0.1', port: edge.udpPort });
  const callsOn = async (id: string) => (decodeMap((await check.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 2_000 })).data) as { calls: number }).calls;

  /** Counts what crosses NATS on `subjects` until `stop()`. */
  function overNats(...subjects: string[]): { count: () => number; stop: () => void } {
    let n = 0;
    const subs: Subscription[] = subjects.map((s) => check.subscribe(s, { callback: () => { n++; } }));
    return { count: () => n, stop: () => subs.forEach((s) => s.unsubscribe()) };
  }

  test('the co-located worker takes the new calls, and the SIP between the two never crosses NATS', async () => {
    await check.flush();
    const watched = overNats(Subjects.workerInbound('w1'), Subjects.transportOutbound('t1'), Subjects.workerInbound('w2'));
    const before = ((await transportStats(check, 't1')).colocated as { handedOver: number }).handedOver;
    await check.flush();
    for (let i = 0; i < 3; i++) {
      const { call, far } = await dial();
      assert.equal(await callsOn('w1'), 1, 'the call is on the worker of the edge-worker process');
      assert.equal((await call.request('OPTIONS')).status, 200);
      assert.equal((await call.hangup()).status, 200);
      await far.ended;
    }
    await check.flush();
    watched.stop();
    assert.equal(watched.count(), 0, 'no SIP of these calls went over NATS');
    const stats = (await transportStats(check, 't1')).colocated as { workerId: string; handedOver: number };
    assert.equal(stats.workerId, 'w1');
    // each call: INVITE, ACK, OPTIONS, BYE, 3 responses from the carrier in; INVITE, ACK, BYE, 4 responses out
    assert.ok(stats.handedOver - before >= 3 * 12, `SIP handed over in the process: ${stats.handedOver - before}`);
    assert.equal(await callsOn('w2'), 0);
  });

  test('nats-server restarted under a held call: the call goes on, and new calls are answered again', async () => {
    const held = await dial();
    await nats.restart();
    await eventually(async () => {
      const stats = await transportStats(check, 't1').catch(() => undefined);
      return (stats?.workers as { state: string }[] | undefined)?.filter((w) => w.state === 'active').length === 2;
    }, 'both workers active again at t1 after the restart', 20_000);
    const next = await dial();
    assert.equal((await next.call.hangup()).status, 200, 'a call placed after the restart');
    assert.equal((await held.call.request('OPTIONS')).status, 200, 'the held call is answered in its dialog');
    assert.equal((await held.far.hangup()).status, 200, 'the carrier hangs up the held call');
    await held.call.ended;
  });

  test('the edge-worker killed with SIGKILL: w2 adopts its calls, and with the process back on its ports they go on, one record each', async () => {
    const since = Date.now();
    const written = await snapshotsWritten('w1');
    const pairs: { call: Call; far: Call }[] = [];
    for (let i = 0; i < 4; i++) pairs.push(await dial());
    await eventually(async () => (await snapshotsWritten('w1')) >= written + 4, 'the calls\' snapshots written');
    await edge.proc.stop('SIGKILL');
    await eventually(async () => (await callsOn('w2')) === 4, 'w2 has adopted the four calls', 20_000);
    // the same SIP ports: the PBX and the carrier know the node by its address
    writeFileSync(file, readFileSync(file, 'utf8')
      .replace('{ protocol: udp, host: 127.0.0.1, port: 0 }', `{ protocol: udp, host: 127.0.0.1, port: ${edge.udpPort} }`)
      .replace('{ protocol: tcp, host: 127.0.0.1, port: 0 }', `{ protocol: tcp, host: 127.0.0.1, port: ${edge.tcpPort} }`));
    edge = await startEdgeWorker('w1', file, nats.url);
    await workersKnown(edge, ['w1', 'w2']);
    await Promise.all(pairs.map(async ({ call, far }, i) => {
      assert.equal((await call.reinvite()).status, 200, `the PBX's re-INVITE in ${call.callId}`);
      const [ender, other] = i % 2 === 0 ? [call, far] : [far, call];
      assert.equal((await ender.hangup()).status, 200, `the BYE in ${call.callId}`);
      await other.ended;
    }));
    const records = await recordsOf(pairs.map((p) => p.call.callId), since);
    for (const r of records) assert.ok(r.takenOver !== undefined, `${r.id} says the call was taken over`);
    // the killed worker's limit slots went with its calls to w2, and were given back when they ended
    await eventually(async () => (await trunkCount(check, 'edge-worker')) === 0, 'the trunk\'s concurrency count back to 0', 3_000 + 10_000);
    const next = await dial();
    assert.equal(await callsOn('w1'), 1, 'a new call goes to the restarted co-located worker');
    assert.equal((await next.call.hangup()).status, 200);
  });

  test('a busy process (spillAboveLoad 0: always) gives new calls to any active worker by Call-ID, over NATS to the other', async () => {
    await edge.proc.stop('SIGINT');
    const spilling = writeConfig(readFileSync(file, 'utf8').replace('  shutdownGraceMs: 1000\n', '  shutdownGraceMs: 1000\n  edgeWorker: { spillAboveLoad: 0 }\n'));
    writeFileSync(join(dirname(spilling), 'trunks.yaml'), readFileSync(join(dirname(file), 'trunks.yaml')));
    edge = await startEdgeWorker('w1', spilling, nats.url);
    await workersKnown(edge, ['w1', 'w2']);
    const toW2 = overNats(Subjects.workerInbound('w2'));
    for (const owner of ['w2', 'w1', 'w2']) {
      carrier.onNextInvite({ ring: 0 });
      const call = pbx.call({ to: `sip:+1415555${String(serial++).padStart(4, '0')}@acme.trunks.example`, via: { host: '127.0.0.1', port: edge.udpPort }, callId: callIdLandingOn(owner, ['w1', 'w2']) });
      const far = await carrier.nextCall();
      await call.established;
      assert.equal(await callsOn(owner), 1, `the call whose Call-ID lands on ${owner} is on ${owner}`);
      assert.equal((await call.hangup()).status, 200);
      await far.ended;
    }
    await check.flush();
    toW2.stop();
    assert.ok(toW2.count() > 0, 'the calls on w2 reached it over NATS');
    assert.equal((await transportStats(check, 't1')).spilled, 3, 'every new call was decided among all active workers');
  });

  async function snapshotsWritten(id: string): Promise<number> {
    const reply = await check.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 2_000 });
    return (decodeMap(reply.data) as { counters: Record<string, number> }).counters['snapshots.written'] ?? 0;
  }

  /** Exactly one record for each of `callIds` (a duplicate is given a second to show up). */
  async function recordsOf(callIds: string[], since: number): Promise<CallDetailRecord[]> {
    const ids = new Set(callIds);
    const cdr = new CdrClient(check);
    const mine = async () => (await cdr.query({ since, limit: 1_000 }).catch(() => ({ records: [] as CallDetailRecord[] })))
      .records.filter((r) => r.parentId === undefined && r.legs.some((l) => ids.has(l.sipCallId)));
    await eventually(async () => (await mine()).length >= ids.size, `${ids.size} records`);
    await new Promise((r) => setTimeout(r, 1_000));
    const records = await mine();
    assert.equal(records.length, ids.size, 'one record per call, no duplicate');
    return records;
  }
});
