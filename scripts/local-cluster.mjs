// Runs a local Switchboard cluster in the foreground: a nats-server with JetStream (data
// in .local/nats; a user per process and its role's permissions in config/nats-local.conf, README
// "Security", with passwords made for this machine by scripts/nats-credentials.mjs), the transport node and two workers of config/switchboard.yaml, the
// CDR page (127.0.0.1:8080), and a demo carrier (127.0.0.2:5080, carrier `demo-pstn` of
// config/trunks.yaml) that answers every call — started only when a carrier of the trunking
// is at its address. The banner is derived from the configuration (scripts/cluster-banner.mjs).
// A process that exits is started again after a back-off (nats-server on the same store);
// Ctrl-C stops all.
//
// `--from-file` (or SWITCHBOARD_FROM_FILE=1): once a worker answers, the trunking file is
// applied to the cluster (`switchboard trunks apply -f <file>`), replacing what the sb-config
// bucket held from an earlier run — which otherwise wins over the file.
//
// `--layout edge-worker` (or SWITCHBOARD_LAYOUT=edge-worker): the transport node and worker w1
// run in one process (switchboard-edge-worker, README "Process layout": the layout for one small
// machine), w2 in its own; `--layout separate` (the default): transport, w1 and w2 apart.
//
// Overrides, so that a second cluster (a test's) runs beside this one: SWITCHBOARD_CONFIG (the
// configuration file, whose transport section names the SIP ports), SWITCHBOARD_NATS_PORT,
// SWITCHBOARD_DATA_DIR (default .local), SWITCHBOARD_CDR_WEB_LISTEN, DEMO_CARRIER_HOST and
// DEMO_CARRIER_PORT.
import { spawn } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { bannerLines, demoCarrierOf, readTrunking, trunkingFileOf } from './cluster-banner.mjs';
import { localNatsCredentials, natsServerEnv } from './nats-credentials.mjs';

const config = process.env.SWITCHBOARD_CONFIG ?? 'config/switchboard.yaml';
const natsPort = process.env.SWITCHBOARD_NATS_PORT ?? '4222';
const dataDir = process.env.SWITCHBOARD_DATA_DIR ?? '.local';
const natsStore = join(dataDir, 'nats');
const credentials = localNatsCredentials(dataDir);
const natsBin = ['/usr/bin/nats-server', '/usr/sbin/nats-server'].find(existsSync) ?? 'nats-server';
mkdirSync(natsStore, { recursive: true });
const USAGE = 'usage: ./scripts/start [--from-file] [--layout separate|edge-worker]';
const LAYOUTS = ['separate', 'edge-worker'];
let fromFile = process.env.SWITCHBOARD_FROM_FILE === '1';
let layout = process.env.SWITCHBOARD_LAYOUT || 'separate';
const unknownArgs = [];
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--from-file') fromFile = true;
  else if (arg === '--layout') layout = process.argv[++i] ?? '';
  else if (arg.startsWith('--layout=')) layout = arg.slice('--layout='.length);
  else unknownArgs.push(arg);
}
if (unknownArgs.length > 0) {
  console.error(`${USAGE}  (unknown: ${unknownArgs.join(' ')})`);
  process.exit(1);
}
if (!LAYOUTS.includes(layout)) {
  console.error(`${USAGE}  (layout ${JSON.stringify(layout)}: not one of ${LAYOUTS.join(', ')})`);
  process.exit(1);
}
const cdrWeb = process.env.SWITCHBOARD_CDR_WEB_LISTEN ?? '127.0.0.1:8080';
const trunkingFile = trunkingFileOf(config);
const { trunking, problem } = readTrunking(trunkingFile);
const demo = { host: process.env.DEMO_CARRIER_HOST ?? '127.0.0.2', port: Number(process.env.DEMO_CARRIER_PORT ?? '5080') };
const demoCarrier = demoCarrierOf(trunking, demo);
const natsUrl = `nats://127.0.0.1:${natsPort}`;
// the admin user of config/nats-local.conf; the server only when it is not the CLI's default
const adminArgs = [...(natsPort === '4222' ? [] : ['--server', natsUrl]), '--user', 'admin', '--password', credentials.admin.password];
const cliCommand = `./switchboard ${adminArgs.join(' ')} calls ls`;

// A process that crashes at start-up (a port taken, a bad configuration) is retried ever more
// slowly instead of filling the terminal; one that ran a while before dying starts again quickly.
const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 10_000;
const RAN_WELL_MS = 30_000;
// the workers and the transport exit within a few seconds even when NATS is gone (their stop is bounded)
const STOP_BOUND_MS = 8_000;

let stopping = false;
let bannerShown = false;
/** One entry per supervised process: its current child, if it runs, and its next back-off. */
const services = [];

function prettyLine(line) {
  try {
    const j = JSON.parse(line);
    const { level, time, msg, service, node, ...rest } = j;
    if (j.event === 'listening' && Array.isArray(j.listeners) && !bannerShown) {
      bannerShown = true;
      console.log('');
      for (const l of j.listeners) console.log(`  SIP ${l.protocol.toUpperCase()} on ${l.address}:${l.port} — point a softphone or PBX trunk here`);
      const lines = bannerLines({ trunkingFile, trunking, problem, demoCarrier: { ...demo, runs: demoCarrier !== undefined, id: demoCarrier?.id }, cdrWeb, cli: cliCommand, fromFile });
      console.log(`${lines.join('\n')}\n`);
    }
    return `${msg}${Object.keys(rest).length ? ' ' + JSON.stringify(rest) : ''}`;
  } catch {
    return line;
  }
}

