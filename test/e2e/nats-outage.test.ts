// A NATS outage loses no call and no record (the issue "Survive NATS outages and restarts"):
// a real nats-server is stopped (SIGTERM) under a running cluster — transport t1, workers w1 and
// w2 — and started again on the same store after 5 s (UDP and TCP) and after 20 s (UDP). Calls
// are up throughout; some are hung up by the PBX while NATS is down. Afterwards every BYE has
// reached the other side, no leg is left up anywhere, every call has exactly one record that
// ends when its BYE was sent, and new calls are answered.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/nats-core';
import { CdrClient, type CallDetailRecord } from '@switchboard/cdr';
import { startNatsServer, UserAgent, type Call, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { decodeMap, Subjects } from '@switchboard/wire';
import { eventually, sleep } from '../support/eventually.js';
import { acmeTrunking, callUp, natsClient, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';

const PBX_HOST = '127.0.0.61';
const PBX_TCP_HOST = '127.0.0.62';
const CARRIER_HOST = '127.0.0.63';
/** A PBX on trunk `brief`, whose calls last 2 s at most. */
const BRIEF_PBX_HOST = '127.0.0.64';

interface Cluster {
  nats: NatsServerHandle;
  t1: RunningTransport;
  workers: ManagedProcess[];
  pbx: UserAgent;
  pbxTcp: UserAgent;
  briefPbx: UserAgent;
  carrier: UserAgent;
}

async function startCluster(): Promise<Cluster> {
  const nats = await startNatsServer();
  // the UAs wait long enough for a BYE retransmitted across a 20 s outage (Timer F: 64*T1 = 32 s)
  const pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100', timeoutMs: 60_000 });
  const pbxTcp = await UserAgent.start({ name: 'pbx-tcp', host: PBX_TCP_HOST, user: '+12125550101', transport: 'tcp', timeoutMs: 60_000 });
  const briefPbx = await UserAgent.start({ name: 'brief-pbx', host: BRIEF_PBX_HOST, user: '+12125550102' });
  const carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100', timeoutMs: 60_000 });
  const trunking = acmeTrunking({ pbx: { host: PBX_HOST, port: pbx.port }, carrier: { host: CARRIER_HOST, port: carrier.port } }) as { trunks: Record<string, unknown>[] };
  const [acme] = trunking.trunks;
  // every call passes the cluster-wide limits
  trunking.trunks = [
    { ...acme, acl: [`${PBX_HOST}/32`, `${PBX_TCP_HOST}/32`], restrictions: { maxConcurrent: 200, maxCps: 100 } },
    { ...acme, id: 'brief', domain: 'brief.trunks.example', acl: [`${BRIEF_PBX_HOST}/32`], dids: [], origination: undefined, restrictions: { maxCallSeconds: 2 } },
  ];
  const t1 = await startTransport('t1', nats.url);
  const file = writeCluster(nats.url, trunking, { limitsBucket: 'outage' });
  const workers = [await startWorker('w1', file, nats.url), await startWorker('w2', file, nats.url)];
  await workersKnown(t1, ['w1', 'w2']);
  return { nats, t1, workers, pbx, pbxTcp, briefPbx, carrier };
}

/** The calls the workers hold, from their stats. */
async function callsOnWorkers(nc: NatsConnection): Promise<number> {
  let total = 0;
  for (const w of ['w1', 'w2']) {
    const reply = await nc.request(Subjects.workerStats(w), new Uint8Array(0), { timeout: 2_000 });
    total += (decodeMap(reply.data) as { calls: number }).calls;
  }
  return total;
}

/** The records of the calls whose PBX-side Call-ID is in `sipCallIds`, once there are `count`. */
async function recordsOf(cdr: CdrClient, since: number, sipCallIds: Set<string>, count: number): Promise<CallDetailRecord[]> {
  let mine: CallDetailRecord[] = [];
  for (let i = 0; i < 150; i++) {
    const { records } = await cdr.query({ since, limit: 1000 }).catch(() => ({ records: [] as CallDetailRecord[] }));
    mine = records.filter((r) => r.legs.some((l) => sipCallIds.has(l.sipCallId)));
    if (mine.length >= count) break;
    await sleep(200);
  }
  return mine;
}

/**
 * 20 calls up and 10 more that the PBX hangs up while nats-server is down for `outageMs`; then
 * the checks of the issue. `ua` places the calls over its transport, through t1.
 */
async function rideThrough(c: Cluster, ua: UserAgent, edgePort: number, outageMs: number, prefix: string): Promise<void> {
  const since = Date.now();
  const edge = { host: '127.0.0.1', port: edgePort };
  const staying: { call: Call; far: Call }[] = [];
  const ending: { call: Call; far: Call }[] = [];
  for (let i = 0; i < 30; i++) {
    const pair = await callUp(ua, c.carrier, `sip:+1415${prefix}${String(i).padStart(4, '0')}@acme.trunks.example`, edge);
    (i < 20 ? staying : ending).push(pair);
  }

  await c.nats.process.stop('SIGTERM', 5_000);
  const down = Date.now();
  await sleep(500);
  const hungUpAt = new Map<string, number>();
  const byes = ending.map(({ call }) => {
    hungUpAt.set(call.callId, Date.now());
    return call.hangup();
  });
  await sleep(Math.max(0, outageMs - (Date.now() - down)));
  await c.nats.start();
  const back = Date.now();

  // every BYE sent during the outage reaches the carrier and is answered 200 (after retransmission over UDP)
  const answers = await Promise.all(byes);
  assert.deepEqual(answers.map((r) => r.status), ending.map(() => 200), 'every BYE of the outage is answered 200');
  await Promise.all(ending.map(({ far }) => far.ended));

  // a new call placed 2 s after NATS is back is answered
  await sleep(Math.max(0, 2_000 - (Date.now() - back)));
  const fresh = await callUp(ua, c.carrier, `sip:+1415${prefix}9999@acme.trunks.example`, edge);
  await fresh.call.hangup();

  // the calls that stayed up are still up on both sides, and end normally
  const stillUp = await Promise.all(staying.map(({ call }) => call.hangup()));
  assert.deepEqual(stillUp.map((r) => r.status), staying.map(() => 200), 'the calls that stayed up end with 200');
  await Promise.all(staying.map(({ far }) => far.ended));

  const check = await natsClient(c.nats.url);
  try {
    await eventually(async () => (await callsOnWorkers(check)) === 0, 'no call left on the workers');
    const all = [...staying, ...ending, fresh];
    const ids = new Set(all.map(({ call }) => call.callId));
    const records = await recordsOf(new CdrClient(check), since, ids, all.length);
    assert.equal(records.length, all.length, 'one record per call');
    assert.equal(new Set(records.map((r) => r.id)).size, all.length, 'no record twice');
    for (const { call } of ending) {
      const r = records.find((x) => x.legs.some((l) => l.sipCallId === call.callId));
      assert.ok(r, `a record for ${call.callId}`);
      assert.equal(r.disposition, 'answered');
      assert.equal(r.endedBy, 'caller');
      const sent = hungUpAt.get(call.callId) ?? 0;
      assert.ok(Math.abs(r.endedAt - sent) <= 1_000, `the record ends when the BYE was sent (${r.endedAt - sent} ms off)`);
    }
  } finally {
    await check.close();
  }
}

describe('a NATS outage loses no call and no record', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster();
  });
  after(async () => {
    await Promise.all((c?.workers ?? []).map((w) => w.stop('SIGINT')));
    await c?.t1.proc.stop();
    for (const ua of [c?.pbx, c?.pbxTcp, c?.briefPbx, c?.carrier]) await ua?.stop();
    await c?.nats.stop();
  });

  test('5 s outage, calls over UDP: BYEs sent meanwhile get through, records exact, new calls answered', async () => {
    await rideThrough(c, c.pbx, c.t1.udpPort, 5_000, '55');
  });

  test('5 s outage, calls over TCP: the transport holds the in-dialog requests until NATS is back', async () => {
    await rideThrough(c, c.pbxTcp, c.t1.tcpPort, 5_000, '56');
  });

  test('20 s outage, calls over UDP', async () => {
    await rideThrough(c, c.pbx, c.t1.udpPort, 20_000, '57');
  });

  test('a call nobody ends reaches its trunk\'s maximum duration: both parties get BYE, its record says so', async () => {
    const since = Date.now();
    const { call, far } = await callUp(c.briefPbx, c.carrier, 'sip:+14155550177@brief.trunks.example', { host: '127.0.0.1', port: c.t1.udpPort });
    const [mine, theirs] = await Promise.all([call.ended, far.ended]);
    assert.equal(mine.by, 'remote');
    assert.equal(mine.how, 'bye');
    assert.equal(theirs.how, 'bye');
    assert.match(mine.message?.headers.get('reason') ?? '', /^Q\.850;cause=102/);
    const check = await natsClient(c.nats.url);
    try {
      const [record] = await recordsOf(new CdrClient(check), since, new Set([call.callId]), 1);
      assert.equal(record?.trunk, 'brief');
      assert.equal(record?.endedBy, 'system');
      assert.match(record?.reason ?? '', /Maximum call duration/);
      assert.ok((record?.duration ?? 0) >= 2 && (record?.duration ?? 0) < 10, `lasted its 2 s (${record?.duration} s)`);
    } finally {
      await check.close();
    }
  });
});
