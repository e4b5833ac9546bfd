// What the tests of ./scripts/start (scripts/local-cluster.mjs) share: the script started as
// ./scripts/start runs it (node, from the repository root, on the built workspace) with its
// ports, data directory and demo carrier moved by its environment overrides so that it clashes
// with nothing, and its children as the kernel lists them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { freePort, ManagedProcess, UserAgent, type LogLine } from '@switchboard/testkit';
import { decodeHeartbeat, Subjects, type Heartbeat } from '@switchboard/wire';
import { acmeTrunking, writeCluster } from './cluster.js';
import { repoRoot } from './paths.js';
import { freeUdpPort } from './sipp.js';

export const LOCAL_CLUSTER_SCRIPT = join(repoRoot, 'scripts/local-cluster.mjs');
export const PBX_HOST = '127.0.0.81';
export const CARRIER_HOST = '127.0.0.82';
export const DIALLED = 'sip:+14155551234@acme.trunks.example';
/** Generous: the machine is shared, and a worker's start-up opens JetStream assets. */
export const WAIT_MS = 30_000;

/** The admin's password the script made for this cluster (scripts/nats-credentials.mjs). */
export function adminPassword(dataDir: string): string {
  const credentials = JSON.parse(readFileSync(join(dataDir, 'nats-credentials.json'), 'utf8')) as Record<string, { password: string }>;
  return credentials.admin?.password ?? assert.fail('no admin credential in the data directory');
}

/** The environment without an operator's NATS settings, which would change what the CLI connects to. */
export const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_')));

export interface Child {
  pid: number;
  /** nats, carrier, w1, w2, transport, edge-worker (its worker's id after a colon) or cdr-web. */
  name: string;
}

