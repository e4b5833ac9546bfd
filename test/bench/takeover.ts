// Takeover benchmark (issue 16, "A worker dies, its calls go on"): a fresh cluster —
// nats-server with JetStream, transport t1, workers w1, w2 and w3, a UDP PBX and a carrier —
// with CALLS established calls (default 100) and RINGING calls still ringing (default 10) on w1,
// then `kill -9` of w1. Measures: the time from the kill to the first in-dialog request (an
// OPTIONS, sent every 100 ms on one of w1's calls) answered by an adopter; how many of w1's
// established calls still work afterwards (a re-INVITE from the PBX answered 200, then a BYE
// answered 200 and seen by the carrier); how many of the ringing calls (each ringing longer than
// worker.snapshots.earlyAfterMs, so its early record is written) got a final response within 40 s,
// and how many CANCELs the carrier saw for them; and, from the survivors' stats, the snapshot
// counters (writes, bytes, dropped). Then the same with a drain by handover (SIGTERM) of w2
// holding CALLS calls and RINGING ringing ones: the time to its exit, the calls that still work,
// the ringing ones that got a final response and their CANCELs. A benchmark: it asserts nothing.
// Usage: [CALLS=100] [RINGING=10] node test/dist/bench/takeover.js
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/nats-core';
import { startNatsServer, UserAgent, type Call } from '@switchboard/testkit';
import { decodeMap, Subjects } from '@switchboard/wire';
import { callIdLandingOn, natsClient, oneCarrierTrunking, startTransport, startWorker, workersKnown, writeCluster } from '../support/cluster.js';

const established = Number(process.env.CALLS ?? 100);
const ringing = Number(process.env.RINGING ?? 10);
const WORKERS = ['w1', 'w2', 'w3'];

const nats = await startNatsServer();
const carrier = await UserAgent.start({ name: 'carrier', timeoutMs: 60_000 });
const pbx = await UserAgent.start({ name: 'pbx', user: '+12125550100', timeoutMs: 60_000 });
const transport = await startTransport('t1', nats.url);
const trunking = oneCarrierTrunking(carrier.port) as { trunks: Record<string, unknown>[] };
for (const t of trunking.trunks) t.restrictions = { maxConcurrent: 50_000, maxCps: 5_000 };
const file = writeCluster(nats.url, trunking, { leaseMs: 3_000, drainMode: 'handover' });
const workers = new Map(await Promise.all(WORKERS.map(async (id) => [id, await startWorker(id, file, nats.url)] as const)));
await workersKnown(transport, WORKERS);
const nc = await natsClient(nats.url);
const edge = { host: '127.0.0.1', port: transport.udpPort };
let serial = 0;

async function placeOn(owner: string, n: number): Promise<{ call: Call; far: Call }[]> {
  const pairs: { call: Call; far: Call }[] = [];
  for (let i = 0; i < n; i++) {
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: `sip:+1415555${String(serial++).padStart(4, '0')}@trunk.example`, via: edge, callId: callIdLandingOn(owner, WORKERS) });
    const far = await carrier.nextCall();
    await call.established;
    pairs.push({ call, far });
  }
  return pairs;
}

async function ringOn(owner: string, n: number): Promise<{ call: Call; far: Call }[]> {
  const calls: { call: Call; far: Call }[] = [];
  for (let i = 0; i < n; i++) {
    carrier.onNextInvite({ ring: 0, answer: false });
    const call = pbx.call({ to: `sip:+1415556${String(serial++).padStart(4, '0')}@trunk.example`, via: edge, callId: callIdLandingOn(owner, WORKERS) });
    const far = await carrier.nextCall();
    await call.ringing;
    calls.push({ call, far });
  }
  return calls;
}

/** Of ringing `calls`: how many callers got a final response within 40 s, how many of them a 500, and how many CANCELs the carrier saw. */
async function ringingOutcome(calls: readonly { call: Call; far: Call }[]): Promise<{ final: number; status500: number; cancels: number }> {
  const finals = await Promise.all(calls.map(({ call }) => Promise.race([call.outcome.then((r) => r.status, () => 0), sleep(40_000).then(() => undefined)])));
  await sleep(1_000); // the CANCELs go out with the final responses: a moment for the last ones
  return {
    final: finals.filter((s) => s !== undefined && s > 0).length,
    status500: finals.filter((s) => s === 500).length,
    cancels: calls.filter(({ far }) => carrier.received('CANCEL', far.callId).length > 0).length,
  };
}

