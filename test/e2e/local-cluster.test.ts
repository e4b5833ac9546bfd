// The local cluster (./scripts/start runs scripts/local-cluster.mjs) supervises its processes
// (issue 15, item 6): a worker killed with SIGKILL is started again and serves calls, nats-server
// killed so comes back on the same port and store, the other processes keep running meanwhile,
// and SIGINT stops every one of them. The script runs as ./scripts/start
// runs it (node, from the repository root, on the built workspace), with its ports, data
// directory and demo carrier moved by its environment overrides so that it clashes with nothing.
// Issue 20: it starts with --from-file (the trunking file applied through the CLI), its banner is
// derived from the configuration it runs, and the CLI answers exactly as the README writes it
// (`./switchboard …` and `pnpm exec switchboard …` from the repository root).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { freePort, ManagedProcess, UserAgent } from '@switchboard/testkit';
import { decodeHeartbeat, Subjects, type Heartbeat } from '@switchboard/wire';
import { acmeTrunking, callIdLandingOn, oneCarrierTrunking, writeCluster } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

const SCRIPT = join(repoRoot, 'scripts/local-cluster.mjs');
const PBX_HOST = '127.0.0.81';
const CARRIER_HOST = '127.0.0.82';
const DIALLED = 'sip:+14155551234@acme.trunks.example';
/** Generous: the machine is shared, and a worker's start-up opens JetStream assets. */
const WAIT_MS = 30_000;

/** A UDP port on `host` that nothing is bound to right now (the demo carrier listens on UDP). */
function freeUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command line through the shell from the repository root, as a newcomer types it; bounded to 60 s. */
function shell(line: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', line], { cwd: repoRoot, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr, ms: Date.now() - startedAt });
    });
  });
}

/** The admin's password the script made for this cluster (scripts/nats-credentials.mjs). */
function adminPassword(dataDir: string): string {
  const credentials = JSON.parse(readFileSync(join(dataDir, 'nats-credentials.json'), 'utf8')) as Record<string, { password: string }>;
  return credentials.admin?.password ?? assert.fail('no admin credential in the data directory');
}

/** The environment without an operator's NATS settings, which would change what the CLI connects to. */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_')));

interface Child {
  pid: number;
  /** nats, carrier, w1, w2, transport or cdr-web, as the script names them. */
  name: string;
}

