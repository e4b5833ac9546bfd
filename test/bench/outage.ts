// Outage benchmark (issue 15, "Survive NATS outages and restarts"): for each outage length, a
// fresh cluster — nats-server with JetStream, transport t1, workers w1 and w2, a UDP PBX UA and a
// carrier UA, the trunk's maxConcurrent/maxCps far above the load so every call passes the
// cluster-wide limits — carries CALLS calls (default 30) while nats-server is stopped (SIGTERM)
// and started again on its own store. During the outage the PBX hangs up a third of the calls and
// tries a new call every 200 ms (refused, and counted apart: nothing can be admitted then). Once
// NATS is back: the time from start() resolving to the 200 of the first new call answered (one
// placed every 100 ms until one is), then 20 calls at 10/s and how many of them were refused.
// Then every call is hung up and the run counts the legs still up on either UA and the calls
// the workers still report (after up to 10 s), the answered calls without a record in SB_CDR,
// and the duplicated records (a call with more than one record id, or stream messages beyond
// the records they hold). Prints one line per outage, then a markdown table for the README.
// A benchmark, not a test: it asserts nothing, the figures are the output.
// Usage: [CALLS=30] node test/dist/bench/outage.js [outage seconds…=2 5 20]
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { CdrClient, type CallDetailRecord } from '@switchboard/cdr';
import { startNatsServer, UserAgent, type Call } from '@switchboard/testkit';
import { CDR_STREAM, decodeMap, Subjects } from '@switchboard/wire';
import { callUp, natsClient, oneCarrierTrunking, startTransport, startWorker, workersKnown, writeCluster } from '../support/cluster.js';

const outagesS = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [2, 5, 20];
const callsUp = Number(process.env.CALLS ?? 30);
const RECOVERY_CALLS = 20;
/** How long a probe is placed for after NATS is back before the run gives up on an answer. */
const PROBE_LIMIT_MS = 60_000;
/** A BYE sent during a 20 s outage is retransmitted until NATS is back (Timer F, 64*T1 = 32 s). */
const UA_WAIT_MS = 60_000;
const WORKERS = ['w1', 'w2'];

for (const s of outagesS) if (!Number.isFinite(s) || s <= 0) throw new Error(`outage length ${s}: expected seconds > 0`);
if (!Number.isInteger(callsUp) || callsUp < 3) throw new Error(`CALLS=${process.env.CALLS}: expected an integer ≥ 3`);

interface OutageResult {
  outageS: number;
  stranded: { pbx: number; carrier: number; workers: number | undefined };
  answered: number;
  recordsLost: number;
  recordsDuplicated: number;
  placedWhileDown: number;
  refusedWhileDown: number;
  byesSent: number;
  byesAnswered: number;
  /** Largest |record end − BYE sent| of the calls hung up while NATS was down, ms. */
  recordEndSkewMs: number | undefined;
  firstAnswerMs: number | undefined;
  probesPlaced: number;
  probesRefused: number;
  refusedAfterRecovery: number;
}

const isAnswered = (c: Call) => c.finalResponse !== undefined && c.finalResponse.status >= 200 && c.finalResponse.status < 300;
const legsUp = (ua: UserAgent) => ua.calls.filter((c) => c.state !== 'terminated').length;

/** The calls each worker holds (its stats); undefined when a worker did not answer. */
async function callsOnWorkers(nc: NatsConnection): Promise<number | undefined> {
  let total = 0;
  for (const id of WORKERS) {
    try {
      const reply = await nc.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 2_000 });
      total += (decodeMap(reply.data) as { calls: number }).calls;
    } catch {
      return undefined;
    }
  }
  return total;
}

/** The final response of each call, or undefined where none came within the UA's wait. */
function outcomes(calls: readonly Call[]): Promise<(number | undefined)[]> {
  return Promise.all(calls.map((c) => c.wait('outcome', UA_WAIT_MS).then((r) => r.status, () => undefined)));
}

