// What the transport puts in Via and Contact when its listeners are on a wildcard address (as on a
// Kubernetes node's host network), as a real process says it at start: with nothing advertised it
// logs `advertise-guessed` (a warning naming the interface it took), never silently; with
// SWITCHBOARD_ADVERTISE (the DaemonSet's status.hostIP) it advertises that and warns of nothing.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { ManagedProcess, startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { TRANSPORT_MAIN, transportConfigText, writeConfig } from '../support/cluster.js';

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
