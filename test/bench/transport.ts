// Round-trip benchmark of the transport path: UDP load client → transport node → NATS →
// echo worker (full parse, 200 OK built and serialised) → NATS → transport node → client.
// Prints round trips/s at saturation (closed loop) and latency percentiles at half that
// rate (open loop). Usage: node test/dist/bench/transport.js [seconds=5] [window=256]
import dgram from 'node:dgram';
import { readRoutingFields } from '@switchboard/sip';
import { requestText, startNatsServer } from '@switchboard/testkit';
import { startEchoWorker, startTransport, workersKnown } from '../support/cluster.js';

const seconds = Number(process.argv[2] ?? 5);
const window = Number(process.argv[3] ?? 256);

const nats = await startNatsServer();
const transport = await startTransport('tb', nats.url);
const worker = await startEchoWorker('wb', nats.url);
await workersKnown(transport, ['wb']);

const socket = dgram.createSocket('udp4');
await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
socket.setRecvBufferSize?.(8 * 1024 * 1024);
socket.setSendBufferSize?.(8 * 1024 * 1024);

const sentAt = new Map<string, bigint>();
let seq = 0;
let onAnswer: (rttNs: number) => void = () => undefined;
socket.on('message', (data) => {
  const { callId } = readRoutingFields(data);
  const t0 = sentAt.get(callId);
  if (t0 === undefined) return;
  sentAt.delete(callId);
  onAnswer(Number(process.hrtime.bigint() - t0));
});

const prefix = `bench${process.pid}`;
function send(): void {
  const callId = `${prefix}-${++seq}@bench.example`;
  const msg = Buffer.from(requestText({ method: 'OPTIONS', callId, branch: `z9hG4bK${seq}`, fromTag: 'b1' }));
  sentAt.set(callId, process.hrtime.bigint());
  socket.send(msg, transport.udpPort, '127.0.0.1');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Closed loop: `window` requests outstanding; every answer sends the next. */
async function saturate(durationS: number): Promise<{ rate: number; lost: number }> {
  let answered = 0;
  let stop = false;
  onAnswer = () => {
    answered++;
    if (!stop) send();
  };
  const start = process.hrtime.bigint();
  for (let i = 0; i < window; i++) send();
  // top up the window for anything lost on the way (UDP may drop under overload)
  const topUp = setInterval(() => {
    for (let i = sentAt.size; i < window; i++) send();
  }, 200);
  await new Promise((r) => setTimeout(r, durationS * 1000));
  stop = true;
  clearInterval(topUp);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  await new Promise((r) => setTimeout(r, 500));
  const lost = sentAt.size;
  sentAt.clear();
  return { rate: answered / elapsed, lost };
}

/** Open loop at `rate` round trips/s: latency of each answer. */
async function paced(rate: number, durationS: number): Promise<{ rtts: number[]; sent: number }> {
  const rtts: number[] = [];
  onAnswer = (ns) => rtts.push(ns / 1e6);
  let sent = 0;
  const start = Date.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.floor(((Date.now() - start) / 1000) * rate);
      while (sent < due) {
        send();
        sent++;
      }
      if (Date.now() - start >= durationS * 1000) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await new Promise((r) => setTimeout(r, 500));
  sentAt.clear();
  return { rtts: rtts.sort((a, b) => a - b), sent };
}

await saturate(1); // warm-up: JIT, NATS connections, socket buffers
const max = await saturate(seconds);
const half = Math.round(max.rate / 2);
const { rtts, sent } = await paced(half, seconds);

const row = (k: string, v: string) => console.log(`${k.padEnd(34)} ${v}`);
console.log(`transport round trip (UDP client → transport → NATS → echo worker → back), ${seconds} s per phase`);
row('saturation, closed loop', `${Math.round(max.rate).toLocaleString('en-US')} round trips/s (window ${window}, ${max.lost} unanswered)`);
row(`latency at ${half.toLocaleString('en-US')}/s, open loop`, `p50 ${percentile(rtts, 50).toFixed(3)} ms · p99 ${percentile(rtts, 99).toFixed(3)} ms · p99.9 ${percentile(rtts, 99.9).toFixed(3)} ms (${rtts.length}/${sent} answered)`);

socket.close();
await Promise.all([worker.stop(), transport.proc.stop()]);
await nats.stop();