async function rideThrough(outageS: number): Promise<OutageResult> {
  const nats = await startNatsServer();
  const pbx = await UserAgent.start({ name: 'pbx', user: '+12125550100', timeoutMs: UA_WAIT_MS });
  const carrier = await UserAgent.start({ name: 'carrier', timeoutMs: UA_WAIT_MS });
  carrier.onInvite({ ring: 0 });
  const t1 = await startTransport('t1', nats.url);
  const trunking = oneCarrierTrunking(carrier.port) as { trunks: Record<string, unknown>[] };
  for (const t of trunking.trunks) t.restrictions = { maxConcurrent: 10_000, maxCps: 1_000 };
  const file = writeCluster(nats.url, trunking);
  const workers = [];
  for (const id of WORKERS) workers.push(await startWorker(id, file, nats.url));
  await workersKnown(t1, WORKERS);
  const edge = { host: '127.0.0.1', port: t1.udpPort };
  let n = 0;
  const nextNumber = () => `sip:+1415555${String(n++).padStart(4, '0')}@trunk.example`;
  const place = () => pbx.call({ to: nextNumber(), via: edge });

  try {
    const since = Date.now();
    const up: Call[] = [];
    for (let i = 0; i < callsUp; i++) up.push((await callUp(pbx, carrier, nextNumber(), edge)).call);
    const ending = up.filter((_, i) => i % 3 === 2);

    await nats.process.stop('SIGTERM', 5_000);
    const down = Date.now();
    const outageMs = outageS * 1000;
    // the hangups are spread over the outage's first half, so some BYEs wait long in retransmission
    const hungUpAt = new Map<string, number>();
    const byes = ending.map((call, k) =>
      sleep(((k + 1) * outageMs) / 2 / (ending.length + 1)).then(() => {
        hungUpAt.set(call.callId, Date.now());
        return call.hangup().then((r) => r.status, () => undefined);
      }),
    );
    const whileDown: Call[] = [];
    while (Date.now() - down < outageMs - 200) {
      whileDown.push(place());
      await sleep(200);
    }
    await sleep(Math.max(0, outageMs - (Date.now() - down)));
    await nats.start();
    const back = Date.now();

    const probes: Call[] = [];
    let answeredAt: number | undefined;
    while (answeredAt === undefined && Date.now() - back < PROBE_LIMIT_MS) {
      const call = place();
      probes.push(call);
      call.answered.then(() => (answeredAt ??= Date.now()), () => undefined);
      await sleep(100);
    }
    const recovery: Call[] = [];
    for (let i = 0; i < RECOVERY_CALLS; i++) {
      recovery.push(place());
      await sleep(100);
    }

    const [probeOutcomes, recoveryOutcomes, downOutcomes, byeStatuses] = await Promise.all([outcomes(probes), outcomes(recovery), outcomes(whileDown), Promise.all(byes)]);
    const answered = pbx.calls.filter(isAnswered);
    await Promise.all(answered.filter((c) => c.state !== 'terminated').map((c) => c.hangup().catch(() => undefined)));

    const nc = await natsClient(nats.url);
    try {
      // the far legs' BYEs and the workers' ends take a moment: up to 10 s for everything to settle
      let onWorkers = await callsOnWorkers(nc);
      for (const settle = Date.now(); Date.now() - settle < 10_000; onWorkers = await callsOnWorkers(nc)) {
        if (legsUp(pbx) + legsUp(carrier) === 0 && onWorkers === 0) break;
        await sleep(250);
      }

      const cdr = new CdrClient(nc);
      const mine = new Set(answered.map((c) => c.callId));
      let records: CallDetailRecord[] = [];
      for (const wait = Date.now(); Date.now() - wait < 30_000; await sleep(250)) {
        records = (await cdr.query({ since: since - 60_000, limit: 1000 }).catch(() => ({ records: [] as CallDetailRecord[] }))).records;
        const recorded = new Set(records.flatMap((r) => r.legs.map((l) => l.sipCallId)));
        if ([...mine].every((id) => recorded.has(id))) break;
      }
      const idsOf = (callId: string) => new Set(records.filter((r) => r.legs.some((l) => l.sipCallId === callId)).map((r) => r.id));
      const recordsLost = answered.filter((c) => idsOf(c.callId).size === 0).length;
      const twice = answered.filter((c) => idsOf(c.callId).size > 1).length;
      // the query answers each record id once: a record stored twice shows only in the stream's count
      const stored = (await (await jetstreamManager(nc)).streams.info(CDR_STREAM)).state.messages;
      const skews = ending.flatMap((c) => {
        const r = records.find((x) => x.legs.some((l) => l.sipCallId === c.callId));
        const sent = hungUpAt.get(c.callId);
        return r === undefined || sent === undefined ? [] : [Math.abs(r.endedAt - sent)];
      });
      return {
        outageS,
        stranded: { pbx: legsUp(pbx), carrier: legsUp(carrier), workers: onWorkers },
        answered: answered.length,
        recordsLost,
        recordsDuplicated: twice + Math.max(0, stored - records.length),
        placedWhileDown: whileDown.length,
        refusedWhileDown: downOutcomes.filter((s) => s === undefined || s >= 300).length,
        byesSent: ending.length,
        byesAnswered: byeStatuses.filter((s) => s === 200).length,
        recordEndSkewMs: skews.length === 0 ? undefined : Math.max(...skews),
        firstAnswerMs: answeredAt === undefined ? undefined : answeredAt - back,
        probesPlaced: probes.length,
        probesRefused: probeOutcomes.filter((s) => s === undefined || s >= 300).length,
        refusedAfterRecovery: recoveryOutcomes.filter((s) => s === undefined || s >= 300).length,
      };
    } finally {
      await nc.close();
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop('SIGINT')));
    await t1.proc.stop();
    await pbx.stop();
    await carrier.stop();
    await nats.stop();
  }
}

