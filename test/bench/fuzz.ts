// The parser fuzz loop at length (default 1,000,000 mutated messages): prints what parsed,
// what was refused by SipParseError code, and every failure; exits 1 on any failure.
//
//   node test/dist/bench/fuzz.js [count] [seed]          (or --count N --seed S)
//   SIP_FUZZ_COUNT=N SIP_FUZZ_SEED=S node test/dist/bench/fuzz.js
//   node test/dist/bench/fuzz.js --seed S --index I      (re-check and print one mutant)
import { check, escapeBytes, formatFailure, FRAMINGS, mutantSource, parseCount, parseSeed, run, type RunStats } from '../fuzz/harness.js';

const DEFAULT_SEED = 0x3261_4475; // the CI fuzz test's seed
const DEFAULT_COUNT = 1_000_000;

function args(argv: readonly string[]): { count?: string; seed?: string; index?: string } {
  const out: { count?: string; seed?: string; index?: string } = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const m = /^--(count|seed|index)(?:=(.*))?$/.exec(a);
    if (m !== null) {
      const value = m[2] ?? argv[++i];
      out[m[1] as 'count' | 'seed' | 'index'] = value;
    } else if (a === '--help' || a === '-h') {
      console.log('usage: node test/dist/bench/fuzz.js [count] [seed] | --count N --seed S | --seed S --index I');
      process.exit(0);
    } else positional.push(a);
  }
  out.count ??= positional[0];
  out.seed ??= positional[1];
  return out;
}

const a = args(process.argv.slice(2));
const seed = parseSeed(a.seed ?? process.env['SIP_FUZZ_SEED'], DEFAULT_SEED);

if (a.index !== undefined) {
  const index = Number(a.index);
  if (!Number.isInteger(index) || index < 0) throw new Error(`bad --index ${JSON.stringify(a.index)}`);
  const mutant = mutantSource().generate(seed, index);
  const v = check(mutant.bytes);
  console.log(`seed ${seed}, iteration ${index}: from ${mutant.seed} by ${mutant.ops.join(' + ') || 'no mutation'}, ${mutant.bytes.length} bytes`);
  console.log(`message: ${escapeBytes(mutant.bytes, 1 << 20)}`);
  console.log(`datagram: ${v.datagram}; stream: ${v.stream}`);
  for (const p of v.problems) console.log(`  - ${p}`);
  process.exit(v.problems.length === 0 ? 0 : 1);
}

const count = parseCount(a.count ?? process.env['SIP_FUZZ_COUNT'], DEFAULT_COUNT);
const fmt = (n: number) => n.toLocaleString('en-US');

console.log(`fuzzing @switchboard/sip: ${fmt(count)} mutated messages, seed ${seed} (${mutantSource().seeds.length} seeds)`);
const started = process.hrtime.bigint();
const stats = run({
  seed,
  count,
  keep: 20,
  progressEvery: 100_000,
  onProgress: (done, s) => {
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`  ${fmt(done)} done in ${secs.toFixed(1)} s, ${fmt(s.failed)} failed`);
  },
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;

function report(s: RunStats): void {
  console.log();
  console.log(`${fmt(s.count)} messages in ${seconds.toFixed(1)} s (${fmt(Math.round(s.count / seconds))} msgs/s)`);
  const codes = new Set<string>();
  for (const f of FRAMINGS) for (const c of s.refused[f].keys()) codes.add(c);
  const rows: [string, string, string][] = [['', 'datagram', 'stream']];
  rows.push(['parsed', fmt(s.parsed.datagram), fmt(s.parsed.stream)]);
  const refusedTotal = (f: (typeof FRAMINGS)[number]) => [...s.refused[f].values()].reduce((x, y) => x + y, 0);
  rows.push(['refused (SipParseError)', fmt(refusedTotal('datagram')), fmt(refusedTotal('stream'))]);
  const sorted = [...codes].sort((x, y) => (s.refused.datagram.get(y) ?? 0) - (s.refused.datagram.get(x) ?? 0));
  for (const c of sorted) rows.push([`  ${c}`, fmt(s.refused.datagram.get(c) ?? 0), fmt(s.refused.stream.get(c) ?? 0)]);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const w2 = Math.max(...rows.map((r) => r[2].length));
  for (const [x, y, z] of rows) console.log(`${x.padEnd(w0)}  ${y.padStart(w1)}  ${z.padStart(w2)}`);
  console.log(`failures: ${fmt(s.failed)}`);
  console.log(`slowest message: iteration ${s.slowest.index}, ${fmt(s.slowest.bytes)} bytes, ${s.slowest.ms.toFixed(1)} ms`);
  if (s.failures.length > 0) {
    console.log();
    console.log(`first ${s.failures.length} failures:`);
    for (const f of s.failures) console.log(formatFailure(s.seed, f));
  }
}

report(stats);
process.exit(stats.failed === 0 ? 0 : 1);
