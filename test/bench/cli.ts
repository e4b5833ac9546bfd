// CLI latency benchmark (issue 20, "`workers ls`, `calls ls` and `stats` in under 300 ms"): a
// cluster — nats-server, transport t1, workers w1 and w2, one call up between a PBX and a carrier
// UA — and the built `switchboard` run RUNS times per command as an operator runs it, each a new
// process: the bin (`packages/cli/bin/switchboard.mjs`, the bundled CLI that `pnpm exec
// switchboard` starts), the unbundled `packages/cli/dist/main.js` for comparison and, with
// PNPM=1, `pnpm exec switchboard …` itself (the README's form, which adds pnpm's own start).
// Prints per command the wall time from spawn to exit (p50, p90, max) and, for scale, that of
// `node -e 0` and of `--version` (the CLI's start without NATS). A benchmark, not a test: it
// asserts nothing but each command's exit 0.
// Usage: [RUNS=10] [PNPM=1] node test/dist/bench/cli.js
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startNatsServer, UserAgent, type ManagedProcess } from '@switchboard/testkit';
import { acmeTrunking, callUp, startTransport, startWorker, workersKnown, writeCluster } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

const RUNS = Number(process.env.RUNS ?? 10);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`RUNS=${process.env.RUNS}: expected an integer ≥ 1`);
const CLI_MAIN = join(repoRoot, 'packages/cli/dist/main.js');
const CLI_BIN = join(repoRoot, 'packages/cli/bin/switchboard.mjs');
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_NATS_')));

/** Wall milliseconds of each run of `command args`, which must exit 0. */
function timed(command: string, args: readonly string[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const run = spawnSync(command, args, { cwd: repoRoot, env: ENV, encoding: 'utf8', timeout: 20_000 });
    times.push(performance.now() - t0);
    if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${run.status ?? run.signal}: ${run.stderr}`);
  }
  return times.sort((a, b) => a - b);
}

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const row = (label: string, t: number[]) => `| ${label} | ${at(t, 0.5).toFixed(0)} | ${at(t, 0.9).toFixed(0)} | ${(t[t.length - 1] ?? NaN).toFixed(0)} |`;

const nats = await startNatsServer();
const pbx = await UserAgent.start({ name: 'pbx', host: '127.0.0.51', user: '+12125550100' });
const carrier = await UserAgent.start({ name: 'carrier', host: '127.0.0.52', user: '+13105550100' });
const t1 = await startTransport('t1', nats.url);
const workers: ManagedProcess[] = [];
try {
  const file = writeCluster(nats.url, acmeTrunking({ pbx: { host: '127.0.0.51', port: pbx.port }, carrier: { host: '127.0.0.52', port: carrier.port } }), { limitsBucket: 'cli-bench' });
  for (const id of ['w1', 'w2']) workers.push(await startWorker(id, file, nats.url));
  await workersKnown(t1, ['w1', 'w2']);
  // a transport node's directory is trusted to end discovery only once it is 2 heartbeats old
  await new Promise((r) => setTimeout(r, 2_500));
  await callUp(pbx, carrier, 'sip:+14155551234@acme.trunks.example', { host: '127.0.0.1', port: t1.udpPort });

  const lines = [`CLI wall time per run, ms (${RUNS} runs each, spawn to exit, one call up, 2 workers)`, '', '| command | p50 | p90 | max |', '|---|---|---|---|'];
  lines.push(row('`node -e 0` (node alone)', timed(process.execPath, ['-e', '0'])));
  lines.push(row('`node packages/cli/bin/switchboard.mjs --version` (no NATS)', timed(process.execPath, [CLI_BIN, '--version'])));
  lines.push(row('`node packages/cli/dist/main.js --version` (unbundled, no NATS)', timed(process.execPath, [CLI_MAIN, '--version'])));
  for (const command of [['workers', 'ls'], ['calls', 'ls'], ['stats']]) {
    lines.push(row(`\`node packages/cli/bin/switchboard.mjs ${command.join(' ')}\``, timed(process.execPath, [CLI_BIN, '--server', nats.url, ...command])));
    lines.push(row(`\`node packages/cli/dist/main.js ${command.join(' ')}\` (unbundled)`, timed(process.execPath, [CLI_MAIN, '--server', nats.url, ...command])));
    if (process.env.PNPM === '1') lines.push(row(`\`pnpm exec switchboard ${command.join(' ')}\``, timed('pnpm', ['exec', 'switchboard', '--server', nats.url, ...command])));
  }
  console.log(lines.join('\n'));
} finally {
  await Promise.all(workers.map((w) => w.stop('SIGINT')));
  await t1.proc.stop();
  await pbx.stop();
  await carrier.stop();
  await nats.stop();
}
