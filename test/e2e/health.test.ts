// The health endpoints of the real processes (README "Health endpoints"): transport, worker and
// CDR page, each with SWITCHBOARD_HEALTH_PORT, against a real nats-server. /readyz turns 503 when
// NATS is gone and back to 200 when it returns; the worker's preStop (POST /drain) makes it
// unready but live, holds until its call is over, and the SIGTERM that follows does not drain again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, ManagedProcess, startNatsServer, UserAgent, type NatsServerHandle } from '@switchboard/testkit';
import { acmeTrunking, engineRoot, startTransport, startWorker, workersKnown, writeCluster, type RunningTransport } from '../support/cluster.js';
import { probe, probeUntil } from '../support/health.js';
import { repoRoot } from '../support/paths.js';

const PBX_HOST = '127.0.0.16';
const CARRIER_HOST = '127.0.0.26';
const PRESTOP = join(engineRoot, 'packages/engine/dist/prestop.js');

describe('health endpoints of the real processes', () => {
  let nats: NatsServerHandle;
  let transport: RunningTransport;
  let worker: ManagedProcess;
  let web: ManagedProcess;
  let pbx: UserAgent;
  let carrier: UserAgent;
  const ports = { transport: 0, worker: 0, web: 0 };

  before(async () => {
    nats = await startNatsServer();
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    ports.transport = await freePort();
    ports.worker = await freePort();
    ports.web = await freePort();
    const local = { SWITCHBOARD_HEALTH_HOST: '127.0.0.1' };
    transport = await startTransport('t1', nats.url, { env: { ...local, SWITCHBOARD_HEALTH_PORT: String(ports.transport) } });
    const file = writeCluster(nats.url, acmeTrunking({ pbx: { host: PBX_HOST, port: pbx.port }, carrier: { host: CARRIER_HOST, port: carrier.port } }));
    worker = await startWorker('w1', file, nats.url, { ...local, SWITCHBOARD_HEALTH_PORT: String(ports.worker) });
    web = ManagedProcess.node('cdr-web', join(repoRoot, 'packages/cdr-web/dist/main.js'), ['--listen', `127.0.0.1:${await freePort()}`], {
      ...local, SWITCHBOARD_HEALTH_PORT: String(ports.web), SWITCHBOARD_NATS_URL: nats.url, SWITCHBOARD_CDR_WEB_LISTEN: '',
    });
    await web.waitForEvent('nats-connected');
    await workersKnown(transport, ['w1']);
  });

  after(async () => {
    await worker?.stop('SIGINT');
    await web?.stop();
    await transport?.proc.stop();
    for (const ua of [pbx, carrier]) await ua?.stop();
    await nats?.stop();
  });

  test('every process is live and ready once started, and says where its health listener is', async () => {
    for (const [name, port] of Object.entries(ports)) {
      assert.deepEqual(await probe(port, '/livez'), { status: 200, body: 'ok' }, name);
      assert.deepEqual(await probe(port, '/readyz'), { status: 200, body: 'ready' }, name);
    }
    assert.equal((await transport.proc.waitForEvent('health-listening')).port, ports.transport);
  });

  test('NATS stopped: every process unready (nats disconnected) but live; NATS back: ready again', async () => {
    await nats.kill();
    for (const port of Object.values(ports)) {
      await probeUntil(port, '/readyz', 503, 'nats disconnected');
      assert.equal((await probe(port, '/livez')).status, 200, 'an outage never gets a process restarted');
    }
    await nats.start();
    for (const port of Object.values(ports)) await probeUntil(port, '/readyz', 200, 'ready');
    await workersKnown(transport, ['w1']);
  });

  test("the worker's preStop: unready (draining) but live, held until its call ends; then SIGTERM exits without a second drain", async () => {
    carrier.onNextInvite({ ring: 0 });
    let call = pbx.call({ to: 'sip:+14155550123@acme.trunks.example', via: { host: '127.0.0.1', port: transport.udpPort } });
    // the worker may still be finding its footing after the NATS restart: a second try is fine
    try {
      await call.established;
    } catch {
      carrier.onNextInvite({ ring: 0 });
      call = pbx.call({ to: 'sip:+14155550124@acme.trunks.example', via: { host: '127.0.0.1', port: transport.udpPort } });
      await call.established;
    }

    let out = '';
    const prestop = spawn(process.execPath, [PRESTOP], { env: { ...process.env, SWITCHBOARD_HEALTH_PORT: String(ports.worker) } });
    prestop.stdout.on('data', (d: Buffer) => (out += d.toString()));
    prestop.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => prestop.on('close', resolve));
    let done = false;
    void exited.then(() => (done = true));

    await probeUntil(ports.worker, '/readyz', 503, 'draining');
    assert.deepEqual(await probe(ports.worker, '/livez'), { status: 200, body: 'ok' });
    assert.deepEqual(await probe(ports.transport, '/readyz'), { status: 200, body: 'ready' }, 'the transport is not draining');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(done, false, `preStop returned while the call was up: ${out}`);

    assert.equal((await call.hangup()).status, 200, 'the call survives the drain to its end');
    assert.equal(await exited, 0, out);
    // the hook asks for a handover; a lone worker has no one to hand its calls to, so it drains slowly
    assert.match(out, /drained \(handover\)/);

    const t0 = Date.now();
    assert.equal(await worker.stop('SIGTERM', 15_000), 0);
    assert.ok(Date.now() - t0 < 8_000, `SIGTERM after the preStop drained again (${Date.now() - t0} ms)`);
    assert.equal(worker.lines.filter((l) => l.json?.event === 'draining').length, 1, 'one drain');
  });
});
