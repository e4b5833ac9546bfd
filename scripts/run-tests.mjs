// Runs every compiled test file of the workspace through node's test runner and one spec
// reporter, so its closing summary (the counts of both parts together) is the last thing the
// test command prints.
//
// Two parts: the packages' own tests two files at a time (a 2-core machine has the room: most
// are short and CPU-light, and their fixed cost, a Node process and its imports per file, is
// most of their time), then the end-to-end tests (test/dist) one file at a time, as each starts
// a cluster of real processes and some wait on real timers that another cluster's load could
// stretch.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const testFiles = (root) => {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.test.js')) files.push(path);
    }
  };
  if (existsSync(root)) walk(root);
  return files.sort();
};

const parts = [
  { files: readdirSync('packages').sort().flatMap((pkg) => testFiles(join('packages', pkg, 'dist'))), concurrency: Math.min(2, availableParallelism()) },
  { files: testFiles(join('test', 'dist')), concurrency: 1 },
];

/** The lines of a run's closing summary, in the order node prints them. */
const SUMMARY = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];
const summaryLine = (event) => {
  if (event.type !== 'test:diagnostic' || event.data.nesting !== 0) return undefined;
  const m = /^(\w+) ([\d.]+)$/.exec(event.data.message);
  return m !== null && SUMMARY.includes(m[1]) ? { name: m[1], value: Number(m[2]) } : undefined;
};

const totals = new Map(SUMMARY.map((name) => [name, 0]));
const startedAt = performance.now();

async function* events() {
  for (const part of parts) {
    if (part.files.length === 0) continue;
    for await (const event of run({ files: part.files, concurrency: part.concurrency })) {
      const line = summaryLine(event);
      if (line === undefined) yield event;
      else totals.set(line.name, totals.get(line.name) + line.value);
    }
  }
  totals.set('duration_ms', performance.now() - startedAt);
  for (const [name, value] of totals) yield { type: 'test:diagnostic', data: { nesting: 0, message: `${name} ${value}` } };
}

const reporter = Readable.from(events()).compose(new spec());
reporter.pipe(process.stdout);
await new Promise((resolve, reject) => reporter.on('end', resolve).on('error', reject));
process.exitCode = totals.get('fail') > 0 || totals.get('cancelled') > 0 || totals.get('tests') === 0 ? 1 : 0;
