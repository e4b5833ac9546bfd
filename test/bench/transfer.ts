// Transfer benchmark: how long a blind transfer's new leg takes to leave the engine. A PBX UA
// places a call through transport → two workers → carrier, then REFERs it to a number routed to
// a carrier of its own; the figure is REFER sent → that carrier's UA reading the new INVITE,
// while a background load of calls runs through the same cluster (all on this machine, with a
// nats-server). Each transferred call is held 1 s by the target, then hung up; so is each
// background call.
// BACKGROUND=sipp (default) places the background calls from SIPp (a PBX UAC and a carrier UAS,
// processes of their own, test/bench/sipp); BACKGROUND=ua from testkit UAs in this process, as
// the figures before 2026-12-06's fifth session were taken: that load's garbage then pauses the
// process that reads the new INVITE (scavenges of 15–25 ms here, one every ~0.7 s) and shows up
// in the percentiles as if it were the cluster's.
// LAYOUT=edge-worker runs transport t1 and worker w1 in one process (switchboard-edge-worker).
// Usage: [WARMUP_SECONDS=0] [LAYOUT=separate|edge-worker] [BACKGROUND=sipp|ua] node test/dist/bench/transfer.js [transfers=200] [backgroundCps=100]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipUri, type SipRequest } from '@switchboard/sip';
import { isFinalNotify, sipfragStatus, startNatsServer, UserAgent, type Call } from '@switchboard/testkit';
import { startEdgeWorker, startTransport, startWorker, workersKnown, writeCluster } from '../support/cluster.js';
import { freeUdpPort, readFinalStats, sippVersion, SIPP_INSTALL_COMMAND, startCarrierUas, startPbxStep } from '../support/sipp.js';

const transfers = Number(process.argv[2] ?? 200);
const backgroundCps = Number(process.argv[3] ?? 100);
const transfersPerSecond = 10;
// WARMUP_SECONDS=<n>: n seconds more of uncounted transfers first, over the background load: V8 is
// still compiling the hot paths for ~30 s after a process starts (calls.ts, README "Where issue 17 stands")
const warmupTransfers = 10 + Number(process.env.WARMUP_SECONDS ?? 0) * transfersPerSecond;
const holdMs = 1_000;

const PBX_HOST = '127.0.0.10';
const BACKGROUND_PBX_HOST = '127.0.0.11';
const CARRIER_HOST = '127.0.0.21';
const TARGETS_HOST = '127.0.0.22';
const DOMAIN = 'acme.trunks.example';
/** Transfer targets are numbers under this prefix, routed to the targets' carrier alone. */
const TARGET_PREFIX = '+1555';

/** The background load's SIPp PBX (its INVITEs name this domain) and the number it dials. */
const SIPP_DOMAIN = 'trunk.example';
const SIPP_NUMBER = '+14155550199';

function trunking(ports: { pbx: number; targets: number }, carrier: { host: string; port: number }, sippBackground: boolean) {
  return {
    carriers: [
      // the SIPp carrier and the SIPp PBX share 127.0.0.1: the carrier's calls are not told apart by source
      { id: 'carrier', addresses: [carrier], ...(sippBackground ? { sources: [] } : {}) },
      { id: 'targets', addresses: [{ host: TARGETS_HOST, port: ports.targets }] },
    ],
    trunks: [{
      id: 'acme', domain: DOMAIN, acl: [`${PBX_HOST}/32`, `${BACKGROUND_PBX_HOST}/32`],
      dids: ['+14155550100'],
      origination: { uris: [`sip:${PBX_HOST}:${ports.pbx}`] },
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '+1', carriers: ['carrier'] }, { prefix: TARGET_PREFIX, carriers: ['targets'] }],
      callerId: { allowed: ['+1212'] },
    }, ...(sippBackground ? [{
      id: 'background', domain: SIPP_DOMAIN, acl: ['127.0.0.1/32'],
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '', carriers: ['carrier'] }], callerId: { allowed: ['+1'] },
    }] : [])],
  };
}

const backgroundKind = process.env.BACKGROUND ?? 'sipp';
if (backgroundKind !== 'sipp' && backgroundKind !== 'ua') throw new Error(`BACKGROUND=${backgroundKind}: sipp or ua`);
const sippBackground = backgroundKind === 'sipp';
if (sippBackground && sippVersion() === undefined) {
  console.error(`SIPp is not installed: it places this benchmark's background calls (or run it with BACKGROUND=ua):\n  ${SIPP_INSTALL_COMMAND}`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'switchboard-transfer-bench-'));
