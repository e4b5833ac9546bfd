// The live trunking configuration when nats-server comes back on an empty store: the worker
// makes the sb-config bucket again with the configuration in force on it (the cluster's last,
// not its file's), and follows the new bucket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { TrunkingConfigSchema, type TrunkingConfig } from '@switchboard/trunking';
import { CONFIG_BUCKET, TRUNKING_KEY } from '@switchboard/wire';
import { pino } from 'pino';
import { TEST_TRUNKING } from '../testing/harness.js';
import { LiveTrunking } from './live-trunking.js';

const withAcl = (acl: string[]) => ({ ...TEST_TRUNKING, trunks: [{ ...TEST_TRUNKING.trunks[0], acl }] });

async function until(check: () => Promise<boolean> | boolean, what: string, withinMs = 5_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${withinMs} ms: ${what}`);
}

/** The stored configuration's ACL of trunk acme, read as an operator would; undefined while there is none. */
async function storedAcl(url: string): Promise<string[] | undefined> {
  const nc = await connect({ servers: url });
  try {
    const entry = await (await new Kvm(nc).open(CONFIG_BUCKET)).get(TRUNKING_KEY);
    return entry === null ? undefined : (entry.json() as TrunkingConfig).trunks[0]?.acl;
  } catch {
    return undefined;
  } finally {
    await nc.close();
  }
}

describe('LiveTrunking after nats-server lost its store', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let live: LiveTrunking;
  const applied: string[][] = [];

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    live = await LiveTrunking.open(nc, TrunkingConfigSchema.parse(TEST_TRUNKING), pino({ level: 'silent' }), (config) => applied.push(config.trunks[0]?.acl ?? []));
  });

  after(async () => {
    await live.close();
    await nc.close();
    await nats.stop();
  });

  it('the bucket comes back with the configuration in force, in file storage, and new writes are followed again', async () => {
    await live.set(withAcl(['192.0.2.0/24']));
    await until(() => applied.at(-1)?.[0] === '192.0.2.0/24', 'the write applied');

    await nats.restart({ emptyStore: true });
    await until(async () => (await storedAcl(nats.url))?.[0] === '192.0.2.0/24', 'the bucket made again with the live configuration, not the file\'s');
    const status = await (await new Kvm(nc).open(CONFIG_BUCKET)).status();
    assert.equal(status.streamInfo.config.storage, 'file');
    assert.equal(status.history, 20);

    // a write to the new bucket (revision 2, lower than the old bucket's) is applied
    const operator = await connect({ servers: nats.url });
    try {
      await (await new Kvm(operator).open(CONFIG_BUCKET)).put(TRUNKING_KEY, JSON.stringify(withAcl(['198.51.100.0/24'])));
    } finally {
      await operator.close();
    }
    await until(() => applied.at(-1)?.[0] === '198.51.100.0/24', 'the watch follows the new bucket');
    assert.deepEqual((await live.get()).config.trunks[0]?.acl, ['198.51.100.0/24']);
  });
});
