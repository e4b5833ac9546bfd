// The operator's CLI end to end (issue 9): the built `switchboard` run as operators run it,
// against a real nats-server, transport and two workers; testkit UAs play the customer's PBX and
// a carrier. Checks the output of the main commands (table headers, --json parsed) and their
// effects on live calls and on the live trunking configuration.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminClient } from '@switchboard/admin';
import { HEARTBEAT_INTERVAL_MS } from '@switchboard/wire';
import { startNatsServer, UserAgent, type Call, type ManagedProcess, type NatsServerHandle } from '@switchboard/testkit';
import { acmeTrunking, callUp, natsClient, startTransport, transportStats, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

const CLI_MAIN = join(repoRoot, 'packages/cli/dist/main.js');
const PBX_HOST = '127.0.0.51';
const CARRIER_HOST = '127.0.0.52';
/** The test's environment without an operator's NATS settings, which would change what the CLI connects to. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_NATS_')));

const trunking = (pbxPort: number, carrierPort: number) => acmeTrunking({ pbx: { host: PBX_HOST, port: pbxPort }, carrier: { host: CARRIER_HOST, port: carrierPort } });


interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnCli(url: string, args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI_MAIN, '--server', url, ...args], { env: ENV });
}

/** Runs the CLI to its end; one that has not exited after 20 s is killed, which fails the test (it must never hang). */
function run(child: ChildProcessWithoutNullStreams, args: readonly string[]): Promise<Run> & { output: () => string } {
  let stdout = '';
  let stderr = '';
  child.stdin.end();
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(kill);
      if (signal !== null) reject(new Error(`switchboard ${args.join(' ')} did not exit (${signal}); stderr: ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
  return Object.assign(done, { output: () => stdout });
}

/** The header line's columns (separated by two spaces or more: some headers are two words). */
function headers(table: string): string[] {
  return (table.split('\n')[0] ?? '').trim().split(/\s{2,}/);
}

describe('switchboard CLI against a live cluster', () => {
  let nats: NatsServerHandle;
  let t1: RunningTransport;
  const workers = new Map<string, ManagedProcess>();
  let pbx: UserAgent;
  let carrier: UserAgent;
  let edge: { host: string; port: number };

  const switchboard = (...args: string[]): Promise<Run> => run(spawnCli(nats.url, args), args);
  /** Runs and expects exit 0, saying why not. */
  const ok = async (...args: string[]): Promise<Run> => {
    const result = await switchboard(...args);
    assert.equal(result.code, 0, `switchboard ${args.join(' ')}: ${result.stderr}`);
    return result;
  };

  before(async () => {
    nats = await startNatsServer();
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    t1 = await startTransport('t1', nats.url);
    const file = writeCluster(nats.url, trunking(pbx.port, carrier.port), { t1: 100, limitsBucket: 'cli-e2e' });
    for (const id of ['w1', 'w2']) workers.set(id, await startWorker(id, file, nats.url));
    await workersKnown(t1, ['w1', 'w2']);
    edge = { host: '127.0.0.1', port: t1.udpPort };
  });

  after(async () => {
    await Promise.all([...workers.values()].map((w) => w.stop('SIGINT')));
    await t1?.proc.stop();
    for (const ua of [pbx, carrier]) await ua?.stop();
    await nats?.stop();
  });

  /** A termination call PBX → carrier to `number`, up (both sides have the ACK exchanged). */
  const termination = (number: string) => callUp(pbx, carrier, `sip:${number}@acme.trunks.example`, edge);

  test('workers ls: a table of both workers, and JSON', async () => {
    const [table, json] = await Promise.all([ok('workers', 'ls'), ok('workers', 'ls', '--json')]);
    assert.deepEqual(headers(table.stdout), ['ID', 'STATE', 'CALLS', 'UPTIME', 'VERSION', 'CPS']);
    assert.deepEqual(table.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 2)), [['w1', 'active'], ['w2', 'active']]);
    const stats = JSON.parse(json.stdout) as { workerId: string; state: string; calls: number }[];
    assert.deepEqual(stats.map((s) => [s.workerId, s.state]), [['w1', 'active'], ['w2', 'active']]);
    assert.equal(json.stderr, '');
  });

  test('calls ls | show | hangup: a call up is listed and shown with both legs; hung up, both UAs get BYE', async () => {
    const { call, far } = await termination('+14155551234');
    const [table, json, none] = await Promise.all([ok('calls', 'ls'), ok('calls', 'ls', '--json', '--trunk', 'acme'), ok('calls', 'ls', '--json', '--trunk', 'globex')]);
    assert.deepEqual(headers(table.stdout), ['ID', 'WORKER', 'STATE', 'TRUNK', 'DIR', 'FROM', 'TO', 'STARTED', 'ANSWERED', 'AGE', 'LEGS', 'XFERS']);
    const calls = JSON.parse(json.stdout) as { id: string; worker: string; trunk: string; state: string; direction: string; to: string; legs: number }[];
    assert.equal(calls.length, 1);
    const listed = calls[0];
    assert.ok(listed !== undefined);
    assert.equal(listed.trunk, 'acme');
    assert.ok(['answered', 'confirmed'].includes(listed.state), listed.state);
    assert.equal(listed.direction, 'termination');
    assert.equal(listed.to, '+14155551234');
    assert.match(table.stdout, new RegExp(`^${listed.id} +${listed.worker} +\\w+ +acme +term +\\+12125550100 +\\+14155551234 `, 'm'));
    assert.deepEqual(JSON.parse(none.stdout), []);

    const [shown, shownJson] = await Promise.all([ok('calls', 'show', listed.id), ok('calls', 'show', listed.id, '--json')]);
    assert.match(shown.stdout, new RegExp(`^id: +${listed.id}$`, 'm'));
    const legRows = /^legs:\n((?: {2}.*\n)+)/m.exec(shown.stdout)?.[1]?.trimEnd().split('\n') ?? [];
    assert.match(legRows[0] ?? '', /^ {2}LEG +ROLE +DIALOG +SIP CALL-ID +PEER$/);
    assert.equal(legRows.length, 3, 'a header and two legs');
    const detail = JSON.parse(shownJson.stdout) as { legList: { sipCallId: string; dialog: string }[] };
    assert.equal(detail.legList.length, 2);
    assert.ok(detail.legList.some((l) => l.sipCallId === call.callId), 'the PBX leg by its Call-ID');

    const hangup = await ok('calls', 'hangup', listed.id);
    assert.match(hangup.stdout, new RegExp(`^call ${listed.id} on ${listed.worker}: hanging up`));
    assert.equal((await call.ended).how, 'bye');
    assert.equal((await far.ended).how, 'bye');
  });

  test('an unknown call exits 2, a malformed id 1', async () => {
    const [show, hangup, transfer, malformed] = await Promise.all([
      switchboard('calls', 'show', '00000000ffffffff'), switchboard('calls', 'hangup', '00000000ffffffff', '--json'),
      switchboard('calls', 'transfer', '00000000ffffffff', '+14155552000'), switchboard('calls', 'show', 'nope'),
    ]);
    for (const r of [show, hangup, transfer]) {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^switchboard: no call 00000000ffffffff on any of 2 worker\(s\)\n$/);
    }
    assert.equal(malformed.code, 1);
  });

  test('trunks ls | show: a table and JSON of the configuration in force', async () => {
    const [table, json, shown] = await Promise.all([ok('trunks', 'ls'), ok('trunks', 'ls', '--json'), ok('trunks', 'show', 'acme')]);
    assert.deepEqual(headers(table.stdout), ['ID', 'DOMAIN', 'DIDS', 'ROUTES', 'TRANSFER MODE', 'MAX CONC', 'MAX CPS']);
    assert.deepEqual(table.stdout.trimEnd().split('\n')[1]?.split(/\s{2,}/), ['acme', 'acme.trunks.example', '1', '1', 'all', '-', '-']);
    assert.match(table.stderr, /^switchboard: configuration revision \d+\n$/);
    const config = JSON.parse(json.stdout) as { revision: number; trunks: { id: string }[] };
    assert.ok(config.revision >= 1);
    assert.deepEqual(config.trunks.map((t) => t.id), ['acme']);
    assert.match(shown.stdout, /^# trunk acme, configuration revision \d+\nid: acme\ndomain: acme\.trunks\.example\n/);
    assert.equal((await switchboard('trunks', 'show', 'globex')).code, 2);
  });

  test('trunks set: a blocked prefix refuses the next call to it (403), the call already up stays up', async () => {
    const { call: ongoing, far: ongoingFar } = await termination('+14155551111');
    const set = await ok('trunks', 'set', 'acme', 'restrictions.blocked=[{"prefix":"+1415555","name":"test"}]');
    const revisions = /^configuration revision (\d+) → (\d+)$/m.exec(set.stdout);
    assert.ok(revisions !== null, set.stdout);
    assert.match(set.stdout, /^acme restrictions\.blocked: \[\] → \[\{"prefix":"\+1415555","name":"test"\}\]$/m);
    const revision = Number(revisions[2]);
    // each worker applies a new revision as its KV watch delivers it: wait until both have
    await Promise.all([...workers.values()].map((w) => w.waitFor((l) => l.json?.event === 'config-applied' && l.json.revision === revision)));

    const refused = pbx.call({ to: 'sip:+14155552222@acme.trunks.example', via: edge });
    const failed = await refused.failed;
    assert.equal(failed.status, 403);
    assert.equal(failed.reason, 'Destination Blocked');

    const calls = JSON.parse((await ok('calls', 'ls', '--json')).stdout) as { to?: string; state: string }[];
    assert.equal(calls.find((c) => c.to === '+14155551111')?.state, 'confirmed', 'the call up before the change is up still');
    await ongoing.hangup();
    assert.equal((await ongoingFar.ended).how, 'bye');

    const shown = JSON.parse((await ok('trunks', 'show', 'acme', '--json')).stdout) as { revision: number; trunk: { restrictions: { blocked: unknown } } };
    assert.equal(shown.revision, revision);
    assert.deepEqual(shown.trunk.restrictions.blocked, [{ prefix: '+1415555', name: 'test' }]);
    const [unchanged, unknown] = await Promise.all([
      ok('trunks', 'set', 'acme', 'restrictions.blocked=[{"prefix":"+1415555","name":"test"}]'), switchboard('trunks', 'set', 'globex', 'transfer.mode=all'),
    ]);
    assert.equal(unchanged.stdout, `acme: nothing to change, configuration revision ${revision} stays\n`);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'switchboard: no trunk globex (trunks: acme)\n');
  });

  test('trunks set and apply: an invalid configuration is refused naming the field (exit 4), the one in force is kept', async () => {
    const before = JSON.parse((await ok('trunks', 'ls', '--json')).stdout) as { revision: number };
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-e2e-'));
    const invalid = join(dir, 'invalid.yaml');
    writeFileSync(invalid, `trunks:\n  - id: acme\n    domain: "not a domain!"\n    acl: ["${PBX_HOST}/32"]\n    numberPlan: { countryCode: "1" }\n`);
    const [applied, set] = await Promise.all([switchboard('trunks', 'apply', '-f', invalid), switchboard('trunks', 'set', 'acme', 'transfer.mode=sometimes')]);
    assert.equal(applied.code, 4);
    assert.equal(applied.stdout, '');
    assert.equal(applied.stderr, 'switchboard: the cluster refused the configuration: trunks[0].domain: expected a domain name\n');
    assert.equal(set.code, 4);
    assert.match(set.stderr, /^switchboard: the cluster refused the configuration: trunks\[0\]\.transfer\.mode: /);
    const after = JSON.parse((await ok('trunks', 'ls', '--json')).stdout) as { revision: number };
    assert.equal(after.revision, before.revision);

    // the file's own configuration again (JSON, which is YAML), made from the revision read
    const file = join(dir, 'trunks.json');
    writeFileSync(file, JSON.stringify(trunking(pbx.port, carrier.port)));
    const stale = await switchboard('trunks', 'apply', '-f', file, '--revision', String(before.revision - 1));
    assert.equal(stale.code, 4);
    assert.match(stale.stderr, /is not the latest/);
    const good = await ok('trunks', 'apply', '-f', file, '--revision', String(before.revision), '--json');
    const written = JSON.parse(good.stdout) as { revision: number; trunking: { trunks: { restrictions: { blocked: unknown[] } }[] } };
    assert.ok(written.revision > before.revision);
    assert.deepEqual(written.trunking.trunks[0]?.restrictions.blocked, []);

    // a misspelt field is refused by the workers, named
    const misspelt = await switchboard('trunks', 'set', 'acme', 'restrictions.maxCPS=10');
    assert.equal(misspelt.code, 4);
    assert.match(misspelt.stderr, /trunks\[0\]\.restrictions\.maxCPS: unknown field/);
  });

  test('stats: JSON of each worker with the counters, a table of them, and --watch until Ctrl-C', async () => {
    const [json, table] = await Promise.all([ok('stats', '--json'), ok('stats')]);
    const stats = JSON.parse(json.stdout) as { workerId: string; counters: Record<string, number>; callsByTrunk: Record<string, number> }[];
    assert.deepEqual(stats.map((s) => s.workerId), ['w1', 'w2']);
    const total = (name: string) => stats.reduce((n, s) => n + (s.counters[name] ?? 0), 0);
    assert.ok(total('calls.started') >= 3);
    assert.ok(total('responses.2xx') >= 1);
    assert.ok(total('responses.403') >= 1);
    assert.ok(total('refused.destination-blocked') >= 1);
    assert.deepEqual(headers(table.stdout), ['METRIC', 'TOTAL', 'w1', 'w2']);
    assert.match(table.stdout, /^ {4}403 +[1-9]\d* /m);
    assert.match(table.stdout, /^ {2}destination-blocked +[1-9]/m);

    const args = ['stats', '--watch', '0.3'];
    const child = spawnCli(nats.url, args);
    const watching = run(child, args);
    for (let i = 0; (watching.output().match(/^METRIC/gm) ?? []).length < 2; i++) {
      assert.ok(i < 100, `no second round within 10 s: ${watching.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const ended = await watching;
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stdout, /every 300ms, Ctrl-C to stop/);
  });

  // README "Operations": 0 ok · 1 usage (bad option, argument or file) · 2 not found (call, worker,
  // trunk, record) · 3 unavailable · 4 refused · 5 internal. What the tests above do not check yet.
  test('exit codes as the README\'s table gives them, command by command', async () => {
    const missingFile = join(mkdtempSync(join(tmpdir(), 'switchboard-cli-e2e-')), 'absent.yaml');
    const cases: [string[], number][] = [
      [['--help'], 0], [['calls', 'ls', '--help'], 0], [['no-such-command'], 1], [['calls', 'ls', '--state'], 1],
      [['trunks', 'apply', '-f', missingFile], 1], [['calls', 'transfer', '00000000ffffffff', 'not a target'], 1],
      [['calls', 'ls', '--worker', 'w9'], 2], [['workers', 'drain', 'w9'], 2], [['trunks', 'show', 'globex'], 2],
      [['cdr', 'ls', '--call', '00000000ffffffff'], 2], [['cdr', 'ls', '--call', '00000000ffffffff', '--json'], 2],
      [['cdr', 'show', '00000000ffffffff-0'], 2],
      [['calls', 'ls'], 0], [['workers', 'ls'], 0], [['stats'], 0], [['cdr', 'ls'], 0], [['trunks', 'ls'], 0],
    ];
    const runs = await Promise.all(cases.map(([args]) => switchboard(...args)));
    cases.forEach(([args, code], i) => assert.equal(runs[i]?.code, code, `switchboard ${args.join(' ')}: ${runs[i]?.stderr}`));

    // no worker, or no NATS at all: 3
    const empty = await startNatsServer();
    try {
      const unavailable = await Promise.all([['workers', 'ls'], ['calls', 'ls'], ['stats'], ['calls', 'show', '00000000ffffffff'], ['trunks', 'ls']]
        .map((args) => run(spawnCli(empty.url, ['--timeout', '2000', ...args]), args)));
      for (const r of unavailable) assert.equal(r.code, 3, r.stderr);
    } finally {
      await empty.stop();
    }
  });

  // Issue 20: the commands find the live workers through the transport's directory of heartbeats
  // (findLiveWorkers, shared by the listings and by AdminClient for calls show|hangup|transfer).
  // Discovery's wait is made a minute long here: only a find that the heartbeats ended is in time.
  test('the live workers are found through the heartbeats, without waiting for discovery', { timeout: 20_000 }, async () => {
    const nc = await natsClient(nats.url);
    try {
      // a transport node trusts its directory once it has heard two heartbeats' worth
      const uptimeMs = Number((await transportStats(nc, 't1'))['uptimeMs']);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2 * HEARTBEAT_INTERVAL_MS - uptimeMs)));
      const admin = new AdminClient(nc, 60_000, { discoveryWaitMs: 60_000 });
      const live = await admin.liveWorkers();
      assert.deepEqual([live.via, live.workers.map((w) => w.id)], ['heartbeats', ['w1', 'w2']]);
      await assert.rejects(admin.showCall('00000000ffffffff'), /no call 00000000ffffffff on any of 2 worker\(s\)/);
    } finally {
      await nc.close();
    }
  });

  test('workers ls, calls ls, stats and calls show: their wall times, reported', async () => {
    const times: string[] = [];
    for (const command of [['workers', 'ls'], ['calls', 'ls'], ['stats'], ['calls', 'show', '00000000ffffffff']]) {
      const startedAt = Date.now();
      const { code, stderr } = await switchboard(...command);
      assert.ok(code === 0 || (command[1] === 'show' && code === 2), `switchboard ${command.join(' ')}: ${stderr}`);
      times.push(`${command.join(' ')} ${Date.now() - startedAt} ms`);
    }
    // whole runs of node (its start included) on a shared machine: reported, not asserted
    console.log(`switchboard: ${times.join(', ')}`);
  });

  test('workers drain: the worker goes draining; an unknown worker exits 2', async () => {
    const [drained, unknown] = await Promise.all([ok('workers', 'drain', 'w2'), switchboard('workers', 'drain', 'w9')]);
    assert.equal(drained.stdout, 'worker w2: draining (no new calls; its calls in progress continue)\n');
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'switchboard: no worker w9 (live: w1, w2)\n');
    const stats = JSON.parse((await ok('workers', 'ls', '--json')).stdout) as { workerId: string; state: string }[];
    assert.deepEqual(stats.map((s) => [s.workerId, s.state]), [['w1', 'active'], ['w2', 'draining']]);
  });
});