const seconds = (ms: number | undefined) => (ms === undefined ? `none within ${PROBE_LIMIT_MS / 1000} s` : `${(ms / 1000).toFixed(2)} s`);
function strandedText(r: OutageResult): string {
  const { pbx, carrier, workers } = r.stranded;
  const total = pbx + carrier + (workers ?? 0);
  const parts = [pbx > 0 ? `PBX legs ${pbx}` : '', carrier > 0 ? `carrier legs ${carrier}` : '', workers === undefined ? 'workers did not answer' : workers > 0 ? `on workers ${workers}` : ''].filter(Boolean);
  return parts.length === 0 ? String(total) : `${total} (${parts.join(', ')})`;
}

console.log(`outage benchmark: PBX UA → transport → 2 workers → carrier UA, UDP, all on this machine; ${callsUp} calls up, a third hung up while NATS is down`);
const results: OutageResult[] = [];
for (const s of outagesS) {
  const r = await rideThrough(s);
  results.push(r);
  console.log(
    `NATS down ${s} s: stranded ${strandedText(r)} · records lost ${r.recordsLost}, duplicated ${r.recordsDuplicated} (${r.answered} calls answered)` +
      ` · BYEs sent while down ${r.byesAnswered}/${r.byesSent} answered 200, record end vs BYE ≤ ${r.recordEndSkewMs ?? '?'} ms` +
      ` · new calls while down ${r.refusedWhileDown}/${r.placedWhileDown} refused` +
      ` · first call answered ${seconds(r.firstAnswerMs)} after NATS back (${r.probesRefused} of ${r.probesPlaced} probes refused)` +
      ` · refused after recovery ${r.refusedAfterRecovery}/${RECOVERY_CALLS}`,
  );
}

console.log('\n| NATS down for | calls stranded | records lost | records duplicated | calls refused after recovery | first call answered after NATS is back | new calls while down (refused, as expected) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.outageS} s | ${strandedText(r)} | ${r.recordsLost} | ${r.recordsDuplicated} | ${r.refusedAfterRecovery} of ${RECOVERY_CALLS} | ${seconds(r.firstAnswerMs)} | ${r.refusedWhileDown} of ${r.placedWhileDown} |`);
}
console.log('| goal | 0 | 0 | 0 | 0 | ≤ 2 s | |');
