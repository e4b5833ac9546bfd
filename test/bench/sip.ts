// Throughput of the SIP message layer on realistic trunk traffic: the routing fast path,
// the full parse and the serializer, each on an INVITE with SDP and on its 200 OK.
// Not a test: it prints numbers. Run it on an idle machine:
//
//   node test/dist/bench/sip.js [--ms 1500]
//
// Each figure is measured in 10 windows after a warm-up: msgs/s and ns/op are the median
// window, `best` the fastest (on a shared machine the median moves with the neighbours' load).
import { parseMessage, readRoutingFields, serializeMessage, type SipMessage } from '@switchboard/sip';
import { INVITE, OK_200 } from '../fuzz/seeds.js';

const msArg = process.argv.indexOf('--ms');
const MEASURE_MS = msArg === -1 ? 1_500 : Number(process.argv[msArg + 1]);
const WARMUP_MS = 400;
const WINDOWS = 10;

/** Something the optimiser cannot prove unused. */
let sink = 0;

interface Result {
  message: string;
  bytes: number;
  operation: string;
  /** The median window's throughput. */
  opsPerSec: number;
  nsPerOp: number;
  /** The fastest window's throughput. */
  bestOpsPerSec: number;
  target: number;
}

/** Runs `fn` in batches for `ms` milliseconds; returns calls and elapsed nanoseconds. */
function time(fn: () => number, ms: number): { calls: number; ns: number } {
  const budget = BigInt(ms) * 1_000_000n;
  let batch = 64;
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < budget) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink ^= fn();
    calls += batch;
    const t1 = process.hrtime.bigint();
    elapsed = t1 - start;
    // keep each batch around 5 ms so the clock is read rarely
    if (t1 - t0 < 5_000_000n) batch *= 2;
  }
  return { calls, ns: Number(elapsed) };
}

function bench(message: string, bytes: number, operation: string, target: number, fn: () => number): Result {
  time(fn, WARMUP_MS);
  const rates: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const { calls, ns } = time(fn, MEASURE_MS / WINDOWS);
    rates.push((calls * 1e9) / ns);
  }
  rates.sort((a, b) => a - b);
  const median = ((rates[(WINDOWS - 1) >> 1] as number) + (rates[WINDOWS >> 1] as number)) / 2;
  return { message, bytes, operation, opsPerSec: median, nsPerOp: 1e9 / median, bestOpsPerSec: rates[WINDOWS - 1] as number, target };
}

const TARGETS = { routing: 1_000_000, parse: 300_000, serialize: 300_000 };

const messages: readonly [string, Buffer][] = [
  ['INVITE + SDP', INVITE],
  ['200 OK + SDP', OK_200],
];

// every benchmarked message must be one the layer accepts, or the numbers measure refusals
for (const [name, bytes] of messages) {
  const m = parseMessage(bytes);
  if (!serializeMessage(m).equals(bytes)) throw new Error(`${name} does not round-trip byte for byte`);
  if (readRoutingFields(bytes).callId === '') throw new Error(`${name}: no Call-ID on the fast path`);
}

const results: Result[] = [];
for (const [name, bytes] of messages) {
  results.push(bench(name, bytes.length, 'routing fast path', TARGETS.routing, () => readRoutingFields(bytes).cseq));
  results.push(bench(name, bytes.length, 'full parse', TARGETS.parse, () => parseMessage(bytes).body.length));
  const model: SipMessage = parseMessage(bytes);
  results.push(bench(name, bytes.length, 'serialize', TARGETS.serialize, () => serializeMessage(model).length));
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const header = ['message', 'bytes', 'operation', 'msgs/s', 'ns/op', 'best msgs/s', 'target msgs/s', ''];
const rows = results.map((r) => [
  r.message, String(r.bytes), r.operation, fmt(r.opsPerSec), fmt(r.nsPerOp), fmt(r.bestOpsPerSec), fmt(r.target),
  r.opsPerSec >= r.target ? 'ok' : 'MISSED',
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
const numeric = new Set([1, 3, 4, 5, 6]);
const line = (cells: string[]) =>
  cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();

console.log(
  `@switchboard/sip benchmark — node ${process.version}, ${WINDOWS} windows over ${MEASURE_MS} ms per measurement after ${WARMUP_MS} ms warm-up (msgs/s, ns/op: median window)`,
);
console.log(`message sizes: ${messages.map(([n, b]) => `${n} ${b.length} bytes`).join(', ')}`);
console.log();
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
if (sink === 0.5) console.log(sink); // keeps `sink` observable
