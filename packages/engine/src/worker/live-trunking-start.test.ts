// A worker's start when the sb-config bucket holds another configuration than its trunking file
// (edited since the first start): the bucket's is in force, and the worker says so, naming the
// file and the one command that applies it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { TrunkingConfigSchema } from '@switchboard/trunking';
import { pino } from 'pino';
import { TEST_TRUNKING } from '../testing/harness.js';
import { LiveTrunking } from './live-trunking.js';

const FILE = TrunkingConfigSchema.parse(TEST_TRUNKING);
const EDITED = TrunkingConfigSchema.parse({ ...TEST_TRUNKING, trunks: [{ ...TEST_TRUNKING.trunks[0], acl: ['192.0.2.0/24'] }] });

interface LogLine {
  event?: string;
  level: number;
  msg: string;
  file?: string;
  apply?: string;
  revision?: number;
}

describe('LiveTrunking at start: the trunking file against the cluster\'s configuration', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  const opened: LiveTrunking[] = [];

  /** Opens as a starting worker would, with `seed` read from `/etc/switchboard/trunks.yaml`; its log lines and what it applied. */
  const start = async (seed: typeof FILE) => {
    const lines: LogLine[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
    const applied: string[][] = [];
    opened.push(await LiveTrunking.open(nc, seed, log, (config) => applied.push(config.trunks[0]?.acl ?? []), 1, '/etc/switchboard/trunks.yaml'));
    return { lines, applied, differs: lines.filter((l) => l.event === 'config-differs') };
  };

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
  });

  after(async () => {
    for (const live of opened) await live.close();
    await nc?.close();
    await nats?.stop();
  });

  it('the first worker seeds the bucket, a second one with the same file finds it equal: nothing to say', async () => {
    const first = await start(FILE);
    assert.ok(first.lines.some((l) => l.event === 'config-seeded'));
    assert.deepEqual(first.differs, []);
    const second = await start(FILE);
    assert.deepEqual(second.differs, []);
  });

  it('a file edited since: the bucket\'s configuration is in force, logged as a warning with the command that applies the file', async () => {
    const writer = opened[0] ?? assert.fail('no worker opened');
    const { revision } = await writer.set(EDITED);
    const restarted = await start(FILE);
    assert.deepEqual(restarted.applied, [['192.0.2.0/24']], 'the bucket\'s configuration, not the file\'s');
    assert.equal(restarted.differs.length, 1);
    const line = restarted.differs[0];
    assert.equal(line?.level, 40, 'a warning');
    assert.equal(line?.revision, revision);
    assert.equal(line?.file, '/etc/switchboard/trunks.yaml');
    assert.equal(line?.apply, 'switchboard trunks apply -f /etc/switchboard/trunks.yaml');
    assert.match(line?.msg ?? '', /differs from the cluster's configuration \(bucket sb-config, revision \d+\), which is in force; to apply the file: switchboard trunks apply -f \/etc\/switchboard\/trunks\.yaml/);
  });
});
