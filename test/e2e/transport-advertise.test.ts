// What the transport puts in Via and Contact when its listeners are on a wildcard address (as on a
// Kubernetes node's host network), as a real process says it at start: with nothing advertised it
// logs `advertise-guessed` (a warning naming the interface it took), never silently; with
// SWITCHBOARD_ADVERTISE it advertises that and warns of nothing. On Kubernetes the address comes
// from the init container advertise-init.js, run here against a stand-in Kubernetes API: it writes
// the node's choice to the file the transport then advertises, and refuses a bad annotation.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestPki, ManagedProcess, startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { engineRoot, TRANSPORT_MAIN, transportConfigText, writeConfig } from '../support/cluster.js';

const ADVERTISE_INIT = join(engineRoot, 'packages/transport/dist/advertise-init.js');

/** This machine's first non-internal IPv4 address, loopback when there is none: what the transport guesses. */
function firstInterface(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

describe('the transport\'s advertised address on wildcard listeners', () => {
  let nats: NatsServerHandle;
  const procs: ManagedProcess[] = [];
  let wildcard: string;

  before(async () => {
    nats = await startNatsServer();
    wildcard = writeConfig(transportConfigText('tadv', nats.url).replaceAll('host: 127.0.0.1', 'host: 0.0.0.0'));
  });

  after(async () => {
    for (const p of procs) await p.stop('SIGTERM');
    await nats?.stop();
  });

  async function listening(env: NodeJS.ProcessEnv): Promise<{ proc: ManagedProcess; advertised: string[] }> {
    const proc = ManagedProcess.node('transport', TRANSPORT_MAIN, ['--config', wildcard], env);
    procs.push(proc);
    const line = await proc.waitForEvent('listening');
    return { proc, advertised: (line.listeners as { advertise: string }[]).map((l) => l.advertise) };
  }

  test('nothing advertised: an advertise-guessed warning per listener, naming the interface guessed', async () => {
    const { proc, advertised } = await listening({ SWITCHBOARD_ADVERTISE: '' });
    const warnings = proc.lines.filter((l) => l.json?.event === 'advertise-guessed').map((l) => l.json ?? {});
    const guessed = firstInterface();
    assert.deepEqual(warnings.map((w) => [w.level, w.protocol, w.host, w.advertised]).sort(), [[40, 'tcp', '0.0.0.0', guessed], [40, 'udp', '0.0.0.0', guessed]]);
    assert.deepEqual(advertised, [guessed, guessed]);
    for (const w of warnings) assert.match(String(w.msg), new RegExp(`carry ${guessed.replaceAll('.', '\\.')}, this machine's first interface .*SWITCHBOARD_ADVERTISE`));
  });

  test('SWITCHBOARD_ADVERTISE set: advertised as such, no warning', async () => {
    const { proc, advertised } = await listening({ SWITCHBOARD_ADVERTISE: '192.0.2.10' });
    assert.deepEqual(advertised, ['192.0.2.10', '192.0.2.10']);
    assert.equal(proc.lines.find((l) => l.json?.event === 'advertise-guessed'), undefined);
  });
});

describe('advertise-init.js, the transport pod\'s init container, against a stand-in Kubernetes API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-advertise-'));
  const pki = createTestPki('Kubernetes Test CA');
  const token = 'test-token';
  let node: object = {};
  let port = 0;
  const server = createServer(pki.issue('kube-api', ['127.0.0.1']), (req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) res.writeHead(401).end();
    else if (req.url === '/api/v1/nodes/sip-node-1') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(node));
    else res.writeHead(404).end();
  });
  const procs: ManagedProcess[] = [];

  before(async () => {
    mkdirSync(join(dir, 'sa'));
    writeFileSync(join(dir, 'sa/token'), token);
    writeFileSync(join(dir, 'sa/ca.crt'), pki.ca);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });

  after(async () => {
    for (const p of procs) await p.stop('SIGTERM');
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
    rmSync(pki.dir, { recursive: true, force: true });
  });

  async function init(file: string): Promise<{ proc: ManagedProcess; code: number | null }> {
    const proc = ManagedProcess.node('advertise-init', ADVERTISE_INIT, [], {
      NODE_NAME: 'sip-node-1', HOST_IP: '10.0.0.5', SWITCHBOARD_ADVERTISE_FILE: file,
      KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port), SWITCHBOARD_SERVICEACCOUNT_DIR: join(dir, 'sa'),
    });
    procs.push(proc);
    return { proc, code: await proc.exited };
  }

  test('no annotation: the node\'s ExternalIP written, and the transport advertises what the file holds', async () => {
    node = { metadata: { name: 'sip-node-1' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.5' }, { type: 'ExternalIP', address: '198.51.100.9' }] } };
    const file = join(dir, 'external');
    const { proc, code } = await init(file);
    assert.equal(code, 0, proc.output());
    assert.equal(readFileSync(file, 'utf8'), '198.51.100.9\n');
    const resolved = await proc.waitForEvent('advertise-resolved');
    assert.deepEqual([resolved.address, resolved.source], ['198.51.100.9', 'external-ip']);
    const nats = await startNatsServer();
    try {
      const transport = ManagedProcess.node('transport', TRANSPORT_MAIN, ['--config', writeConfig(transportConfigText('tfile', nats.url).replaceAll('host: 127.0.0.1', 'host: 0.0.0.0'))], { SWITCHBOARD_ADVERTISE_FILE: file });
      procs.push(transport);
      const listening = await transport.waitForEvent('listening');
      assert.deepEqual((listening.listeners as { advertise: string }[]).map((l) => l.advertise), ['198.51.100.9', '198.51.100.9']);
      assert.equal(transport.lines.find((l) => l.json?.event === 'advertise-guessed'), undefined);
      await transport.stop('SIGTERM');
    } finally {
      await nats.stop();
    }
  });

  test('a malformed annotation: exit 1, advertise-failed naming it, no file (the pod does not start)', async () => {
    node = { metadata: { name: 'sip-node-1', annotations: { 'switchboard.io/public-address': '0.0.0.0' } }, status: { addresses: [{ type: 'ExternalIP', address: '198.51.100.9' }] } };
    const file = join(dir, 'refused');
    const { proc, code } = await init(file);
    assert.equal(code, 1, proc.output());
    assert.match(String((await proc.waitForEvent('advertise-failed')).err), /switchboard\.io\/public-address: 0\.0\.0\.0 is a wildcard/);
    assert.equal(existsSync(file), false);
  });
});