/** The script's children as the kernel lists them, named from their command lines and environment. */
export function childrenOf(ppid: number): Child[] {
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
        : cmdline.includes('edge-worker/dist/main.js') ? `edge-worker:${workerId ?? '?'}`
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

export function alive(pid: number): boolean {
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

export async function until<T>(what: string, probe: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The latest heartbeat of each worker, as the admin user (the CLI's) sees them. */
export class Heartbeats {
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

export function names(children: readonly Child[]): string[] {
  return children.map((c) => c.name).sort();
}

export function only(children: readonly Child[], name: string): Child {
  const found = children.filter((c) => c.name === name);
  assert.equal(found.length, 1, `one ${name} among ${names(children).join(', ')}`);
  return found[0] ?? assert.fail(`no ${name}`);
}

/** A running ./scripts/start, a PBX on the trunk's ACL and what a test reads of them. */
export interface LocalCluster {
  script: ManagedProcess;
  scriptPid: number;
  dataDir: string;
  natsUrl: string;
  pbx: UserAgent;
  /** The transport's SIP UDP address, from the banner. */
  edge: { host: string; port: number };
  heartbeats: Heartbeats;
  /** The script's children now (each one is remembered for `stop`). */
  children(): Child[];
  /** Every child the script had, for the check that none outlives it. */
  readonly seen: Map<number, Child>;
  /** The lines in which the script reported a child's exit. */
  exits(): string[];
  /** Lines of the script that start with `[name] started (pid …)`. */
  starts(): LogLine[];
  /** Runs `step`; on failure the script's output is in the message. */
  explained(step: () => Promise<void>): Promise<void>;
  /** Kills the script and every child it had, removes what the start made. */
  stop(): Promise<void>;
}

/**
 * Starts ./scripts/start with `args` (plus --from-file) on free ports, the acme trunking with a
 * PBX and a carrier on addresses of their own, and waits until the process named `transport`
 * in its output (`transport`, or `edge-worker`) has heard from w1 and w2 and the trunking file
 * is applied: from then on the script's children are the supervised ones only.
 */
export async function startLocalCluster(args: readonly string[], transport: string): Promise<LocalCluster> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const natsPort = await freePort();
    const carrierPort = await freeUdpPort(CARRIER_HOST);
    const pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    cleanups.push(() => pbx.stop());
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const configFile = writeCluster(natsUrl, acmeTrunking({ pbx: { host: PBX_HOST, port: pbx.port }, carrier: { host: CARRIER_HOST, port: carrierPort } }));
    cleanups.push(() => rmSync(dirname(configFile), { recursive: true, force: true }));
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-local-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));

    const script = new ManagedProcess('local-cluster', spawn(process.execPath, [LOCAL_CLUSTER_SCRIPT, '--from-file', ...args], {
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
    const scriptPid = script.child.pid ?? assert.fail('the script did not start');
    const seen = new Map<number, Child>();
    const children = () => {
      const now = childrenOf(scriptPid);
      for (const c of now) seen.set(c.pid, c);
      return now;
    };
    // whatever happens, nothing the test started outlives it
    cleanups.push(async () => {
      children();
      await script.stop('SIGKILL');
      for (const c of seen.values()) if (alive(c.pid)) process.kill(c.pid, 'SIGKILL');
    });
    const explained = async (step: () => Promise<void>) => {
      try {
        await step();
      } catch (e) {
        assert.fail(`${e instanceof Error ? e.stack ?? e.message : String(e)}\nthe script said:\n${script.output(150)}`);
      }
    };
    let edge = { host: '127.0.0.1', port: 0 };
    let heartbeats: Heartbeats | undefined;
    await explained(async () => {
      const banner = await script.waitFor((l) => /SIP UDP on [\d.]+:\d+/.test(l.text), WAIT_MS);
      edge = { host: '127.0.0.1', port: Number(/SIP UDP on [\d.]+:(\d+)/.exec(banner.text)?.[1]) };
      const nc = await connect({ servers: natsUrl, user: 'admin', pass: adminPassword(dataDir), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
      cleanups.push(() => nc.close());
      const beats = (heartbeats = new Heartbeats(nc));
      await until('heartbeats of w1 and w2', () => (beats.latest.has('w1') && beats.latest.has('w2') ? true : undefined));
      for (const id of ['w1', 'w2']) {
        await script.waitFor((l) => l.text.startsWith(`[${transport}]`) && l.text.includes('"event":"worker"') && l.text.includes(`"worker":"${id}"`), WAIT_MS);
      }
      // the trunks-apply CLI may still run when the workers are up (it may have been started just
      // before one answered): the list of the script's children is compared once it has ended
      await script.waitFor((l) => l.text.startsWith('[start] '), WAIT_MS);
    });
    return {
      script, scriptPid, dataDir, natsUrl, pbx, edge, heartbeats: heartbeats ?? assert.fail('no heartbeats'), children, seen, explained, stop,
      exits: () => script.lines.filter((l) => /^\[[\w-]+\] exited/.test(l.text)).map((l) => l.text),
      starts: () => script.lines.filter((l) => /^\[[\w-]+\] started \(pid \d+\)$/.test(l.text)),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** SIGINT to the script: it exits 0 within 10 s, every child it had is gone, none was started after it. */
export async function interruptLocalCluster(cluster: LocalCluster): Promise<void> {
  const { script, seen } = cluster;
  assert.ok(script.running, 'the script ran until now');
  const startsBefore = cluster.starts().length;
  const sigintAt = Date.now();
  script.child.kill('SIGINT');
  const timer = setTimeout(() => void script.child.kill('SIGKILL'), 10_000);
  const code = await script.exited;
  clearTimeout(timer);
  assert.ok(Date.now() - sigintAt < 10_000, 'the script exits within 10 s of SIGINT');
  assert.equal(code, 0);
  await until('every child gone', () => ([...seen.values()].every((c) => !alive(c.pid)) ? true : undefined), 2_000);
  assert.equal(cluster.starts().length, startsBefore, 'no process started after SIGINT');
}
