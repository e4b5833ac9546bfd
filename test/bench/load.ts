// Call benchmark with an external load generator: SIPp as the customer's PBX (UAC,
// test/bench/sipp/pbx-uac.xml) and as the carrier (UAS, carrier-uas.xml), processes of their own
// beside the cluster (nats-server with JetStream, one transport, two workers or WORKERS=n), so
// the generator's CPU stays out of the cluster's figures. Every call: INVITE, 100/180/200, ACK,
// 100 ms up, BYE, 200, over UDP. The trunk and the carrier have cluster-wide limits far above
// the load (trunk maxConcurrent/maxCps, carrier maxCps), and so has the transport's flood
// protection per source (the PBX is one source); records are on, tracing is off.
//
// Each step: SIPp places `rate` calls a second for `seconds`, then every figure is over that
// step, from SIPp's start to its exit: calls offered/answered/failed, INVITE→200 percentiles
// (from SIPp's message log, µs timestamps), CPU ms per answered call of each cluster process
// (/proc/<pid>/stat), worker heap after the step per answered call, UDP receive drops. Between
// steps the cluster rests SETTLE_SECONDS (default 35: the transactions' 32 s timers end) so a
// step's heap and CPU are its own. Steps are rates; `<rate>:off` runs that step with the limits
// taken off through the live configuration (sb-config); LIMITS=off adds one such step at the
// highest rate when none is given. SIPP_CPUS=<list> pins both SIPp processes with taskset.
// KEEP_SIPP_FILES=1 keeps SIPp's statistics, message and error logs (kept anyway after a failure).
//
// Needs SIPp (not installed by the test command): sudo apt-get install sip-tester
// SPILL_ABOVE=<0..1> sets that edge-worker's transport.edgeWorker.spillAboveLoad (1: never spill).
// LAYOUT=edge-worker runs transport t1 and worker w1 in one process (switchboard-edge-worker).
// Usage: [WORKERS=2] [LAYOUT=separate|edge-worker] [LIMITS=off] [SIPP_CPUS=1] [SETTLE_SECONDS=35] [KEEP_SIPP_FILES=1] node test/dist/bench/load.js [--seconds=20] [rate[:off] ...=100 500 1000]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { AdminClient } from '@switchboard/admin';
import { startNatsServer, type ManagedProcess } from '@switchboard/testkit';
import { decodeMap, Subjects } from '@switchboard/wire';
import { edgeWorkerSpillYaml as spillYaml, engineRoot, oneCarrierTrunking, startEdgeWorker, startTransport, startWorker, workersKnown, writeCluster } from '../support/cluster.js';
import { clockTicks, cpuMs, machineCpuMs, udpCounters, udpSocketDrops } from '../support/proc-stats.js';
import { childrenCpuTicks, freeUdpPort, readFinalStats, readInviteTimes, sippVersion, SIPP_INSTALL_COMMAND, startCarrierUas, startPbxStep } from '../support/sipp.js';

interface Step {
  rate: number;
  limits: boolean;
}

function usage(problem: string): never {
  console.error(`${problem}\nusage: [WORKERS=2] [LAYOUT=separate|edge-worker] [LIMITS=off] [SIPP_CPUS=1] [SETTLE_SECONDS=35] node test/dist/bench/load.js [--seconds=20] [rate[:off] ...]`);
  process.exit(2);
}

