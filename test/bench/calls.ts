// Call benchmark: PBX-side load over UDP (testkit UA) → transport → two workers → carrier
// UA, all on this machine with a nats-server. Prints calls/s and failures at a target rate,
// INVITE→200 latency percentiles at half load, and worker heap bytes per established call.
// The trunk has cluster-wide limits set far above the load (so every call pays for the KV
// admission and release), unless LIMITS=off.
// Usage: [LIMITS=off] node test/dist/bench/calls.js [rate=500] [seconds=10] [concurrent=10000]
import { connect } from '@nats-io/transport-node';
import { startNatsServer, UserAgent, type Call } from '@switchboard/testkit';
import { decodeMap, Subjects } from '@switchboard/wire';
import { oneCarrierTrunking, startTransport, startWorker, workersKnown, writeCluster } from '../support/cluster.js';

const rate = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 10);
const concurrent = Number(process.argv[4] ?? 10_000);
const holdMs = 1_000;

process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim();
const nats = await startNatsServer();
const carrier = await UserAgent.start({ name: 'carrier', keepHistory: false, timeoutMs: 30_000 });
carrier.onInvite({ trying: true });
const pbx = await UserAgent.start({ name: 'pbx', user: '+12125550100', keepHistory: false, timeoutMs: 30_000 });
const transport = await startTransport('t1', nats.url);
const trunking = oneCarrierTrunking(carrier.port) as { trunks: Record<string, unknown>[] };
if (process.env.LIMITS !== 'off') for (const t of trunking.trunks) t.restrictions = { maxConcurrent: 50_000, maxCps: 5_000 };
const file = writeCluster(nats.url, trunking);
const workers = [await startWorker('w1', file, nats.url), await startWorker('w2', file, nats.url)];
await workersKnown(transport, ['w1', 'w2']);
const nc = await connect({ servers: nats.url });
const trunk = { host: '127.0.0.1', port: transport.udpPort };

let n = 0;
function place(): Call {
  return pbx.call({ to: `sip:+1415${String(++n).padStart(7, '0')}@trunk.example`, via: trunk });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Places calls at `cps` for `durationS`; each is held `holdMs`, then hung up. */
async function load(cps: number, durationS: number): Promise<{ answered: number; failed: number; latencies: number[]; elapsed: number }> {
  const latencies: number[] = [];
  let answered = 0;
  let failed = 0;
  const pending: Promise<void>[] = [];
  /** Calls the PBX stopped waiting for (no 2xx within its timeout): they may still be answered later. */
  const abandoned: Call[] = [];
  const start = Date.now();
  let placed = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(Math.floor(((Date.now() - start) / 1000) * cps), cps * durationS);
      while (placed < due) {
        placed++;
        const t0 = process.hrtime.bigint();
        const call = place();
        pending.push(
          call.answered.then(
            async () => {
              latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
              answered++;
              await new Promise((r) => setTimeout(r, holdMs));
              await call.hangup().catch(() => undefined);
            },
            () => {
              failed++;
              abandoned.push(call);
            },
          ),
        );
      }
      if (placed >= cps * durationS) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const elapsed = (Date.now() - start) / 1000;
  await Promise.all(pending);
  // an abandoned call is ended like a PBX would: CANCEL while unanswered, BYE if it was answered late
  await Promise.all(abandoned.map((c) => c.hangup().catch(() => undefined)));
  return { answered, failed, latencies: latencies.sort((a, b) => a - b), elapsed };
}

async function workerStats(): Promise<{ calls: number; heapUsed: number }[]> {
  const out = [];
  for (const id of ['w1', 'w2']) {
    const reply = await nc.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 10_000 });
    out.push(decodeMap(reply.data) as { calls: number; heapUsed: number });
  }
  return out;
}

const row = (k: string, v: string) => console.log(`${k.padEnd(36)} ${v}`);
console.log(`call benchmark: PBX UA → transport → 2 workers → carrier UA, UDP, all on this machine; calls held ${holdMs} ms`);

await load(50, 2); // warm-up
const full = await load(rate, seconds);
row(`${rate} calls/s offered for ${seconds} s`, `${Math.round(full.answered / full.elapsed)} calls/s answered, ${full.failed} failed of ${full.answered + full.failed} (${((100 * full.failed) / Math.max(1, full.answered + full.failed)).toFixed(2)}%)`);
row('  INVITE→200 at full rate', `p50 ${percentile(full.latencies, 50).toFixed(1)} ms · p99 ${percentile(full.latencies, 99).toFixed(1)} ms`);
const half = await load(Math.round(rate / 2), seconds);
row(`${Math.round(rate / 2)} calls/s offered for ${seconds} s`, `p50 ${percentile(half.latencies, 50).toFixed(1)} ms · p99 ${percentile(half.latencies, 99).toFixed(1)} ms (${half.failed} failed)`);

// heap per established call: establish `concurrent` calls, hold them all, compare heaps
await new Promise((r) => setTimeout(r, 35_000)); // let Timers L/M/K of the load phases end
const before = await workerStats();
const held: Call[] = [];
let failedHeld = 0;
const start = Date.now();
while (held.length + failedHeld < concurrent) {
  const batch: Promise<void>[] = [];
  for (let i = 0; i < 25 && held.length + failedHeld + batch.length < concurrent; i++) {
    const call = place();
    batch.push(call.answered.then(() => void held.push(call), () => void failedHeld++));
  }
  await Promise.all(batch);
}
await new Promise((r) => setTimeout(r, 35_000)); // INVITE transactions reach Terminated (Timer L)
const during = await workerStats();
const calls = during.reduce((s, w) => s + w.calls, 0);
const delta = during.reduce((s, w) => s + w.heapUsed, 0) - before.reduce((s, w) => s + w.heapUsed, 0);
row(`${concurrent} calls held (set up in ${((Date.now() - start) / 1000 - 35).toFixed(1)} s)`, `${calls} up on the workers, ${failedHeld} failed; worker heap +${(delta / 1048576).toFixed(1)} MiB = ${Math.round(delta / Math.max(1, calls))} bytes per call`);
await Promise.all(held.map((c) => c.hangup().catch(() => undefined)));
// an overloaded run may leave calls on their 32 s timers (L, the 2xx ACK wait, then BYE)
await new Promise((r) => setTimeout(r, 75_000));
const after = await workerStats();
const left = after.reduce((s, w) => s + w.calls, 0);
const states = after.map((w) => Object.entries((w as { callsByState?: Record<string, number> }).callsByState ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')).filter(Boolean).join('; ');
row('after every call was hung up', `${left} calls left on the workers${left > 0 ? ` (${states})` : ''}`);

await nc.close();
await Promise.all(workers.map((w) => w.stop('SIGINT')));
await transport.proc.stop();
await pbx.stop();
await carrier.stop();
await nats.stop();