/** Of `pairs`, how many still work: a re-INVITE and a BYE from the PBX answered 200, the carrier's leg ended by it. */
async function working(pairs: readonly { call: Call; far: Call }[]): Promise<number> {
  const ok = await Promise.all(pairs.map(async ({ call, far }) => {
    try {
      if ((await call.reinvite(undefined, { timeoutMs: 20_000 })).status !== 200) return false;
      if ((await call.hangup({ timeoutMs: 20_000 })).status !== 200) return false;
      await far.ended;
      return true;
    } catch {
      return false;
    }
  }));
  return ok.filter(Boolean).length;
}

async function stats(id: string, conn: NatsConnection): Promise<Record<string, any> | undefined> {
  try {
    const reply = await conn.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 2_000 });
    return decodeMap(reply.data) as Record<string, any>;
  } catch {
    return undefined;
  }
}

function snapshotCounters(s: Record<string, any> | undefined): Record<string, number> {
  const counters = (s?.counters ?? {}) as Record<string, number>;
  return Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith('snapshots.') || k.startsWith('takeover.') || k.startsWith('slots.')));
}

// --- kill -9 -------------------------------------------------------------------------------
const victimCalls = await placeOn('w1', established);
const victimRinging = await ringOn('w1', ringing);
// past worker.snapshots.earlyAfterMs (1000 ms by default): their early records are written (one put each)
await sleep(1_500);
const before = snapshotCounters(await stats('w1', nc));
const killedAt = Date.now();
await workers.get('w1')?.stop('SIGKILL');
let firstAnswerMs: number | undefined;
const probe = victimCalls[0]!.call;
while (firstAnswerMs === undefined && Date.now() - killedAt < 30_000) {
  const sent = Date.now();
  const res = await probe.request('OPTIONS', { timeoutMs: 400 }).catch(() => undefined);
  if (res?.status === 200) firstAnswerMs = sent - killedAt;
  else await sleep(Math.max(0, 100 - (Date.now() - sent)));
}
const stillWorking = await working(victimCalls);
const ringingEnded = await ringingOutcome(victimRinging);
const survivors = Object.fromEntries(await Promise.all(['w2', 'w3'].map(async (id) => [id, snapshotCounters(await stats(id, nc))] as const)));

// --- drain by handover ------------------------------------------------------------------------
const draining = await placeOn('w2', established);
const drainingRinging = await ringOn('w2', ringing);
const w2 = workers.get('w2')!;
const termAt = Date.now();
w2.child.kill('SIGTERM');
await w2.exited;
const exitMs = Date.now() - termAt;
const afterHandover = await working(draining);
const drainRingingEnded = await ringingOutcome(drainingRinging);

console.log(`kill -9 of a worker holding ${established} established and ${ringing} ringing calls:`);
console.log(`  first in-dialog request answered by an adopter ${firstAnswerMs ?? 'never (30 s)'} ms after the kill`);
console.log(`  established calls still working: ${stillWorking}/${established} (lost per 100: ${((established - stillWorking) * 100 / established).toFixed(1)})`);
console.log(`  ringing calls that got a final response: ${ringingEnded.final}/${ringing} (500: ${ringingEnded.status500}); CANCELs at the carrier: ${ringingEnded.cancels}/${ringing}`);
console.log(`  the killed worker's snapshot counters before the kill: ${JSON.stringify(before)}`);
console.log(`  survivors' counters: ${JSON.stringify(survivors)}`);
console.log(`drain by handover (SIGTERM) of a worker holding ${established} calls and ${ringing} ringing: exited after ${exitMs} ms; calls still working ${afterHandover}/${established}`);
console.log(`  ringing calls that got a final response: ${drainRingingEnded.final}/${ringing} (500: ${drainRingingEnded.status500}); CANCELs at the carrier: ${drainRingingEnded.cancels}/${ringing}`);

await nc.close();
for (const w of workers.values()) await w.stop('SIGINT');
await transport.proc.stop();
await pbx.stop();
await carrier.stop();
await nats.stop();