let seconds = 20;
const steps: Step[] = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i] ?? '';
  const flag = /^--seconds(?:=(.*))?$/.exec(arg);
  if (flag !== null) {
    seconds = Number(flag[1] ?? args[++i]);
    if (!(seconds > 0)) usage(`--seconds: expected a positive number, got ${flag[1] ?? args[i]}`);
    continue;
  }
  const step = /^(\d+)(:off)?$/.exec(arg);
  if (step === null || Number(step[1]) <= 0) usage(`${arg}: expected a rate in calls/s, optionally followed by :off (limits off)`);
  steps.push({ rate: Number(step[1]), limits: step[2] === undefined });
}
if (steps.length === 0) steps.push(...[100, 500, 1000].map((rate) => ({ rate, limits: true })));
if (process.env.LIMITS === 'off' && steps.every((s) => s.limits)) steps.push({ rate: Math.max(...steps.map((s) => s.rate)), limits: false });
const workerCount = Number(process.env.WORKERS ?? 2);
if (!Number.isInteger(workerCount) || workerCount < 1) usage(`WORKERS: expected a whole number ≥ 1, got ${process.env.WORKERS}`);
const settleSeconds = Number(process.env.SETTLE_SECONDS ?? 35);
const sippCpus = process.env.SIPP_CPUS === '' ? undefined : process.env.SIPP_CPUS;

