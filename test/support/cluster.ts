// Starts real transport nodes and echo workers against a real nats-server for e2e tests and benchmarks.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ManagedProcess, type Call, type UserAgent } from '@switchboard/testkit';
import { decodeMap, RendezvousSet, Subjects } from '@switchboard/wire';
import { repoRoot } from './paths.js';

export const ROUTING_SECRET = 'test-routing-secret-0123456789';
/**
 * The checkout whose built transport and worker the cluster runs. SWITCHBOARD_ROOT=<another
 * checkout> runs that build under this tree's configuration and harness, so two builds can be
 * compared in one session on one machine (test/bench/compare.sh).
 */
export const engineRoot = process.env.SWITCHBOARD_ROOT === undefined || process.env.SWITCHBOARD_ROOT === '' ? repoRoot : resolve(process.env.SWITCHBOARD_ROOT);
export const TRANSPORT_MAIN = join(engineRoot, 'packages/transport/dist/main.js');
export const ECHO_WORKER = join(repoRoot, 'test/dist/support/echo-worker.js');

export interface RunningTransport {
  id: string;
  proc: ManagedProcess;
  udpPort: number;
  tcpPort: number;
  configFile: string;
}

export function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
  const file = join(dir, 'switchboard.yaml');
  writeFileSync(file, text);
  return file;
}

export function transportConfigText(id: string, natsUrl: string, extra = '', idleTimeoutMs = 60_000): string {
  return `transport:
  id: ${id}
  listen:
    - { protocol: udp, host: 127.0.0.1, port: 0 }
    - { protocol: tcp, host: 127.0.0.1, port: 0 }
  tcp:
    idleTimeoutMs: ${idleTimeoutMs}
  retryAfterSeconds: 7
  shutdownGraceMs: 1000
${extra}
nats:
  servers: ["${natsUrl}"]
routing:
  secret: ${ROUTING_SECRET}
log:
  level: info
`;
}

/**
 * `env`: extra environment, e.g. SWITCHBOARD_NATS_USER / SWITCHBOARD_NATS_PASS for a server with accounts;
 * `transportYaml`: more of the `transport:` section, indented two spaces (e.g. `  edge: {…}`).
 */
export async function startTransport(id: string, natsUrl: string, opts: { idleTimeoutMs?: number; env?: NodeJS.ProcessEnv; transportYaml?: string } = {}): Promise<RunningTransport> {
  const configFile = writeConfig(transportConfigText(id, natsUrl, opts.transportYaml ?? '', opts.idleTimeoutMs));
  const proc = ManagedProcess.node(`transport-${id}`, TRANSPORT_MAIN, ['--config', configFile], opts.env);
  const line = await proc.waitForEvent('listening');
  const listeners = line.listeners as { protocol: string; port: number }[];
  const port = (p: string) => listeners.find((l) => l.protocol === p)?.port ?? 0;
  return { id, proc, udpPort: port('udp'), tcpPort: port('tcp'), configFile };
}

export async function startEchoWorker(id: string, natsUrl: string): Promise<ManagedProcess> {
  const proc = ManagedProcess.node(`worker-${id}`, ECHO_WORKER, [], { NATS_URL: natsUrl, WORKER_ID: id, ROUTING_SECRET });
  await proc.waitForEvent('ready');
  return proc;
}

/** Waits until transport `t` has logged that each worker reached `state`. */
export async function workersKnown(t: RunningTransport, ids: readonly string[], state = 'active'): Promise<void> {
  for (const id of ids) await t.proc.waitFor((l) => l.json?.event === 'worker' && l.json.worker === id && l.json.state === state);
}

export async function natsClient(url: string): Promise<NatsConnection> {
  return connect({ servers: url });
}

export async function transportStats(nc: NatsConnection, id: string): Promise<Record<string, any>> {
  const reply = await nc.request(Subjects.transportStats(id), new Uint8Array(0), { timeout: 2_000 });
  return decodeMap(reply.data) as Record<string, any>;
}

export const WORKER_MAIN = join(engineRoot, 'packages/engine/dist/main.js');

export interface ClusterOptions {
  minSE?: number;
  t1?: number;
  noAnswerMs?: number;
  leaseMs?: number;
  /** KV bucket of the limits: one per test file keeps files from sharing counters. */
  limitsBucket?: string;
  transferorByeMs?: number;
  /** SIGTERM's drain: `slow` unless a test asks for `handover` (which needs call snapshots to keep calls up). */
  drainMode?: 'handover' | 'slow';
  /** false: no call snapshots (benchmarks compare with and without). */
  snapshots?: boolean;
  /** worker.snapshots.earlyAfterMs; absent: its default. */
  earlyAfterMs?: number | 'off';
  /** More of the `transport:` section (its node is t1), indented two spaces (e.g. `  edge: {…}`). */
  transportYaml?: string;
}

/** A cluster configuration file's text: transport + worker sections; the trunking in `trunks.yaml` beside it. */
export function clusterConfigText(natsUrl: string, opts: ClusterOptions = {}): string {
  return `${transportConfigText('t1', natsUrl, opts.transportYaml)}
worker:
  id: w0
  drainTimeoutMs: 20000
  drain: { mode: ${opts.drainMode ?? 'slow'}, earlyWaitMs: 2000 }
  snapshots: { enabled: ${opts.snapshots ?? true}${opts.earlyAfterMs === undefined ? '' : `, earlyAfterMs: ${opts.earlyAfterMs}`} }
  timers: { t1: ${opts.t1 ?? 500}, t2: 4000, t4: 5000 }
  sessionTimers: { minSE: ${opts.minSE ?? 90} }
  noAnswerMs: ${opts.noAnswerMs ?? 180000}
  limits: { bucket: ${opts.limitsBucket ?? 'sb-limits'}, leaseMs: ${opts.leaseMs ?? 15000}, timeoutMs: 2000 }
  transfer: { transferorByeMs: ${opts.transferorByeMs ?? 32000} }
trunking:
  file: trunks.yaml
`;
}