function supervise(name, command, args, env = {}) {
  const service = { name, child: undefined, exited: undefined, delayMs: FIRST_RESTART_DELAY_MS, restartTimer: undefined };
  services.push(service);
  const launch = () => {
    service.restartTimer = undefined;
    if (stopping) return;
    const startedAt = Date.now();
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    service.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => console.log(`[${name}] ${prettyLine(line)}`));
    }
    // a spawn that fails (no such binary) reports 'error', and maybe 'exit' after it: handled once
    service.exited = new Promise((resolve) => {
      let done = false;
      const ended = (how) => {
        if (done) return;
        done = true;
        service.child = undefined;
        resolve();
        if (stopping) {
          console.log(`[${name}] exited (${how})`);
          return;
        }
        const ranMs = Date.now() - startedAt;
        if (ranMs >= RAN_WELL_MS) service.delayMs = FIRST_RESTART_DELAY_MS;
        const delayMs = service.delayMs;
        service.delayMs = Math.min(delayMs * 2, MAX_RESTART_DELAY_MS);
        console.log(`[${name}] exited (${how}) after ${(ranMs / 1000).toFixed(1)} s; restarting in ${delayMs} ms`);
        service.restartTimer = setTimeout(launch, delayMs);
      };
      child.once('exit', (code, signal) => ended(signal === null ? `code ${code}` : `signal ${signal}`));
      child.once('error', (err) => ended(`error ${err.message}`));
    });
    if (child.pid !== undefined) console.log(`[${name}] started (pid ${child.pid})`);
  };
  launch();
}

function stop() {
  if (stopping) return;
  stopping = true;
  for (const s of services) clearTimeout(s.restartTimer);
  const running = services.filter((s) => s.child !== undefined);
  for (const s of [...running].reverse()) s.child.kill('SIGTERM');
  // whatever is still running after the bound is killed, never left behind
  setTimeout(() => {
    for (const s of running) s.child?.kill('SIGKILL');
    process.exit(0);
  }, STOP_BOUND_MS).unref();
  Promise.all(running.map((s) => s.exited)).then(() => process.exit(0));
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

supervise('nats', natsBin, ['-c', 'config/nats-local.conf', '-a', '127.0.0.1', '-p', natsPort, '-js', '-sd', natsStore], natsServerEnv(credentials));
await new Promise((r) => setTimeout(r, 500));
const natsEnv = { SWITCHBOARD_NATS_URL: natsUrl };
// each process connects as a user of its own (its role's permissions), with that user's password only
const natsUser = (user) => ({ ...natsEnv, SWITCHBOARD_NATS_USER: credentials[user].user, SWITCHBOARD_NATS_PASS: credentials[user].password });
// a worker's config service writes sb-config as a user of its own (README "Security")
const configWriter = (user) => ({ SWITCHBOARD_NATS_CONFIG_WRITER_USER: credentials[user].user, SWITCHBOARD_NATS_CONFIG_WRITER_PASS: credentials[user].password });
if (demoCarrier !== undefined) {
  supervise('carrier', process.execPath, ['test/dist/support/demo-carrier.js', String(demo.port), demo.host]);
}
const workerEnv = (id) => ({ ...natsUser(id), ...configWriter(`${id}-config`), SWITCHBOARD_WORKER_ID: id });
if (layout === 'edge-worker') {
  // one process, two NATS users: the worker half's (w1) and the transport half's own role
  const edgeUser = { SWITCHBOARD_EDGE_NATS_USER: credentials.transport.user, SWITCHBOARD_EDGE_NATS_PASS: credentials.transport.password };
  supervise('w2', process.execPath, ['packages/engine/dist/main.js', '--config', config], workerEnv('w2'));
  supervise('edge-worker', process.execPath, ['packages/edge-worker/dist/main.js', '--config', config], { ...workerEnv('w1'), ...edgeUser });
} else {
  for (const id of ['w1', 'w2']) supervise(id, process.execPath, ['packages/engine/dist/main.js', '--config', config], workerEnv(id));
  supervise('transport', process.execPath, ['packages/transport/dist/main.js', '--config', config], natsUser('transport'));
}
supervise('cdr-web', process.execPath, ['packages/cdr-web/dist/main.js', '--listen', cdrWeb], natsUser('cdr-web'));
if (!stopping) console.log(`Switchboard local cluster starting (layout ${layout}) — Ctrl-C stops it.`);
if (fromFile) void applyTrunkingFile();

/**
 * `--from-file`: the trunking file replaces the cluster's (the sb-config bucket), through the CLI
 * as an operator would apply it. Retried while no worker answers yet (exit 3); any other failure
 * (the file refused, exit 1 or 4) is reported and the cluster runs on with what it had.
 */
async function applyTrunkingFile() {
  const deadline = Date.now() + 60_000;
  while (!stopping) {
    const { code, out } = await runCli([...adminArgs, 'trunks', 'apply', '-f', trunkingFile]);
    if (code === 0) {
      console.log(`[start] ${trunkingFile} applied to the cluster (--from-file): ${out.trim().split('\n')[0] ?? ''}`);
      return;
    }
    if (code !== 3 || Date.now() > deadline) {
      console.log(`[start] --from-file: applying ${trunkingFile} failed (exit ${code}): ${out.trim()}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

function runCli(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['packages/cli/dist/main.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', (err) => resolve({ code: -1, out: err.message }));
    child.once('close', (code) => resolve({ code: code ?? -1, out }));
  });
}