/** The script's children as the kernel lists them, named from their command lines and environment. */
function childrenOf(ppid: number): Child[] {
  const found: Child[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // the command name (field 2) may hold spaces and parentheses: the fields after it are counted from its last ')'
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) !== ppid || state === 'Z') continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const workerId = environ.find((v) => v.startsWith('SWITCHBOARD_WORKER_ID='))?.split('=')[1];
      const name = cmdline.includes('nats-server') ? 'nats'
        : cmdline.includes('demo-carrier') ? 'carrier'
        : cmdline.includes('engine/dist/main.js') ? workerId ?? 'worker'
        : cmdline.includes('transport/dist/main.js') ? 'transport'
        : cmdline.includes('cdr-web/dist/main.js') ? 'cdr-web'
        : cmdline;
      found.push({ pid: Number(entry), name });
    } catch {
      // gone between the listing and the read
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The latest heartbeat of each worker, as the admin user (the CLI's) sees them. */
class Heartbeats {
  readonly latest = new Map<string, Heartbeat>();
  constructor(nc: NatsConnection) {
    const sub = nc.subscribe(Subjects.workerHeartbeat);
    void (async () => {
      for await (const m of sub) {
        const h = decodeHeartbeat(m.data);
        this.latest.set(h.workerId, h);
      }
    })();
  }
}

const NAMES = ['carrier', 'cdr-web', 'nats', 'transport', 'w1', 'w2'];

function names(children: readonly Child[]): string[] {
  return children.map((c) => c.name).sort();
}

function only(children: readonly Child[], name: string): Child {
  const found = children.filter((c) => c.name === name);
  assert.equal(found.length, 1, `one ${name} among ${names(children).join(', ')}`);
  return found[0] ?? assert.fail(`no ${name}`);
}

// The steps share one cluster and run in order: each starts from where the previous left it.
describe('./scripts/start (scripts/local-cluster.mjs) supervises its processes', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let script: ManagedProcess;
  let scriptPid: number;
  let dataDir: string;
  let pbx: UserAgent;
  let edge: { host: string; port: number };
  let heartbeats: Heartbeats;
  let natsUrl: string;
  /** Every child the script had, for the check that none outlives it. */
  const seen = new Map<number, Child>();
  const children = () => {
    const now = childrenOf(scriptPid);
    for (const c of now) seen.set(c.pid, c);
    return now;
  };
  /**
   * The start's line that its --from-file apply ended, applied or given up. The script prints it
   * once the trunks-apply CLI has closed (been reaped), and starts no CLI after it: from then on
   * its children are the supervised ones only.
   */
  const applyEnded = () => script.waitFor((l) => l.text.startsWith('[start] '), WAIT_MS);
  /** The lines in which the script reported a child's exit. */
  const exits = () => script.lines.filter((l) => /^\[[\w-]+\] exited/.test(l.text)).map((l) => l.text);
  /** A call from the PBX through the transport to the demo carrier; `worker` picks the worker by its Call-ID. */
  const callThrough = async (worker: string) => {
    const call = pbx.call({ to: DIALLED, via: edge, callId: callIdLandingOn(worker, ['w1', 'w2']) });
    await call.established;
    await call.hangup();
  };
  /** Runs `step`; on failure the script's output is in the message. */
  const explained = async (step: () => Promise<void>) => {
    try {
      await step();
    } catch (e) {
      assert.fail(`${e instanceof Error ? e.stack ?? e.message : String(e)}\nthe script said:\n${script.output(150)}`);
    }
  };

  before(async () => {
    const natsPort = await freePort();
    const carrierPort = await freeUdpPort(CARRIER_HOST);
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    cleanups.push(() => pbx.stop());
    natsUrl = `nats://127.0.0.1:${natsPort}`;
    const configFile = writeCluster(natsUrl, acmeTrunking({ pbx: { host: PBX_HOST, port: pbx.port }, carrier: { host: CARRIER_HOST, port: carrierPort } }));
    cleanups.push(() => rmSync(dirname(configFile), { recursive: true, force: true }));
    dataDir = mkdtempSync(join(tmpdir(), 'switchboard-local-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));

    script = new ManagedProcess('local-cluster', spawn(process.execPath, [SCRIPT, '--from-file'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        SWITCHBOARD_CONFIG: configFile,
        SWITCHBOARD_NATS_PORT: String(natsPort),
        SWITCHBOARD_DATA_DIR: dataDir,
        SWITCHBOARD_CDR_WEB_LISTEN: `127.0.0.1:${await freePort()}`,
        DEMO_CARRIER_HOST: CARRIER_HOST,
        DEMO_CARRIER_PORT: String(carrierPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    scriptPid = script.child.pid ?? assert.fail('the script did not start');
    // whatever happens, nothing the test started outlives it
    cleanups.push(async () => {
      children();
      await script.stop('SIGKILL');
      for (const c of seen.values()) if (alive(c.pid)) process.kill(c.pid, 'SIGKILL');
    });

    await explained(async () => {
      const banner = await script.waitFor((l) => /SIP UDP on [\d.]+:\d+/.test(l.text), WAIT_MS);
      edge = { host: '127.0.0.1', port: Number(/SIP UDP on [\d.]+:(\d+)/.exec(banner.text)?.[1]) };
      const nc = await connect({ servers: natsUrl, user: 'admin', pass: adminPassword(dataDir), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
      cleanups.push(() => nc.close());
      heartbeats = new Heartbeats(nc);
      await until('heartbeats of w1 and w2', () => (heartbeats.latest.has('w1') && heartbeats.latest.has('w2') ? true : undefined));
      for (const id of ['w1', 'w2']) {
        await script.waitFor((l) => l.text.startsWith('[transport]') && l.text.includes('"event":"worker"') && l.text.includes(`"worker":"${id}"`), WAIT_MS);
      }
      // the trunks-apply CLI may still run when the workers are up (it may have been started just
      // before one answered): the list of the script's children is compared once it has ended
      await applyEnded();
    });
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('the cluster on the overridden ports and data directory serves a call', () => explained(async () => {
    assert.deepEqual(names(children()), NAMES);
    assert.ok(existsSync(join(dataDir, 'nats', 'jetstream')), 'the store is in SWITCHBOARD_DATA_DIR/nats');
    await callThrough('w1');
    await callThrough('w2');
  }));

  test('the banner is derived from the configuration in use: its trunk, a number to dial, its DIDs, the demo carrier, the CLI', () => explained(async () => {
    const text = script.lines.map((l) => l.text).join('\n');
    assert.match(text, /trunking of .*trunks\.yaml: 1 trunk\(s\), 1 carrier\(s\) \(carrier\)/);
    assert.match(text, new RegExp(`trunk "acme" \\(calls from ${PBX_HOST.replaceAll('.', '\\.')}/32\\): dial sip:\\+14155551234@acme\\.trunks\\.example`));
    assert.match(text, new RegExp(`calls from a carrier to its DIDs \\(\\+14155550100\\) go to sip:${PBX_HOST.replaceAll('.', '\\.')}:${pbx.port}`));
    assert.match(text, new RegExp(`the demo carrier on ${CARRIER_HOST.replaceAll('.', '\\.')}:\\d+ is carrier "carrier"`));
    assert.match(text, new RegExp(`CLI: \\./switchboard --server ${natsUrl.replaceAll('.', '\\.')} --user admin --password ${adminPassword(dataDir)} calls ls`));
    assert.doesNotMatch(text, /you are trunk/, 'nothing of the example configuration the script does not run');
  }));

  test('--from-file: the trunking file is applied to the cluster through the CLI once a worker answers', () => explained(async () => {
    const applied = await applyEnded();
    assert.match(applied.text, /^\[start\] .*trunks\.yaml applied to the cluster \(--from-file\): configuration revision \d+/);
  }));

  test('the CLI as the README and the banner write it: ./switchboard and pnpm exec switchboard from the repository root', () => explained(async () => {
    const cli = /CLI: (\.\/switchboard .*)$/m.exec(script.lines.map((l) => l.text).join('\n'))?.[1] ?? assert.fail('no CLI line in the banner');
    const fromBanner = await shell(cli, CLEAN_ENV);
    assert.equal(fromBanner.code, 0, fromBanner.stderr);
    assert.equal(fromBanner.stderr, 'switchboard: no calls in progress matched\n');
    // the README's own words, its server and data directory given as the README says (SWITCHBOARD_NATS_URL, SWITCHBOARD_DATA_DIR)
    const env = { ...CLEAN_ENV, SWITCHBOARD_NATS_URL: natsUrl, SWITCHBOARD_DATA_DIR: dataDir };
    const times: string[] = [];
    for (const launcher of ['./switchboard', 'pnpm exec switchboard']) {
      for (const command of ['workers ls', 'calls ls', 'stats']) {
        const run = await shell(`${launcher} --user admin --password "$(node scripts/nats-credentials.mjs admin)" ${command}`, env);
        assert.equal(run.code, 0, `${launcher} ${command}: ${run.stderr}`);
        times.push(`${launcher} ${command} ${run.ms} ms`);
        if (command === 'workers ls') assert.match(run.stdout, /^w1 +active .*\nw2 +active /m);
      }
    }
    // wall times of whole runs (pnpm and node starting included): reported, not asserted, on a shared machine
    console.log(`the CLI: ${times.join(', ')}`);
  }));

  test('a worker killed with SIGKILL is started again, logged, while the others keep running', () => explained(async () => {
    const before = children();
    const w1 = only(before, 'w1');
    const w1StartedAt = heartbeats.latest.get('w1')?.startedAt ?? assert.fail('no heartbeat of w1');
    const w2StartedAt = heartbeats.latest.get('w2')?.startedAt ?? assert.fail('no heartbeat of w2');

    process.kill(w1.pid, 'SIGKILL');

    await script.waitFor((l) => /^\[w1\] exited \(signal SIGKILL\) after [\d.]+ s; restarting in \d+ ms$/.test(l.text), WAIT_MS);
    const restarted = await until('a new w1', () => children().find((c) => c.name === 'w1' && c.pid !== w1.pid));
    await script.waitFor((l) => l.text === `[w1] started (pid ${restarted.pid})`, WAIT_MS);
    await until('a heartbeat of the new w1', () => {
      const h = heartbeats.latest.get('w1');
      return h !== undefined && h.startedAt > w1StartedAt ? h : undefined;
    });
    await callThrough('w1');

    for (const c of before) if (c.name !== 'w1') assert.ok(alive(c.pid), `${c.name} (pid ${c.pid}) still runs`);
    assert.deepEqual(names(children()), NAMES);
    assert.equal(heartbeats.latest.get('w2')?.startedAt, w2StartedAt, 'w2 was not restarted');
    assert.equal(exits().length, 1, `one exit: ${exits().join('; ')}`);
  }));

  test('nats-server killed with SIGKILL is started again on the same port and store; the workers come back to it', () => explained(async () => {
    const before = children();
    const nats = only(before, 'nats');
    const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const natsCommand = cmdline(nats.pid);
    const exitsBefore = exits().length;

    process.kill(nats.pid, 'SIGKILL');
    const killedAt = Date.now();

    await script.waitFor((l) => /^\[nats\] exited \(signal SIGKILL\) after [\d.]+ s; restarting in \d+ ms$/.test(l.text), WAIT_MS);
    const restarted = await until('a new nats-server', () => children().find((c) => c.name === 'nats' && c.pid !== nats.pid));
    assert.equal(cmdline(restarted.pid), natsCommand, 'the same port and store');
    // the heartbeats of both workers, from the processes that ran before, arrive again
    await until('heartbeats of w1 and w2 through the new server', () => (
      ['w1', 'w2'].every((id) => (heartbeats.latest.get(id)?.sentAt ?? 0) > killedAt) ? true : undefined
    ));
    for (const c of before) if (c.name !== 'nats') assert.ok(alive(c.pid), `${c.name} (pid ${c.pid}) still runs`);
    assert.equal(exits().length, exitsBefore + 1, `only nats exited: ${exits().join('; ')}`);
  }));

  test('SIGINT stops every process within 10 s and starts none again', () => explained(async () => {
    assert.ok(script.running, 'the script ran until now');
    assert.deepEqual(names(children()), NAMES);
    const startsBefore = script.lines.filter((l) => /^\[[\w-]+\] started \(pid \d+\)$/.test(l.text)).length;
    const sigintAt = Date.now();
    script.child.kill('SIGINT');
    const timer = setTimeout(() => void script.child.kill('SIGKILL'), 10_000);
    const code = await script.exited;
    clearTimeout(timer);
    assert.ok(Date.now() - sigintAt < 10_000, 'the script exits within 10 s of SIGINT');
    assert.equal(code, 0);
    await until('every child gone', () => ([...seen.values()].every((c) => !alive(c.pid)) ? true : undefined), 2_000);
    const starts = script.lines.filter((l) => /^\[[\w-]+\] started \(pid \d+\)$/.test(l.text)).length;
    assert.equal(starts, startsBefore, 'no process started after SIGINT');
  }));
});

/** The banner of scripts/cluster-banner.mjs for `configFile`, as local-cluster.mjs makes it, and the demo carrier it would start. */
async function bannerOf(configFile: string): Promise<{ demo: string | null; text: string }> {
  const program = `
    import * as b from './scripts/cluster-banner.mjs';
    const trunkingFile = b.trunkingFileOf(process.env.BANNER_CONFIG);
    const read = b.readTrunking(trunkingFile);
    const demo = { host: '127.0.0.2', port: 5080 };
    const carrier = b.demoCarrierOf(read.trunking, demo);
    const lines = b.bannerLines({ trunkingFile, ...read, demoCarrier: { ...demo, runs: carrier !== undefined, id: carrier?.id }, cdrWeb: '127.0.0.1:8080', cli: './switchboard calls ls', fromFile: false });
    console.log(JSON.stringify({ demo: carrier?.id ?? null, text: lines.join('\\n') }));`;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', program], { cwd: repoRoot, env: { ...CLEAN_ENV, BANNER_CONFIG: configFile }, timeout: 30_000 }, (error, out, err) => {
      if (error === null) resolve(out);
      else reject(new Error(`${error.message}\n${err}`));
    });
  });
  return JSON.parse(stdout) as { demo: string | null; text: string };
}

describe('./scripts/start derives its banner and its demo carrier from the configuration (scripts/cluster-banner.mjs)', () => {
  test('the example configuration: trunk acme from this machine, its number and DIDs, the demo carrier is demo-pstn', async () => {
    const { demo, text } = await bannerOf(join(repoRoot, 'config/switchboard.yaml'));
    assert.equal(demo, 'demo-pstn');
    assert.match(text, /trunk "acme" \(calls from 127\.0\.0\.1\/32 \(this machine\) or digest user acme-pbx\): dial sip:\+14155551234@acme\.trunks\.example/);
    assert.match(text, /its DIDs \(\+14155550100, \+14155550101\) go to sip:127\.0\.0\.1:5090/);
    assert.match(text, /the demo carrier on 127\.0\.0\.2:5080 is carrier "demo-pstn"/);
    assert.doesNotMatch(text, /change-me/, 'no password');
  });

  test('another configuration (SWITCHBOARD_CONFIG): its own trunk, domain and number; no demo carrier when no carrier is at its address', async () => {
    const trunking = {
      ...(oneCarrierTrunking(5999) as Record<string, unknown>),
      trunks: [{
        id: 'globex', domain: 'globex.example', acl: ['10.1.2.0/24'],
        numberPlan: { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' },
        routing: [{ prefix: '+4490', carriers: ['carrier'] }, { prefix: '+44', carriers: ['carrier'] }],
        restrictions: { blocked: [{ prefix: '+4490', name: 'premium' }] },
      }],
    };
    const configFile = writeCluster('nats://127.0.0.1:4222', trunking);
    try {
      const { demo, text } = await bannerOf(configFile);
      assert.equal(demo, null);
      assert.match(text, /trunk "globex" \(calls from 10\.1\.2\.0\/24\): dial sip:\+44415555123@globex\.example/, 'the first route whose number is not blocked');
      assert.match(text, /no carrier of the trunking is at 127\.0\.0\.2:5080: the demo carrier is not started/);
      assert.doesNotMatch(text, /acme/);
      writeFileSync(join(dirname(configFile), 'trunks.yaml'), 'trunks: [{ id: broken }]\n');
      assert.match((await bannerOf(configFile)).text, /trunks\.yaml does not validate/);
    } finally {
      rmSync(dirname(configFile), { recursive: true, force: true });
    }
  });
});
