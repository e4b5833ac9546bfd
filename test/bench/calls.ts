// Call benchmark: PBX-side load over UDP (testkit UA) → transport → two workers → carrier
// UA, all on this machine with a nats-server. Prints calls/s and failures at a target rate,
// INVITE→200 latency percentiles at half load, the CPU time each cluster process spent per
// answered call in the two load phases, and worker heap bytes per established call
// (`concurrent` 0 leaves the held-calls phase out). The last line, `summary:`, is what
// test/bench/compare.sh collects. The trunk has cluster-wide limits set far above the load (so
// every call pays for the KV admission and release), unless LIMITS=off. SWITCHBOARD_ROOT=<checkout>
// runs that checkout's built transport and workers (the UAs stay this tree's).
// SNAPSHOTS=off runs the workers without call snapshots (worker takeover), to see what they cost.
// WORKERS=<n> runs n workers instead of two (the process layout of a small machine).
// SPILL_ABOVE=<0..1> sets that edge-worker's transport.edgeWorker.spillAboveLoad (1: never spill).
// LAYOUT=edge-worker runs transport t1 and worker w1 in one process (switchboard-edge-worker, which
// gives w1 the new calls while it is active) and the other workers in their own.
// WARMUP_SECONDS=<n> first places calls at the full rate for n seconds, uncounted (default: 2 s at 50/s):
// V8 is still compiling the hot paths for ~30 s after a process starts (TurboFan on its own threads,
// in the processes' CPU), which a long-running cluster has paid long before.
// SUBJECTS=1 prints the NATS messages per call of the full-rate phase by subject (a subscription to '>', which
// gives nats-server every message once more: take that run's CPU figures with it).
// IDLE_SECONDS=<n> (default 10, 0: none) first measures the cluster's CPU with no call, in ms per second.
// Usage: [SUBJECTS=1] [IDLE_SECONDS=10] [WARMUP_SECONDS=2] [LIMITS=off] [SNAPSHOTS=off] [WORKERS=2] [LAYOUT=separate|edge-worker] [SWITCHBOARD_ROOT=dir] node test/dist/bench/calls.js [rate=500] [seconds=10] [concurrent=10000]
import { connect } from '@nats-io/transport-node';
import { startNatsServer, UserAgent, type Call, type ManagedProcess } from '@switchboard/testkit';
import { decodeMap, Subjects } from '@switchboard/wire';
import { clockTicks, cpuMs } from '../support/proc-stats.js';
import { edgeWorkerSpillYaml as spillYaml, engineRoot, oneCarrierTrunking, startEdgeWorker, startTransport, startWorker, workersKnown, writeCluster } from '../support/cluster.js';

const rate = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 10);
const concurrent = Number(process.argv[4] ?? 10_000);
const holdMs = 1_000;

process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim();
const nats = await startNatsServer();
const carrier = await UserAgent.start({ name: 'carrier', keepHistory: false, timeoutMs: 30_000 });
carrier.onInvite({ trying: true });
const pbx = await UserAgent.start({ name: 'pbx', user: '+12125550100', keepHistory: false, timeoutMs: 30_000 });
// the one PBX source would be banned by the default per-source rate (400 new requests/s) above that
const edgeYaml = spillYaml() + '  edge: { perSourceRate: 50000, burst: 100000 }';
const colocated = process.env.LAYOUT === 'edge-worker';
const trunking = oneCarrierTrunking(carrier.port) as { trunks: Record<string, unknown>[] };
if (process.env.LIMITS !== 'off') for (const t of trunking.trunks) t.restrictions = { maxConcurrent: 50_000, maxCps: 5_000 };
const file = writeCluster(nats.url, trunking, { snapshots: process.env.SNAPSHOTS !== 'off', transportYaml: edgeYaml });
const workerIds = Array.from({ length: Number(process.env.WORKERS ?? 2) }, (_, i) => `w${i + 1}`);
const transport = colocated ? await startEdgeWorker('w1', file, nats.url) : await startTransport('t1', nats.url, { transportYaml: edgeYaml });
const workers = colocated ? [transport.proc] : [];
for (const id of colocated ? workerIds.slice(1) : workerIds) workers.push(await startWorker(id, file, nats.url));
await workersKnown(transport, workerIds);
const nc = await connect({ servers: nats.url });
const trunk = { host: '127.0.0.1', port: transport.udpPort };

function pidOf(p: ManagedProcess): number {
  if (p.child.pid === undefined) throw new Error(`${p.name} has no pid: it did not start`);
  return p.child.pid;
}
/** The cluster's processes, whose CPU time per call is the figure that travels between machines. */
const measured = [
  ...(colocated ? [] : [{ name: 'transport t1', pid: pidOf(transport.proc) }]),
  ...workers.map((w, i) => ({ name: colocated && i === 0 ? 'edge-worker t1+w1' : `worker w${i + 1}`, pid: pidOf(w) })),
  { name: 'nats-server', pid: pidOf(nats.process) },
];
/** CPU ms of each measured process, then of this process (the UAs: not the cluster's, shown apart). */
function cpuNow(): number[] {
  const own = process.cpuUsage();
  return [...measured.map((m) => cpuMs(m.pid)), (own.user + own.system) / 1000];
}