const nats = await startNatsServer();
const sippCarrier = sippBackground ? await startCarrierUas({ dir }) : undefined;
const carrier = sippBackground ? undefined : await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, keepHistory: false, timeoutMs: 30_000 });
carrier?.onInvite({ trying: true });
const targets = await UserAgent.start({ name: 'targets', host: TARGETS_HOST, keepHistory: false, timeoutMs: 30_000 });
const pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100', timeoutMs: 30_000 });
const backgroundPbx = sippBackground ? undefined : await UserAgent.start({ name: 'background-pbx', host: BACKGROUND_PBX_HOST, user: '+12125550111', keepHistory: false, timeoutMs: 30_000 });
const colocated = process.env.LAYOUT === 'edge-worker';
const carrierAddress = sippCarrier === undefined ? { host: CARRIER_HOST, port: carrier?.port ?? 0 } : { host: '127.0.0.1', port: sippCarrier.port };
const file = writeCluster(nats.url, trunking({ pbx: pbx.port, targets: targets.port }, carrierAddress, sippBackground), { limitsBucket: 'transfer-bench' });
const transport = colocated ? await startEdgeWorker('w1', file, nats.url) : await startTransport('t1', nats.url);
const workers = colocated ? [await startWorker('w2', file, nats.url)] : [await startWorker('w1', file, nats.url), await startWorker('w2', file, nats.url)];
await workersKnown(transport, ['w1', 'w2']);
const edge = { host: '127.0.0.1', port: transport.udpPort };