const sipp = sippVersion();
if (sipp === undefined) {
  console.error(`SIPp is not installed. This benchmark's load generator is the Debian/Ubuntu package sip-tester (the tests do not need it):\n  ${SIPP_INSTALL_COMMAND}`);
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function pidOf(p: ManagedProcess): number {
  if (p.child.pid === undefined) throw new Error(`${p.name} has no pid: it did not start`);
  return p.child.pid;
}

const LIMITS = { maxConcurrent: 50_000, maxCps: 5_000, carrierMaxCps: 5_000 };
/** The trunk `acme` for the PBX at 127.0.0.1 (its ACL), every number routed to the SIPp carrier; limits far above the load when `on`. */
function trunking(carrierPort: number, on: boolean): unknown {
  const t = oneCarrierTrunking(carrierPort) as { carriers: Record<string, unknown>[]; trunks: Record<string, unknown>[] };
  if (on) {
    for (const trunk of t.trunks) trunk.restrictions = { maxConcurrent: LIMITS.maxConcurrent, maxCps: LIMITS.maxCps };
    for (const carrier of t.carriers) carrier.maxCps = LIMITS.carrierMaxCps;
  }
  return t;
}

// --- the cluster and the carrier -------------------------------------------------------------
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim(); // workers' stats measure heap after a collection
delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT; // tracing off in every child
delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
const dir = mkdtempSync(join(tmpdir(), 'switchboard-load-'));
const nats = await startNatsServer();
const { proc: carrier, port: carrierPort } = await startCarrierUas({ dir, ...(sippCpus === undefined ? {} : { cpus: sippCpus }) });
// the edge's flood protection bans a source past 400 out-of-dialog requests/s by default (a PBX
// at 100 calls/s): one SIPp PBX is a single source, so the benchmark lifts it far above the load
// as it does the trunk's limits, or a step past 400 calls/s would measure the ban
const EDGE = { perSourceRate: 50_000, burst: 100_000 };
const edgeYaml = spillYaml() + `  edge: { perSourceRate: ${EDGE.perSourceRate}, burst: ${EDGE.burst} }`;
const colocated = process.env.LAYOUT === 'edge-worker';
let limitsOn = steps[0]?.limits ?? true;
const file = writeCluster(nats.url, trunking(carrierPort, limitsOn), { transportYaml: edgeYaml });
const workerIds = Array.from({ length: workerCount }, (_, i) => `w${i + 1}`);
const transport = colocated ? await startEdgeWorker('w1', file, nats.url) : await startTransport('t1', nats.url, { transportYaml: edgeYaml });
const workers: ManagedProcess[] = colocated ? [transport.proc] : [];
for (const id of colocated ? workerIds.slice(1) : workerIds) workers.push(await startWorker(id, file, nats.url));
await workersKnown(transport, workerIds);
const nc = await connect({ servers: nats.url });
const admin = new AdminClient(nc, 10_000);

/** The cluster's processes: their CPU per call is the figure that travels between machines. */
const measured = [
  ...(colocated ? [] : [{ name: 'transport t1', pid: pidOf(transport.proc) }]),
  ...workers.map((w, i) => ({ name: colocated && i === 0 ? 'edge-worker t1+w1' : `worker ${workerIds[i]}`, pid: pidOf(w) })),
  { name: 'nats-server', pid: pidOf(nats.process) },
];

/** Takes the limits off (or puts them back) through the live configuration, and waits until every worker runs it. */
async function setLimits(on: boolean): Promise<void> {
  if (on === limitsOn) return;
  const before = await admin.getConfig();
  const written = await admin.setConfig(trunking(carrierPort, on), before.revision);
  await Promise.all(workers.map((w) => w.waitFor((l) => l.json?.event === 'config-applied' && l.json.revision === written.revision, 15_000)));
  limitsOn = on;
}

async function workerStats(): Promise<{ calls: number; heapUsed: number }[]> {
  return Promise.all(workerIds.map(async (id) => decodeMap((await nc.request(Subjects.workerStats(id), new Uint8Array(0), { timeout: 10_000 })).data) as { calls: number; heapUsed: number }));
}

/** Rests `restSeconds`, then until no call is up on any worker; the stats then (heap after a collection). */
async function settle(restSeconds: number): Promise<{ calls: number; heapUsed: number }[]> {
  await sleep(restSeconds * 1000);
  for (let waited = 0; ; waited++) {
    const stats = await workerStats();
    if (stats.every((s) => s.calls === 0)) return stats;
    if (waited === 60) console.log(`(still ${stats.reduce((n, s) => n + s.calls, 0)} calls up on the workers after ${restSeconds + 60} s of rest)`);
    await sleep(1000);
  }
}

// --- one step -------------------------------------------------------------------------------
interface StepResult {
  rate: number;
  seconds: number;
  limits: boolean;
  offered: number;
  answered: number;
  failed: number;
  failedBy: Record<string, number>;
  /** From the first call's INVITE to the last one's: what SIPp really offered. */
  offeredSpanS: number;
  latency: { p50: number; p99: number; p999: number; max: number };
  /** CPU ms per answered call: each of `measured`, their sum, and the SIPp processes. */
  cpuMsPerCall: Record<string, number>;
  heapBytesPerCall: number;
  callsLeft: number;
  udp: { rcvbufErrors: number; inErrors: number; transportSocket: number; carrierSocket: number; pbxSocket: number };
  /**
   * The machine over the step: its wall time, the share of its CPUs busy, and the cores (on
   * average) that processes outside this benchmark kept busy: other work on a shared machine.
   */
  machine: { wallS: number; busyShare: number; othersCores: number; stealCores: number };
  /** Warnings and errors the transport and the workers logged in the step, by message. */
  clusterWarnings: Record<string, number>;
  sippExit: number | null;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

let stepFailures = 0;
async function drive(rate: number, stepSeconds: number, name: string, limits: boolean): Promise<StepResult> {
  const pbxPort = await freeUdpPort();
  const heapBefore = await settle(name === 'warm-up' ? 0 : settleSeconds);
  const udpBefore = udpCounters();
  const socketsBefore = { transport: udpSocketDrops(transport.udpPort) ?? 0, carrier: udpSocketDrops(carrierPort) ?? 0 };
  const cpuBefore = measured.map((m) => cpuMs(m.pid));
  const carrierCpuBefore = cpuMs(pidOf(carrier));
  const machineBefore = machineCpuMs();
  const ownBefore = process.cpuUsage();
  const startedAt = performance.now();
  const logged = clusterLogs.map((p) => p.lines.length);
  const step = startPbxStep({ target: { host: '127.0.0.1', port: transport.udpPort }, localPort: pbxPort, rate, seconds: stepSeconds, number: '+14155550100', dir, name, ...(sippCpus === undefined ? {} : { cpus: sippCpus }) });
  // the PBX's socket closes with SIPp: its drop count is read while it runs
  let pbxDrops = 0;
  const sampler = setInterval(() => (pbxDrops = Math.max(pbxDrops, udpSocketDrops(pbxPort) ?? 0)), 250);
  const exit = await step.proc.exited;
  clearInterval(sampler);
  const wallMs = performance.now() - startedAt;
  const machineAfter = machineCpuMs();
  const own = process.cpuUsage(ownBefore);
  const cpu = measured.map((m, i) => cpuMs(m.pid) - (cpuBefore[i] ?? NaN));
  const carrierCpu = cpuMs(pidOf(carrier)) - carrierCpuBefore;
  const pbxCpu = ((childrenCpuTicks(step.proc) ?? NaN) * 1000) / clockTicks;
  const udpAfter = udpCounters();
  const socketsAfter = { transport: udpSocketDrops(transport.udpPort) ?? 0, carrier: udpSocketDrops(carrierPort) ?? 0 };
  if (exit !== 0 && exit !== 1) {
    throw new Error(`SIPp (the PBX, ${name}) exited with ${exit}:\n${step.proc.output(40)}\n${readTail(step.files.errors)}`);
  }
  const heapAfter = await workerStats();
  const stats = readFinalStats(step.files.stats);
  const times = readInviteTimes(step.files.messages);
  const answered = times.latenciesMs.length;
  const failedBy = Object.fromEntries(Object.entries(stats).filter(([k, v]) => k.startsWith('Failed') && k !== 'FailedCall' && v > 0));
  const perCall = (ms: number) => ms / Math.max(1, answered);
  const cpuMsPerCall: Record<string, number> = Object.fromEntries(measured.map((m, i) => [m.name, perCall(cpu[i] ?? NaN)]));
  cpuMsPerCall['cluster total'] = perCall(cpu.reduce((s, v) => s + v, 0));
  cpuMsPerCall['sipp PBX'] = perCall(pbxCpu);
  cpuMsPerCall['sipp carrier'] = perCall(carrierCpu);
  const heapDelta = heapAfter.reduce((s, w) => s + w.heapUsed, 0) - heapBefore.reduce((s, w) => s + w.heapUsed, 0);
  const result: StepResult = {
    rate, seconds: stepSeconds, limits,
    offered: stats.OutgoingCall ?? times.invites, answered, failed: stats.FailedCall ?? NaN, failedBy,
    offeredSpanS: (times.lastInviteUs - times.firstInviteUs) / 1e6 + 1 / rate,
    latency: { p50: percentile(times.latenciesMs, 50), p99: percentile(times.latenciesMs, 99), p999: percentile(times.latenciesMs, 99.9), max: times.latenciesMs[times.latenciesMs.length - 1] ?? NaN },
    cpuMsPerCall, heapBytesPerCall: heapDelta / Math.max(1, answered), callsLeft: heapAfter.reduce((s, w) => s + w.calls, 0),
    udp: {
      rcvbufErrors: (udpAfter.RcvbufErrors ?? 0) - (udpBefore.RcvbufErrors ?? 0), inErrors: (udpAfter.InErrors ?? 0) - (udpBefore.InErrors ?? 0),
      transportSocket: socketsAfter.transport - socketsBefore.transport, carrierSocket: socketsAfter.carrier - socketsBefore.carrier, pbxSocket: pbxDrops,
    },
    machine: {
      wallS: wallMs / 1000,
      busyShare: (machineAfter.busy - machineBefore.busy) / (machineAfter.busy - machineBefore.busy + machineAfter.idle - machineBefore.idle),
      othersCores: (machineAfter.busy - machineBefore.busy - cpu.reduce((s, v) => s + v, 0) - carrierCpu - pbxCpu - (own.user + own.system) / 1000) / wallMs,
      stealCores: (machineAfter.steal - machineBefore.steal) / wallMs,
    },
    clusterWarnings: warningsSince(logged),
    sippExit: exit,
  };
  if (result.failed > 0 || exit !== 0) stepFailures++;
  return result;
}

/** The processes whose warnings a step reports. */
const clusterLogs = colocated ? workers : [transport.proc, ...workers];
/** pino lines at warn (40) or above that the cluster printed since `from` (line counts per process), by message. */
function warningsSince(from: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  clusterLogs.forEach((p, i) => {
    for (const line of p.lines.slice(from[i] ?? 0)) {
      const level = line.json?.level;
      if (typeof level === 'number' && level >= 40) {
        const key = `${p.name}: ${String(line.json?.msg ?? line.text)}`;
        out[key] = (out[key] ?? 0) + 1;
      }
    }
  });
  return out;
}

function readTail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path})`;
  }
}

// --- printing -------------------------------------------------------------------------------
const row = (k: string, v: string) => console.log(`  ${k.padEnd(30)} ${v}`);
const ms = (v: number) => `${v.toFixed(2)} ms`;
function printStep(r: StepResult, index: number): void {
  const limits = r.limits ? `limits on (trunk maxConcurrent ${LIMITS.maxConcurrent}, maxCps ${LIMITS.maxCps}; carrier maxCps ${LIMITS.carrierMaxCps})` : 'limits off';
  console.log(`\nstep ${index + 1} of ${steps.length}: ${r.rate} calls/s for ${r.seconds} s, ${limits}`);
  row('offered', `${r.offered} calls, INVITEs over ${r.offeredSpanS.toFixed(2)} s (${(r.offered / r.offeredSpanS).toFixed(1)}/s)`);
  row('answered (200 to the INVITE)', `${r.answered} (${(r.answered / r.offeredSpanS).toFixed(1)}/s)`);
  const reasons = Object.entries(r.failedBy).map(([k, v]) => `${k} ${v}`).join(', ');
  row('failed (scenario not completed)', `${r.failed} (${((100 * r.failed) / Math.max(1, r.offered)).toFixed(2)} %)${reasons === '' ? '' : `: ${reasons}`}${r.sippExit === 0 ? '' : `; sipp exit ${r.sippExit}`}`);
  row('INVITE→200', `p50 ${ms(r.latency.p50)} · p99 ${ms(r.latency.p99)} · p99.9 ${ms(r.latency.p999)} · max ${ms(r.latency.max)}`);
  console.log(`  CPU ms per answered call (user+system, /proc/<pid>/stat in ${(1000 / clockTicks).toFixed(0)} ms ticks, SIPp's start to its exit):`);
  for (const [name, v] of Object.entries(r.cpuMsPerCall)) row(`  ${name}${name.startsWith('sipp') ? ' (not in total)' : ''}`, v.toFixed(3));
  row('worker heap after the step', `${r.heapBytesPerCall >= 0 ? '+' : ''}${Math.round(r.heapBytesPerCall)} bytes per answered call (after a GC; the calls ended, their transactions still in their timers)${r.callsLeft === 0 ? '' : `; ${r.callsLeft} calls still up`}`);
  row('the machine in the step', `${r.machine.wallS.toFixed(1)} s, CPUs ${(100 * r.machine.busyShare).toFixed(0)} % busy; processes outside this benchmark used ${r.machine.othersCores.toFixed(2)} cores on average${r.machine.stealCores > 0.005 ? `, steal ${r.machine.stealCores.toFixed(2)} cores` : ''}`);
  const warnings = Object.entries(r.clusterWarnings).sort((a, b) => b[1] - a[1]);
  row('cluster warnings in the step', warnings.length === 0 ? 'none' : warnings.slice(0, 5).map(([m, n]) => `${n}× ${m}`).join('; ') + (warnings.length > 5 ? `; ${warnings.length - 5} more kinds` : ''));
  row('UDP receive drops in the step', `machine: RcvbufErrors +${r.udp.rcvbufErrors}, InErrors +${r.udp.inErrors}; sockets: transport ${r.udp.transportSocket}, sipp carrier ${r.udp.carrierSocket}, sipp PBX ${r.udp.pbxSocket}`);
}