let n = 0;
function place(): Call {
  return pbx.call({ to: `sip:+1415${String(++n).padStart(7, '0')}@trunk.example`, via: trunk });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Phase {
  answered: number;
  failed: number;
  /** INVITE→200 ms of the answered calls, sorted. */
  latencies: number[];
  elapsed: number;
  /** CPU ms spent in the phase: each of `measured`, then this process. */
  cpu: number[];
}

/** Places calls at `cps` for `durationS`; each is held `holdMs`, then hung up. */
async function load(cps: number, durationS: number): Promise<Phase> {
  const latencies: number[] = [];
  let answered = 0;
  let failed = 0;
  const pending: Promise<void>[] = [];
  /** Calls the PBX stopped waiting for (no 2xx within its timeout): they may still be answered later. */
  const abandoned: Call[] = [];
  const cpuBefore = cpuNow();
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
  const cpu = cpuNow().map((ms, i) => ms - (cpuBefore[i] ?? 0));
  return { answered, failed, latencies: latencies.sort((a, b) => a - b), elapsed, cpu };
}

async function workerStats(): Promise<{ calls: number; heapUsed: number }[]> {
  const out = [];
  for (const id of workerIds) {
    const reply = await nc.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 10_000 });
    out.push(decodeMap(reply.data) as { calls: number; heapUsed: number });
  }
  return out;
}

const row = (k: string, v: string) => console.log(`${k.padEnd(36)} ${v}`);
console.log(`call benchmark: PBX UA → transport → ${workerIds.length} worker(s) → carrier UA, UDP, all on this machine; calls held ${holdMs} ms${colocated ? '; t1 and w1 in one process (LAYOUT=edge-worker)' : ''}`);
console.log(`transport and workers from ${engineRoot}`);

// what the cluster spends with no call at all (heartbeats, leases, timers, nats-server's own), so
// that a rate's CPU per call can be split into that share (ms/s ÷ calls/s) and the calls' own
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 10);
if (idleSeconds > 0) {
  await new Promise((r) => setTimeout(r, 2_000));
  const before = cpuNow();
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const spent = cpuNow().map((ms, i) => (ms - (before[i] ?? 0)) / idleSeconds);
  row(`idle for ${idleSeconds} s, CPU ms/s`, `${measured.map((m, i) => `${m.name} ${(spent[i] ?? NaN).toFixed(1)}`).join(', ')}; cluster ${spent.slice(0, measured.length).reduce((a, b) => a + b, 0).toFixed(1)}`);
}

const warmupSeconds = (process.env.WARMUP_SECONDS ?? '') === '' ? undefined : Number(process.env.WARMUP_SECONDS);
if (warmupSeconds === undefined) await load(50, 2);
else if (warmupSeconds > 0) await load(rate, warmupSeconds);
if (warmupSeconds !== undefined) console.log(`warm-up: ${rate} calls/s for ${warmupSeconds} s, not counted`);
// SUBJECTS=1: count the NATS messages of the full-rate phase by subject (digits and ids folded)
const subjects = new Map<string, { count: number; bytes: number }>();
const spy = process.env.SUBJECTS === '1' ? nc.subscribe('>', { callback: (_e, m) => {
  const k = m.subject.startsWith('_INBOX') ? '_INBOX… (replies)' : m.subject.replace(/\.[0-9a-f-]{6,}|\.\d+/g, '.*');
  const seen = subjects.get(k) ?? { count: 0, bytes: 0 };
  subjects.set(k, { count: seen.count + 1, bytes: seen.bytes + m.data.length });
} }) : undefined;
const full = await load(rate, seconds);
spy?.unsubscribe();
for (const [k, v] of [...subjects].sort((a, b) => b[1].count - a[1].count).slice(0, 30)) {
  row(`  ${k}`, `${(v.count / Math.max(1, full.answered)).toFixed(2)} per call, ${Math.round(v.bytes / v.count)} bytes each`);
}
row(`${rate} calls/s offered for ${seconds} s`, `${Math.round(full.answered / full.elapsed)} calls/s answered, ${full.failed} failed of ${full.answered + full.failed} (${((100 * full.failed) / Math.max(1, full.answered + full.failed)).toFixed(2)}%)`);
row('  INVITE→200 at full rate', `p50 ${percentile(full.latencies, 50).toFixed(1)} ms · p99 ${percentile(full.latencies, 99).toFixed(1)} ms`);
const half = await load(Math.round(rate / 2), seconds);
row(`${Math.round(rate / 2)} calls/s offered for ${seconds} s`, `p50 ${percentile(half.latencies, 50).toFixed(1)} ms · p99 ${percentile(half.latencies, 99).toFixed(1)} ms (${half.failed} failed)`);