/** Writes switchboard.yaml and trunks.yaml (an object, written as JSON, which is YAML) into a new directory. */
export function writeCluster(natsUrl: string, trunking: unknown, opts: ClusterOptions = {}): string {
  const file = writeConfig(clusterConfigText(natsUrl, opts));
  writeFileSync(join(dirname(file), 'trunks.yaml'), typeof trunking === 'string' ? trunking : JSON.stringify(trunking, null, 2));
  return file;
}

/**
 * Trunk `acme` (domain acme.trunks.example, DID +14155550100) for a PBX at `pbx` (its ACL and
 * origination URI) and one carrier at `carrier` (a source of origination calls, every +1 number
 * routed to it), with caller IDs +1212…; `peer`: a SIP peer on partner.example for transfers to
 * another domain; `trunk`: fields of the trunk to override.
 */
export function acmeTrunking(o: { pbx: { host: string; port: number }; carrier: { host: string; port: number }; peer?: { host: string; port: number }; trunk?: Record<string, unknown> }): unknown {
  return {
    carriers: [{ id: 'carrier', addresses: [{ host: o.carrier.host, port: o.carrier.port }], sources: [`${o.carrier.host}/32`] }],
    trunks: [{
      id: 'acme', domain: 'acme.trunks.example', acl: [`${o.pbx.host}/32`],
      dids: ['+14155550100'],
      origination: { uris: [`sip:${o.pbx.host}:${o.pbx.port}`] },
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '+1', carriers: ['carrier'] }],
      callerId: { allowed: ['+1212'] },
      ...o.trunk,
    }],
    ...(o.peer === undefined ? {} : { sipTransfers: { overrides: [{ domain: 'partner.example', addresses: [{ host: o.peer.host, port: o.peer.port }] }] } }),
  };
}

/**
 * The simplest trunking: the PBX at 127.0.0.1 is trunk `acme` (by ACL, any +1 caller ID), and
 * every number goes to one carrier at 127.0.0.1:`carrierPort`, which is not a source of calls.
 */
export function oneCarrierTrunking(carrierPort: number): unknown {
  return {
    carriers: [{ id: 'carrier', addresses: [{ host: '127.0.0.1', port: carrierPort }], sources: [] }],
    trunks: [{
      id: 'acme', domain: 'trunk.example', acl: ['127.0.0.1/32'],
      numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
      routing: [{ prefix: '', carriers: ['carrier'] }], callerId: { allowed: ['+1'] },
    }],
  };
}

/** `env`: extra environment, e.g. SWITCHBOARD_NATS_USER / SWITCHBOARD_NATS_PASS for a server with accounts. */
export async function startWorker(id: string, configFile: string, natsUrl: string, env: NodeJS.ProcessEnv = {}): Promise<ManagedProcess> {
  const proc = ManagedProcess.node(`worker-${id}`, WORKER_MAIN, ['--config', configFile], { ...env, SWITCHBOARD_WORKER_ID: id, SWITCHBOARD_NATS_URL: natsUrl });
  await proc.waitForEvent('ready');
  return proc;
}

/** SPILL_ABOVE=<0..1> (benchmarks): the `transport:` lines setting an edge-worker's spillAboveLoad, else none. */
export function edgeWorkerSpillYaml(): string {
  const above = process.env.SPILL_ABOVE;
  return above === undefined || above === '' ? '' : `  edgeWorker: { spillAboveLoad: ${Number(above)} }\n`;
}

export const EDGE_WORKER_MAIN = join(engineRoot, 'packages/edge-worker/dist/main.js');

/**
 * The co-located layout: transport node t1 and worker `id` in one process (switchboard-edge-worker),
 * from a cluster file (writeCluster); resolves once it listens and its worker is ready.
 */
export async function startEdgeWorker(id: string, configFile: string, natsUrl: string, env: NodeJS.ProcessEnv = {}): Promise<RunningTransport> {
  const proc = ManagedProcess.node(`edge-worker-${id}`, EDGE_WORKER_MAIN, ['--config', configFile], { ...env, SWITCHBOARD_WORKER_ID: id, SWITCHBOARD_NATS_URL: natsUrl });
  const line = await proc.waitForEvent('listening');
  await proc.waitForEvent('ready');
  const listeners = line.listeners as { protocol: string; port: number }[];
  const port = (p: string) => listeners.find((l) => l.protocol === p)?.port ?? 0;
  return { id: 't1', proc, udpPort: port('udp'), tcpPort: port('tcp'), configFile };
}

/** A Call-ID that the transport's rendezvous hashing gives to `worker` among each of the worker sets. */
export function callIdLandingOn(worker: string, ...sets: string[][]): string {
  const rings = sets.map((ids) => new RendezvousSet(ids));
  for (let i = 0; ; i++) {
    const id = `${worker}-${Date.now()}-${i}@trunking`;
    if (rings.every((r) => r.pick(id) === worker)) return id;
  }
}

/**
 * A call from `caller` to `uri` through the transport at `via`, answered at once by `callee`:
 * both sides up, the ACK exchanged. `callId` picks the worker (see callIdLandingOn).
 */
export async function callUp(caller: UserAgent, callee: UserAgent, uri: string, via: { host: string; port: number }, callId?: string): Promise<{ call: Call; far: Call }> {
  callee.onNextInvite({ ring: 0 });
  const call = caller.call({ to: uri, via, ...(callId === undefined ? {} : { callId }) });
  const far = await callee.nextCall();
  await call.established;
  return { call, far };
}