console.log(`load benchmark: ${sipp} PBX (UAC) → transport → ${workerCount} workers → ${sipp} carrier (UAS), UDP, calls up 100 ms; records on, tracing off`);
console.log(`transport edge per-source rate ${EDGE.perSourceRate}/s, burst ${EDGE.burst} (the default 400/s would ban the one PBX source)`);
console.log(`transport and workers from ${engineRoot}; ${sippCpus === undefined ? 'SIPp not pinned (SIPP_CPUS unset)' : `SIPp pinned with taskset -c ${sippCpus}`}; SIPp files in ${dir}`);

const warm = await drive(50, 2, 'warm-up', limitsOn);
console.log(`warm-up: 50 calls/s for 2 s, ${warm.answered} of ${warm.offered} answered, ${warm.failed} failed`);
if (warm.answered === 0) throw new Error(`no call was answered in the warm-up; SIPp errors:\n${readTail(join(dir, 'warm-up-errors.log'))}\ncarrier errors:\n${readTail(join(dir, 'carrier-errors.log'))}`);

const results: StepResult[] = [];
for (const [i, step] of steps.entries()) {
  await setLimits(step.limits);
  const r = await drive(step.rate, seconds, `step-${i + 1}-${step.rate}${step.limits ? '' : '-nolimits'}`, step.limits);
  results.push(r);
  printStep(r, i);
}

