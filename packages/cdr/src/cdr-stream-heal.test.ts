// The CDR stream lost under a running publisher (deleted, or nats-server back on an empty
// store): the publisher makes it again and the records kept in the spool meanwhile get there.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { CDR_STREAM } from '@switchboard/wire';
import type { CallDetailRecord } from './call-detail-record.js';
import { CdrPublisher, jetStreamPublish } from './cdr-publisher.js';
import { CdrSpool } from './cdr-spool.js';
import { ensureCdrStream, isStreamMissing, type CdrStreamSettings } from './cdr-stream.js';

const SETTINGS: CdrStreamSettings = { maxAgeMs: 86_400_000, duplicateWindowMs: 3_600_000, replicas: 1 };

function record(callId: string): CallDetailRecord {
  return {
    v: 1, id: `${callId}-0`, callId, worker: 'w1', trunk: 'acme', direction: 'termination', kind: 'pstn', billable: true,
    from: {}, to: {}, carriersTried: [], legs: [], startedAt: 1, endedAt: 2, duration: 0.001, billableSeconds: 0,
    disposition: 'failed', status: 503, endedBy: 'system',
  };
}

async function until(check: () => Promise<boolean>, what: string, withinMs = 5_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`not within ${withinMs} ms: ${what}`);
}

describe('CdrPublisher with its stream gone', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let dir: string;

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
    dir = await mkdtemp(join(tmpdir(), 'cdr-heal-'));
  });

  after(async () => {
    await nc.close();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const storedInStream = async (): Promise<number> => {
    try {
      return (await jsm.streams.info(CDR_STREAM)).state.messages;
    } catch {
      return -1;
    }
  };

  it('a publish to a missing stream makes it again (file storage), and the spooled record is stored', async () => {
    assert.equal(await ensureCdrStream(jsm, SETTINGS), 'created');
    const ensured: string[] = [];
    const publisher = new CdrPublisher({
      spool: new CdrSpool(dir), publish: jetStreamPublish(jetstream(nc), 1_000), backoffMs: 50, maxBackoffMs: 200,
      ensureStream: async () => ensured.push(await ensureCdrStream(jsm, SETTINGS)),
    });
    await publisher.start();
    publisher.emit([record('00000000000000d1')]);
    await until(async () => publisher.published === 1, 'the first record stored');

    await jsm.streams.delete(CDR_STREAM);
    publisher.emit([record('00000000000000d2')]);
    await until(async () => publisher.pending === 0 && (await storedInStream()) === 1, 'the record stored in a new stream');
    assert.deepEqual(ensured, ['created']);
    assert.equal(publisher.published, 2);
    assert.equal((await jsm.streams.info(CDR_STREAM)).config.storage, 'file');
    await publisher.close();
  });

  it('tells a missing stream from other failures', async () => {
    const noStream = await jetstream(nc).publish('sb.nothing.listens', new Uint8Array(0)).then(() => undefined, (error: unknown) => error);
    assert.equal(isStreamMissing(noStream), true);
    assert.equal(isStreamMissing(new Error('TIMEOUT')), false);
  });
});
