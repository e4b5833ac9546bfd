// Floor benchmark: what the I/O of a call costs on this machine with none of its SIP, to set
// against the cluster's CPU per call (calls.ts) and the goals of issue 17. A skeleton worker
// (floor-worker.ts: Node, dgram, the nats.js clients the engine uses) receives and sends back
// the datagrams a call's worker process receives and sends (5 each: strace counted 4.9 sendmsg
// and 4.9 recvmsg per call on the edge-worker at 100 calls/s), writes its snapshot at the answer,
// and deletes it and publishes its record at the end (the three JetStream writes of a call with
// snapshots and records on, against a file-stored nats-server). Printed per call: the skeleton's
// CPU, nats-server's, their sum. The driver (this process) is not counted. Sizes as calls.ts SUBJECTS=1 saw them.
// JETSTREAM=off leaves the writes out (the UDP alone), SPOOL=off the record's disk write; BATCH_MS=<n> makes the skeleton hold its
// writes n ms and make them together (a group commit).
// Usage: [WARMUP_SECONDS=10] [JETSTREAM=off] [SPOOL=off] [BATCH_MS=0] node test/dist/bench/floor.js [seconds=20] [rate…=100 500]
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { ManagedProcess, startNatsServer } from '@switchboard/testkit';
import { clockTicks, cpuMs } from '../support/proc-stats.js';

const seconds = Number(process.argv[2] ?? 20);
const rates = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [100, 500];
const warmupSeconds = Number(process.env.WARMUP_SECONDS ?? 10);
const holdMs = 1_000;
/** A call's datagrams to the worker: ms after its start, and its part ('A' answer, 'E' end, '-' other). */
const SCHEDULE: [number, string][] = [[0, '-'], [3, 'A'], [5, '-'], [holdMs, 'E'], [holdMs + 2, '-']];

const nats = await startNatsServer();
// a ManagedProcess: gone with this process, even if it throws
const child = ManagedProcess.node('floor-worker', fileURLToPath(new URL('./floor-worker.js', import.meta.url)), [nats.url]);
const port = Number((await child.waitForEvent('ready', 20_000)).port);
const failedWrites = () => child.lines.filter((l) => l.json?.event === 'write-failed').length;

const socket = createSocket('udp4');
let echoed = 0;
socket.on('message', () => echoed++);
await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));

let calls = 0;
/** Places calls at `rate` for `durationS` (their datagrams as SCHEDULE says); resolves when the last one ended. */
async function load(rate: number, durationS: number): Promise<{ placed: number; sent: number }> {
  const due: { at: number; datagram: Buffer }[] = [];
  const start = Date.now();
  let placed = 0;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = Date.now();
      while (placed < Math.min(Math.floor(((now - start) / 1000) * rate), rate * durationS)) {
        const id = (++calls).toString(16).padStart(16, '0');
        const at = start + (placed++ * 1000) / rate;
        for (const [offset, kind] of SCHEDULE) due.push({ at: at + offset, datagram: Buffer.from(`${kind}${id}${'x'.repeat(600)}`, 'latin1') });
      }
      due.sort((a, b) => a.at - b.at);
      while (due.length > 0 && (due[0]?.at ?? Infinity) <= now) {
        socket.send((due.shift() as { datagram: Buffer }).datagram, port, '127.0.0.1');
        sent++;
      }
      if (placed >= rate * durationS && due.length === 0) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  await new Promise((r) => setTimeout(r, 200)); // the last writes' acks
  return { placed, sent };
}

const pids = { worker: child.child.pid as number, nats: nats.process.child.pid as number };
const writes = process.env.JETSTREAM === 'off' ? '' : `, snapshot create/delete, one record${process.env.SPOOL === 'off' ? '' : ' (spooled)'}`;
console.log(`floor benchmark: a skeleton worker (UDP echo${writes}; no SIP) and nats-server, ${SCHEDULE.length} datagrams each way per call, calls held ${holdMs} ms`);
if (warmupSeconds > 0) await load(rates[0] ?? 100, warmupSeconds);
const row = (k: string, v: string) => console.log(`${k.padEnd(30)} ${v}`);
for (const rate of rates) {
  const before = { worker: cpuMs(pids.worker), nats: cpuMs(pids.nats), echoed, failed: failedWrites() };
  const { placed, sent } = await load(rate, seconds);
  const worker = (cpuMs(pids.worker) - before.worker) / placed;
  const server = (cpuMs(pids.nats) - before.nats) / placed;
  row(`${rate} calls/s for ${seconds} s`, `${placed} calls, ${echoed - before.echoed} of ${sent} datagrams back, ${failedWrites() - before.failed} writes failed`);
  row('  CPU ms per call', `skeleton worker ${worker.toFixed(3)} · nats-server ${server.toFixed(3)} · both ${(worker + server).toFixed(3)} (${(1000 / clockTicks).toFixed(0)} ms ticks)`);
}

await child.stop();
socket.close();
await nats.stop();
