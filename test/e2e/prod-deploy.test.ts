// What the container image holds, checked without a container engine: the Dockerfile's own
// `pnpm deploy --prod` commands are run into a temporary directory (test/support/image.ts, once
// per test run, shared with kubernetes-manifests.test.ts), and the transport, worker, CDR page and
// CLI are started from what they produced against a real nats-server, with no path back into the
// workspace. A call placed through them proves every runtime dependency made it in;
// a dependency declared only as a devDependency (or not at all) fails here, not in a cluster.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, ManagedProcess, startNatsServer, UserAgent, type NatsServerHandle } from '@switchboard/testkit';
import { acmeTrunking, transportConfigText, writeCluster, writeConfig } from '../support/cluster.js';
import { probe, probeUntil } from '../support/health.js';
import { DOCKERFILE, dockerfileDeploys, imageContent, noPnpm } from '../support/image.js';

const PBX_HOST = '127.0.0.17';
const CARRIER_HOST = '127.0.0.27';

describe('the image content: each process from its `pnpm deploy --prod` output', { skip: noPnpm }, () => {
  let out: string;
  let nats: NatsServerHandle;
  let pbx: UserAgent;
  let carrier: UserAgent;
  const procs: ManagedProcess[] = [];
  const health = { transport: 0, worker: 0, web: 0 };
  let udpPort = 0;
  let webPort = 0;
  const app = (folder: string, ...path: string[]) => join(out, folder, ...path);

  before(async () => {
    out = await imageContent();
    nats = await startNatsServer();
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    for (const key of Object.keys(health) as (keyof typeof health)[]) health[key] = await freePort();
    const local = { SWITCHBOARD_HEALTH_HOST: '127.0.0.1', NODE_PATH: '' };

    const transport = ManagedProcess.node('transport', app('transport', 'dist/main.js'), ['--config', writeConfig(transportConfigText('t1', nats.url))], {
      ...local, SWITCHBOARD_HEALTH_PORT: String(health.transport),
    });
    procs.push(transport);
    const listening = await transport.waitForEvent('listening');
    udpPort = (listening.listeners as { protocol: string; port: number }[]).find((l) => l.protocol === 'udp')?.port ?? 0;

    const cluster = writeCluster(nats.url, acmeTrunking({ pbx: { host: PBX_HOST, port: pbx.port }, carrier: { host: CARRIER_HOST, port: carrier.port } }));
    const worker = ManagedProcess.node('worker', app('worker', 'dist/main.js'), ['--config', cluster], {
      ...local, SWITCHBOARD_HEALTH_PORT: String(health.worker), SWITCHBOARD_WORKER_ID: 'w1', SWITCHBOARD_NATS_URL: nats.url,
    });
    procs.push(worker);
    await worker.waitForEvent('ready', 20_000);
    await transport.waitFor((l) => l.json?.event === 'worker' && l.json.worker === 'w1' && l.json.state === 'active');

    webPort = await freePort();
    const web = ManagedProcess.node('cdr-web', app('cdr-web', 'dist/main.js'), ['--listen', `127.0.0.1:${webPort}`], {
      ...local, SWITCHBOARD_HEALTH_PORT: String(health.web), SWITCHBOARD_NATS_URL: nats.url, SWITCHBOARD_CDR_WEB_LISTEN: '',
    });
    procs.push(web);
    await web.waitForEvent('nats-connected');
  });

  after(async () => {
    for (const p of procs.reverse()) await p.stop('SIGINT');
    for (const ua of [pbx, carrier]) await ua?.stop();
    await nats?.stop();
  });

  test('the Dockerfile deploys the transport, worker, CDR page and CLI, on node:20-slim, as a non-root user, with a HEALTHCHECK on /livez', () => {
    assert.deepEqual(dockerfileDeploys().map((d) => [d.filter, d.folder]), [
      ['@switchboard/transport', 'transport'], ['@switchboard/engine', 'worker'], ['@switchboard/cdr-web', 'cdr-web'], ['@switchboard/cli', 'cli'],
    ]);
    for (const d of dockerfileDeploys()) assert.ok(d.args.includes('--prod'), `${d.filter}: --prod`);
    assert.match(DOCKERFILE, /^ARG NODE_IMAGE=node:20-slim$/m);
    assert.equal(DOCKERFILE.match(/^FROM /gm)?.length, 2, 'multi-stage: a build stage and the runtime');
    assert.doesNotMatch(DOCKERFILE, /:latest\b/);
    const user = /^USER (\S+)$/m.exec(DOCKERFILE)?.[1] ?? '';
    assert.match(user, /^[1-9]\d*(:\d+)?$/, 'a numeric, non-root USER (runAsNonRoot can check it)');
    assert.match(DOCKERFILE, /^HEALTHCHECK [^\n]*\\\n\s+CMD \["node", "-e", "fetch\([^\n]*\/livez/m);
  });

  test('no development dependency is in any deployed folder', () => {
    for (const d of dockerfileDeploys()) {
      const installed = readdirSync(app(d.folder, 'node_modules/.pnpm'));
      for (const dev of ['typescript@', 'turbo@', '@switchboard+testkit', 'playwright-core@']) {
        assert.equal(installed.find((name) => name.startsWith(dev)), undefined, `${d.folder} holds ${dev}`);
      }
    }
    assert.ok(existsSync(app('worker', 'dist/prestop.js')), 'the preStop command is in the worker folder');
    assert.ok(existsSync(app('transport', 'dist/advertise-init.js')), 'the transport pod\'s init command is in the transport folder');
  });

  test('the deployed transport, worker and CDR page are ready and carry a call; the CDR page finds its record', async () => {
    for (const [name, port] of Object.entries(health)) assert.deepEqual(await probeUntil(port, '/readyz', 200), { status: 200, body: 'ready' }, name);
    carrier.onNextInvite({ ring: 0 });
    const call = pbx.call({ to: 'sip:+14155550142@acme.trunks.example', via: { host: '127.0.0.1', port: udpPort } });
    await call.established;
    assert.equal((await call.hangup()).status, 200);
    // a fresh nats-server: the one record on the page is this call's (built RECORD_GRACE_MS after it ended)
    const recorded = /data-trunk="acme"[\s\S]*data-record-id="/;
    const deadline = Date.now() + 15_000;
    let page = '';
    while (Date.now() < deadline && !recorded.test(page)) {
      page = await (await fetch(`http://127.0.0.1:${webPort}/?trunk=acme`)).text();
      if (!recorded.test(page)) await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(page, recorded, 'the call\'s record on the CDR page');
  });

  test('the deployed CLI lists the worker, and the deployed preStop drains it', async () => {
    const cli = spawnSync(process.execPath, [app('cli', 'bin/switchboard.mjs'), '--server', nats.url, '--json', 'workers', 'list'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /"w1"/);
    const prestop = spawnSync(process.execPath, [app('worker', 'dist/prestop.js')], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SWITCHBOARD_HEALTH_PORT: String(health.worker) } });
    assert.equal(prestop.status, 0, prestop.stderr);
    assert.match(prestop.stdout, /drained/);
    assert.deepEqual(await probe(health.worker, '/readyz'), { status: 503, body: 'draining' });
  });
});
