import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '@switchboard/config';
import { loadWorkerConfig } from './worker-config.js';

const BASE = `worker:
  id: w1
trunking:
  file: trunks.yaml
nats:
  servers: ["nats://127.0.0.1:4222"]
routing:
  secret: worker-config-test-secret
`;

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'worker-config-')), 'switchboard.yaml');
  writeFileSync(path, text);
  return path;
}

describe('worker configuration: jetstream', () => {
  it('defaults to one replica, for every asset the worker creates', () => {
    const config = loadWorkerConfig(file(BASE), {});
    assert.deepEqual(config.jetstream, { replicas: 1 });
    assert.equal(config.cdr.replicas, undefined, 'SB_CDR follows jetstream.replicas unless cdr.replicas says otherwise');
  });

  it('takes 3 replicas (a JetStream cluster), and a CDR override', () => {
    const config = loadWorkerConfig(file(`${BASE}jetstream:\n  replicas: 3\ncdr:\n  replicas: 5\n`), {});
    assert.equal(config.jetstream.replicas, 3);
    assert.equal(config.cdr.replicas, 5);
  });

  for (const bad of ['0', '6', '2.5', '"three"']) {
    it(`refuses replicas: ${bad}, naming the file and the field`, () => {
      const path = file(`${BASE}jetstream:\n  replicas: ${bad}\n`);
      assert.throws(() => loadWorkerConfig(path, {}), (err: unknown) => err instanceof ConfigError && err.file === path && err.field === 'jetstream.replicas');
    });
  }
});

describe('worker configuration: the id from a pod name', () => {
  it('derives a valid id from SWITCHBOARD_WORKER_ID_FROM (the pod name, with dashes)', () => {
    const config = loadWorkerConfig(file(BASE), { SWITCHBOARD_WORKER_ID_FROM: 'switchboard-worker-7d9f8c6b5-x2k4q' });
    assert.match(config.worker.id, /^[A-Za-z0-9]{1,32}$/);
    assert.match(config.worker.id, /7d9f8c6b5x2k4q[0-9a-f]{8}$/);
  });

  it('lets SWITCHBOARD_WORKER_ID win over it', () => {
    const config = loadWorkerConfig(file(BASE), { SWITCHBOARD_WORKER_ID_FROM: 'switchboard-worker-7d9f8c6b5-x2k4q', SWITCHBOARD_WORKER_ID: 'w9' });
    assert.equal(config.worker.id, 'w9');
  });
});

describe('worker configuration: the config service\'s own NATS user', () => {
  it('is absent unless given: the worker\'s connection writes sb-config', () => {
    assert.equal(loadWorkerConfig(file(BASE), {}).nats.configWriter, undefined);
  });

  it('comes from SWITCHBOARD_NATS_CONFIG_WRITER_USER and _PASS (a Secret in deployment)', () => {
    const config = loadWorkerConfig(file(BASE), { SWITCHBOARD_NATS_CONFIG_WRITER_USER: 'config-writer', SWITCHBOARD_NATS_CONFIG_WRITER_PASS: 'pw' });
    assert.deepEqual(config.nats.configWriter, { user: 'config-writer', pass: 'pw' });
  });

  it('refuses a user without its password, naming the field', () => {
    const path = file(BASE);
    assert.throws(() => loadWorkerConfig(path, { SWITCHBOARD_NATS_CONFIG_WRITER_USER: 'config-writer' }), (err: unknown) => err instanceof ConfigError && err.field === 'nats.configWriter.pass');
  });
});

describe('worker configuration: early records (worker.snapshots.earlyAfterMs)', () => {
  const snapshots = (value: string) => `${BASE.replace('  id: w1\n', `  id: w1\n  snapshots:\n    earlyAfterMs: ${value}\n`)}`;

  it('defaults to 1000 ms, takes a number, 0 or "off"', () => {
    assert.equal(loadWorkerConfig(file(BASE), {}).worker.snapshots.earlyAfterMs, 1_000);
    assert.equal(loadWorkerConfig(file(snapshots('2500')), {}).worker.snapshots.earlyAfterMs, 2_500);
    assert.equal(loadWorkerConfig(file(snapshots('0')), {}).worker.snapshots.earlyAfterMs, 0);
    assert.equal(loadWorkerConfig(file(snapshots('off')), {}).worker.snapshots.earlyAfterMs, 'off');
  });

  for (const bad of ['-1', '2.5', 'soon', 'true']) {
    it(`refuses earlyAfterMs: ${bad}, naming the file and the field`, () => {
      const path = file(snapshots(bad));
      assert.throws(() => loadWorkerConfig(path, {}), (err: unknown) =>
        err instanceof ConfigError && err.file === path && err.field === 'worker.snapshots.earlyAfterMs' && /expected "off" or a whole number of milliseconds/.test(err.message) && err.message.includes(path));
    });
  }
});