/** CPU ms per answered call of each measured process over `phases`, then their cluster sum, then the UAs'. */
function perCall(...phases: Phase[]): { ms: number[]; cluster: number; uas: number } {
  const answered = Math.max(1, phases.reduce((s, p) => s + p.answered, 0));
  const ms = measured.map((_, i) => phases.reduce((s, p) => s + (p.cpu[i] ?? 0), 0) / answered);
  const uas = phases.reduce((s, p) => s + (p.cpu[measured.length] ?? 0), 0) / answered;
  return { ms, cluster: ms.reduce((s, v) => s + v, 0), uas };
}

/** Heap per established call: establishes `concurrent` calls, holds them all, compares the workers' heaps. */
async function heldCalls(): Promise<void> {
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
  const setUpSeconds = (Date.now() - start) / 1000;
  /** Worker heap now against `before`, per call up: `when` says at what point of the calls' lives. */
  const heapRow = async (when: string) => {
    const during = await workerStats();
    const calls = during.reduce((s, w) => s + w.calls, 0);
    const delta = during.reduce((s, w) => s + w.heapUsed, 0) - before.reduce((s, w) => s + w.heapUsed, 0);
    row(`${concurrent} calls held, ${when}`, `${calls} up on the workers, ${failedHeld} failed; worker heap +${(delta / 1048576).toFixed(1)} MiB = ${Math.round(delta / Math.max(1, calls))} bytes per call`);
  };
  // a call's first 64*T1 (Timers L and M: its INVITE transactions still Accepted), then the rest of its life
  await new Promise((r) => setTimeout(r, 3_000));
  await heapRow(`3 s after set-up (${setUpSeconds.toFixed(1)} s)`);
  await new Promise((r) => setTimeout(r, 32_000)); // INVITE transactions reach Terminated (Timer L)
  await heapRow('35 s after set-up');
  await Promise.all(held.map((c) => c.hangup().catch(() => undefined)));
  // an overloaded run may leave calls on their 32 s timers (L, the 2xx ACK wait, then BYE)
  await new Promise((r) => setTimeout(r, 75_000));
  const after = await workerStats();
  const left = after.reduce((s, w) => s + w.calls, 0);
  const states = after.map((w) => Object.entries((w as { callsByState?: Record<string, number> }).callsByState ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')).filter(Boolean).join('; ');
  row('after every call was hung up', `${left} calls left on the workers${left > 0 ? ` (${states})` : ''}`);
}
if (concurrent > 0) await heldCalls();

const columns = [
  { title: `${rate}/s phase`, c: perCall(full) },
  { title: `${Math.round(rate / 2)}/s phase`, c: perCall(half) },
  { title: 'both phases', c: perCall(full, half) },
];
const cell = (v: number) => v.toFixed(3).padStart(14);
console.log(`\nCPU ms per answered call (user+system from /proc/<pid>/stat, ${(1000 / clockTicks).toFixed(0)} ms ticks; from just before the phase's first INVITE to its last call's end):`);
console.log(`${'process'.padEnd(28)}${columns.map((c) => c.title.padStart(14)).join('')}`);
measured.forEach((m, i) => console.log(`${`${m.name} (pid ${m.pid})`.padEnd(28)}${columns.map((c) => cell(c.c.ms[i] ?? NaN)).join('')}`));
console.log(`${'cluster total'.padEnd(28)}${columns.map((c) => cell(c.c.cluster)).join('')}`);
console.log(`${'benchmark UAs (not in total)'.padEnd(28)}${columns.map((c) => cell(c.c.uas)).join('')}`);
console.log(`${'calls answered'.padEnd(28)}${[full.answered, half.answered, full.answered + half.answered].map((count) => String(count).padStart(14)).join('')}`);

// how the workers' limits were decided (a checkout before leased limits answers no `limits`)
const limitActivity = (await workerStats()).map((w, i) => `w${i + 1} ${JSON.stringify((w as { limits?: unknown }).limits ?? 'n/a')}`).join('; ');
row('limit admissions', limitActivity);

const both = perCall(full, half);
console.log(
  `summary: ${rate}/s offered, ${Math.round(full.answered / full.elapsed)} calls/s answered, ${full.failed + half.failed} failed` +
    ` · p50 ${percentile(full.latencies, 50).toFixed(1)} ms p99 ${percentile(full.latencies, 99).toFixed(1)} ms` +
    ` (at ${Math.round(rate / 2)}/s: p50 ${percentile(half.latencies, 50).toFixed(1)} ms p99 ${percentile(half.latencies, 99).toFixed(1)} ms)` +
    ` · CPU ${both.cluster.toFixed(3)} ms/call (${measured.map((m, i) => `${m.name.replace(/^(transport|worker|edge-worker) /, '')} ${(both.ms[i] ?? NaN).toFixed(3)}`).join(', ')})`,
);

await nc.close();
await Promise.all(workers.map((w) => w.stop('SIGINT')));
await transport.proc.stop();
await pbx.stop();
await carrier.stop();
await nats.stop();