console.log(`\n| offered | limits | answered | failed | INVITE→200 p50 / p99 / p99.9 | CPU ms per call: ${measured.map((m) => m.name).join(' + ')} = cluster | heap B/call | UDP drops (machine) | other work (cores) |`);
console.log(`|---|---|---|---|---|---|---|---|---|`);
for (const r of results) {
  const parts = measured.map((m) => (r.cpuMsPerCall[m.name] ?? NaN).toFixed(2)).join(' + ');
  console.log(`| ${r.rate}/s × ${r.seconds} s | ${r.limits ? 'on' : 'off'} | ${(r.answered / r.offeredSpanS).toFixed(1)}/s | ${r.failed} | ${r.latency.p50.toFixed(1)} / ${r.latency.p99.toFixed(1)} / ${r.latency.p999.toFixed(1)} ms | ${parts} = **${(r.cpuMsPerCall['cluster total'] ?? NaN).toFixed(2)}** | ${Math.round(r.heapBytesPerCall)} | ${r.udp.rcvbufErrors} | ${r.machine.othersCores.toFixed(2)} |`);
}
const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
console.log(`summary: ${JSON.stringify({
  generator: sipp, workers: workerCount, sippCpus: sippCpus ?? null, seconds,
  steps: results.map((r) => ({
    rate: r.rate, limits: r.limits, offered: r.offered, answered: r.answered, failed: r.failed, answeredPerSecond: round(r.answered / r.offeredSpanS, 1),
    latencyMs: { p50: round(r.latency.p50), p99: round(r.latency.p99), p999: round(r.latency.p999), max: round(r.latency.max) },
    cpuMsPerCall: Object.fromEntries(Object.entries(r.cpuMsPerCall).map(([k, v]) => [k, round(v)])),
    heapBytesPerCall: Math.round(r.heapBytesPerCall), udp: r.udp,
    machine: { wallS: round(r.machine.wallS, 1), busyShare: round(r.machine.busyShare, 2), othersCores: round(r.machine.othersCores, 2), stealCores: round(r.machine.stealCores, 2) },
  })),
})}`);

await nc.close();
await Promise.all(workers.map((w) => w.stop('SIGINT')));
await transport.proc.stop();
await carrier.stop('SIGUSR1');
await nats.stop();
if (stepFailures === 0 && process.env.KEEP_SIPP_FILES !== '1') rmSync(dir, { recursive: true, force: true });
else console.log(`SIPp's files kept: ${dir}`);