/** The transfers awaiting their new INVITE, by target number (the R-URI's user part). */
const awaitingInvite = new Map<string, (at: number) => void>();
targets.onInvite((invite: SipRequest) => {
  // read when the UA parses the datagram: the same clock as the REFER's send time
  const at = performance.now();
  const number = invite.uri instanceof SipUri ? invite.uri.user : undefined;
  if (number !== undefined) awaitingInvite.get(number)?.(at);
  return { trying: true, hangupAfter: holdMs };
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Background {
  stop(): Promise<{ answered: number; failed: number }>;
}

/** SIPp places calls at `cps` for `seconds`, each held `holdMs`; stop() waits for its last call to end. */
async function sippBackgroundLoad(cps: number, seconds: number): Promise<Background> {
  const step = startPbxStep({ target: edge, localPort: await freeUdpPort(), rate: cps, seconds, number: SIPP_NUMBER, dir, name: 'background', holdMs });
  return {
    async stop() {
      const exit = await step.proc.exited;
      if (exit !== 0 && exit !== 1) throw new Error(`SIPp (the background PBX) exited with ${exit}:\n${step.proc.output(40)}`);
      const stats = readFinalStats(step.files.stats);
      return { answered: stats.SuccessfulCall ?? NaN, failed: stats.FailedCall ?? NaN };
    },
  };
}

/** Places calls at `cps` from the background PBX UA until stopped; each is held `holdMs`, then hung up. */
function uaBackgroundLoad(ua: UserAgent, cps: number): Background {
  let answered = 0;
  let failed = 0;
  let placed = 0;
  const pending: Promise<void>[] = [];
  /** Calls the PBX stopped waiting for (no 2xx within its timeout): they may still be answered later. */
  const abandoned: Call[] = [];
  const start = Date.now();
  const tick = setInterval(() => {
    const due = Math.floor(((Date.now() - start) / 1000) * cps);
    while (placed < due) {
      placed++;
      const call = ua.call({ to: `sip:+1415${String(2_000_000 + placed).padStart(7, '0')}@${DOMAIN}`, via: edge });
      pending.push(call.answered.then(
        async () => {
          answered++;
          await sleep(holdMs);
          await call.hangup().catch(() => undefined);
        },
        () => {
          failed++;
          abandoned.push(call);
        },
      ));
    }
  }, 5);
  return {
    async stop() {
      clearInterval(tick);
      await Promise.all(pending);
      // an abandoned call is ended like a PBX would: CANCEL while unanswered, BYE if it was answered late
      await Promise.all(abandoned.map((c) => c.hangup().catch(() => undefined)));
      return { answered, failed };
    },
  };
}

type TransferOutcome = { ok: true; referToInviteMs: number } | { ok: false; why: string };

let transferSeq = 0;
/** One blind transfer: a call up, REFER to a target number, the new INVITE timed at the target; then hung up. */
async function transferOnce(): Promise<TransferOutcome> {
  const i = ++transferSeq;
  const call = pbx.call({ to: `sip:+1415${String(3_000_000 + i).padStart(7, '0')}@${DOMAIN}`, via: edge });
  try {
    await call.established;
  } catch {
    await call.hangup().catch(() => undefined);
    return { ok: false, why: 'the call to transfer was not answered' };
  }
  const target = `${TARGET_PREFIX}${String(i).padStart(7, '0')}`;
  let arrived: (at: number) => void = () => undefined;
  const invited = new Promise<number>((resolve) => (arrived = resolve));
  awaitingInvite.set(target, arrived);
  const t0 = performance.now();
  const accepted = call.refer(`sip:${target}@${DOMAIN}`);
  let outcome: TransferOutcome;
  try {
    const res = await accepted;
    if (res.status !== 202) throw new Error(`REFER answered ${res.status}`);
    const at = await Promise.race([invited, sleep(10_000).then(() => Promise.reject(new Error('no INVITE at the target within 10 s')))]);
    outcome = { ok: true, referToInviteMs: at - t0 };
    const final = await call.waitForNotify(isFinalNotify, 10_000);
    if (sipfragStatus(final) !== 200) outcome = { ok: false, why: `final NOTIFY ${sipfragStatus(final)}` };
  } catch (err) {
    outcome = { ok: false, why: err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err) };
  }
  awaitingInvite.delete(target);
  // RFC 5589 §6: the transferor leaves; the target ends the bridged call after holdMs
  await call.hangup().catch(() => undefined);
  return outcome;
}

/** `count` transfers started at `perSecond`, each running on its own. */
async function runTransfers(count: number, perSecond: number): Promise<TransferOutcome[]> {
  const runs: Promise<TransferOutcome>[] = [];
  for (let k = 0; k < count; k++) {
    runs.push(transferOnce());
    await sleep(1000 / perSecond);
  }
  return Promise.all(runs);
}

console.log(`transfer benchmark: PBX UA → transport → 2 workers → carrier UA, UDP, all on this machine; REFER → new INVITE at the target's carrier UA${colocated ? '; t1 and w1 in one process (LAYOUT=edge-worker)' : ''}`);
console.log(`  ${transfers} transfers at ${transfersPerSecond}/s (after ${warmupTransfers} uncounted), background ${backgroundCps} calls/s held ${holdMs} ms from ${sippBackground ? `SIPp (${sippVersion()})` : 'a UA in this process (BACKGROUND=ua)'}`);

// the background runs from 2 s before the first transfer to past the last one
const backgroundSeconds = 2 + Math.ceil((warmupTransfers + transfers) / transfersPerSecond) + 1;
const load = backgroundPbx === undefined ? await sippBackgroundLoad(backgroundCps, backgroundSeconds) : uaBackgroundLoad(backgroundPbx, backgroundCps);
await sleep(2_000); // the background load reaches its steady state
await runTransfers(warmupTransfers, transfersPerSecond);
const outcomes = await runTransfers(transfers, transfersPerSecond);
const bg = await load.stop();
await sleep(holdMs + 1_000); // the targets' BYEs of the last transfers

const latencies = outcomes.flatMap((o) => (o.ok ? [o.referToInviteMs] : [])).sort((a, b) => a - b);
const failures = outcomes.flatMap((o) => (o.ok ? [] : [o.why]));
const ms = (v: number) => `${v.toFixed(1)} ms`;
console.log(`transfers: ${latencies.length}, REFER→INVITE p50 ${ms(percentile(latencies, 50))} · p99 ${ms(percentile(latencies, 99))} · max ${ms(latencies[latencies.length - 1] ?? NaN)}; background ${backgroundCps} calls/s: answered ${bg.answered}, failed ${bg.failed}`);
if (failures.length > 0) {
  const byWhy = new Map<string, number>();
  for (const why of failures) byWhy.set(why, (byWhy.get(why) ?? 0) + 1);
  console.log(`  transfers failed: ${failures.length} (${[...byWhy].map(([why, n]) => `${n}× ${why}`).join('; ')})`);
}

await Promise.all(workers.map((w) => w.stop('SIGINT')));
await transport.proc.stop();
await sippCarrier?.proc.stop('SIGUSR1');
for (const ua of [pbx, backgroundPbx, carrier, targets]) await ua?.stop();
await nats.stop();
rmSync(dir, { recursive: true, force: true });
