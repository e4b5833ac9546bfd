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
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { callIdLandingOn, oneCarrierTrunking, writeCluster } from '../support/cluster.js';
import {
  adminPassword, alive, CARRIER_HOST, CLEAN_ENV, DIALLED, PBX_HOST, interruptLocalCluster, names, only, startLocalCluster, until, WAIT_MS, type LocalCluster,
} from '../support/local-cluster.js';
import { repoRoot } from '../support/paths.js';

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

const NAMES = ['carrier', 'cdr-web', 'nats', 'transport', 'w1', 'w2'];

// The steps share one cluster and run in order: each starts from where the previous left it.
describe('./scripts/start (scripts/local-cluster.mjs) supervises its processes', () => {
  let cluster: LocalCluster;
  const children = () => cluster.children();
  const exits = () => cluster.exits();
  const explained = (step: () => Promise<void>) => cluster.explained(step);
  /** A call from the PBX through the transport to the demo carrier; `worker` picks the worker by its Call-ID. */
  const callThrough = async (worker: string) => {
    const call = cluster.pbx.call({ to: DIALLED, via: cluster.edge, callId: callIdLandingOn(worker, ['w1', 'w2']) });
    await call.established;
    await call.hangup();
  };

  before(async () => {
    cluster = await startLocalCluster([], 'transport');
  });

  after(() => cluster?.stop());

  test('the cluster on the overridden ports and data directory serves a call', () => explained(async () => {
    assert.deepEqual(names(children()), NAMES);
    assert.ok(existsSync(join(cluster.dataDir, 'nats', 'jetstream')), 'the store is in SWITCHBOARD_DATA_DIR/nats');
    await callThrough('w1');
    await callThrough('w2');
  }));

  test('the banner is derived from the configuration in use: its trunk, a number to dial, its DIDs, the demo carrier, the CLI', () => explained(async () => {
    const text = cluster.script.lines.map((l) => l.text).join('\n');
    assert.match(text, /trunking of .*trunks\.yaml: 1 trunk\(s\), 1 carrier\(s\) \(carrier\)/);
    assert.match(text, new RegExp(`trunk "acme" \\(calls from ${PBX_HOST.replaceAll('.', '\\.')}/32\\): dial sip:\\+14155551234@acme\\.trunks\\.example`));
    assert.match(text, new RegExp(`calls from a carrier to its DIDs \\(\\+14155550100\\) go to sip:${PBX_HOST.replaceAll('.', '\\.')}:${cluster.pbx.port}`));
    assert.match(text, new RegExp(`the demo carrier on ${CARRIER_HOST.replaceAll('.', '\\.')}:\\d+ is carrier "carrier"`));
    assert.match(text, new RegExp(`CLI: \\./switchboard --server ${cluster.natsUrl.replaceAll('.', '\\.')} --user admin --password ${adminPassword(cluster.dataDir)} calls ls`));
    assert.doesNotMatch(text, /you are trunk/, 'nothing of the example configuration the script does not run');
  }));

  test('--from-file: the trunking file is applied to the cluster through the CLI once a worker answers', () => explained(async () => {
    const applied = await cluster.script.waitFor((l) => l.text.startsWith('[start] '), WAIT_MS);
    assert.match(applied.text, /^\[start\] .*trunks\.yaml applied to the cluster \(--from-file\): configuration revision \d+/);
  }));

  test('the CLI as the README and the banner write it: ./switchboard and pnpm exec switchboard from the repository root', () => explained(async () => {
    const cli = /CLI: (\.\/switchboard .*)$/m.exec(cluster.script.lines.map((l) => l.text).join('\n'))?.[1] ?? assert.fail('no CLI line in the banner');
    const fromBanner = await shell(cli, CLEAN_ENV);
    assert.equal(fromBanner.code, 0, fromBanner.stderr);
    assert.equal(fromBanner.stderr, 'switchboard: no calls in progress matched\n');
    // the README's own words, its server and data directory given as the README says (SWITCHBOARD_NATS_URL, SWITCHBOARD_DATA_DIR)
    const env = { ...CLEAN_ENV, SWITCHBOARD_NATS_URL: cluster.natsUrl, SWITCHBOARD_DATA_DIR: cluster.dataDir };
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
    const w1StartedAt = cluster.heartbeats.latest.get('w1')?.startedAt ?? assert.fail('no heartbeat of w1');
    const w2StartedAt = cluster.heartbeats.latest.get('w2')?.startedAt ?? assert.fail('no heartbeat of w2');

    process.kill(w1.pid, 'SIGKILL');

    await cluster.script.waitFor((l) => /^\[w1\] exited \(signal SIGKILL\) after [\d.]+ s; restarting in \d+ ms$/.test(l.text), WAIT_MS);
    const restarted = await until('a new w1', () => children().find((c) => c.name === 'w1' && c.pid !== w1.pid));
    await cluster.script.waitFor((l) => l.text === `[w1] started (pid ${restarted.pid})`, WAIT_MS);
    await until('a heartbeat of the new w1', () => {
      const h = cluster.heartbeats.latest.get('w1');
      return h !== undefined && h.startedAt > w1StartedAt ? h : undefined;
    });
    await callThrough('w1');

    for (const c of before) if (c.name !== 'w1') assert.ok(alive(c.pid), `${c.name} (pid ${c.pid}) still runs`);
    assert.deepEqual(names(children()), NAMES);
    assert.equal(cluster.heartbeats.latest.get('w2')?.startedAt, w2StartedAt, 'w2 was not restarted');
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

    await cluster.script.waitFor((l) => /^\[nats\] exited \(signal SIGKILL\) after [\d.]+ s; restarting in \d+ ms$/.test(l.text), WAIT_MS);
    const restarted = await until('a new nats-server', () => children().find((c) => c.name === 'nats' && c.pid !== nats.pid));
    assert.equal(cmdline(restarted.pid), natsCommand, 'the same port and store');
    // the heartbeats of both workers, from the processes that ran before, arrive again
    await until('heartbeats of w1 and w2 through the new server', () => (
      ['w1', 'w2'].every((id) => (cluster.heartbeats.latest.get(id)?.sentAt ?? 0) > killedAt) ? true : undefined
    ));
    for (const c of before) if (c.name !== 'nats') assert.ok(alive(c.pid), `${c.name} (pid ${c.pid}) still runs`);
    assert.equal(exits().length, exitsBefore + 1, `only nats exited: ${exits().join('; ')}`);
  }));

  test('SIGINT stops every process within 10 s and starts none again', () => explained(async () => {
    assert.deepEqual(names(children()), NAMES);
    await interruptLocalCluster(cluster);
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
