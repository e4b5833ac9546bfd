import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { CDR_STREAM } from '@switchboard/wire';
import type { CallDetailRecord } from './call-detail-record.js';
import { CdrClient, CdrQueryError } from './cdr-client.js';
import { CdrPublisher, jetStreamPublish } from './cdr-publisher.js';
import { CdrQueryService } from './cdr-query-service.js';
import { CdrSpool } from './cdr-spool.js';
import { ensureCdrStream } from './cdr-stream.js';

const NOW = Date.now();

function record(callId: string, n: number, trunk: string | undefined, endedAt: number): CallDetailRecord {
  return {
    v: 1, id: `${callId}-${n}`, callId, worker: 'w1', ...(trunk === undefined ? {} : { trunk }), kind: 'pstn', billable: true,
    ...(n > 0 ? { parentId: `${callId}-${n - 1}` } : {}),
    from: {}, to: {}, carriersTried: [], legs: [], startedAt: endedAt - 1_000, endedAt, duration: 1, billableSeconds: 1,
    disposition: 'answered', status: 200, endedBy: 'caller',
  };
}

describe('CDR stream and query (real nats-server)', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let dir: string;
  let publisher: CdrPublisher;
  let service: CdrQueryService;
  let client: CdrClient;

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    dir = await mkdtemp(join(tmpdir(), 'cdr-stream-'));
    assert.equal(await ensureCdrStream(jsm, { maxAgeMs: 86_400_000, duplicateWindowMs: 3_600_000, replicas: 1 }), 'created');
    assert.equal(await ensureCdrStream(jsm, { maxAgeMs: 86_400_000, duplicateWindowMs: 3_600_000, replicas: 1 }), 'exists');
    publisher = new CdrPublisher({ spool: new CdrSpool(dir), publish: jetStreamPublish(js, 2_000) });
    await publisher.start();
    service = new CdrQueryService(nc, js);
    service.start();
    client = new CdrClient(nc, 3_000);
    publisher.emit([record('00000000000000a1', 0, 'acme', NOW - 7_200_000)]); // two hours ago
    publisher.emit([record('00000000000000a2', 0, 'acme', NOW - 60_000), record('00000000000000a2', 1, 'acme', NOW - 60_000), record('00000000000000a2', 2, 'acme', NOW - 60_000)]);
    publisher.emit([record('00000000000000b1', 0, 'beta', NOW - 30_000)]);
    publisher.emit([record('00000000000000c1', 0, undefined, NOW - 20_000)]);
    // the same record again (a retry after a lost confirmation): stored once
    publisher.emit([record('00000000000000b1', 0, 'beta', NOW - 30_000)]);
    for (let i = 0; i < 200 && (publisher.pending > 0 || publisher.published < 7); i++) await new Promise((r) => setTimeout(r, 10));
  });

  after(async () => {
    await service.stop();
    await publisher.close();
    await nc.close();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the stream is file-backed and stores a record published twice once', async () => {
    const info = await jsm.streams.info(CDR_STREAM);
    assert.equal(info.config.storage, 'file');
    assert.equal(info.state.messages, 6);
    assert.equal(publisher.duplicates, 1);
  });

  it('by time: records that ended since then, oldest first (the default window is an hour)', async () => {
    const { records } = await client.query({});
    assert.deepEqual(records.map((r) => r.id), ['00000000000000a2-0', '00000000000000a2-1', '00000000000000a2-2', '00000000000000b1-0', '00000000000000c1-0']);
    const all = await client.query({ since: NOW - 3 * 3_600_000 });
    assert.equal(all.records[0]?.id, '00000000000000a1-0');
    const window = await client.query({ since: NOW - 3 * 3_600_000, until: NOW - 45_000 });
    assert.deepEqual(window.records.map((r) => r.id), ['00000000000000a1-0', '00000000000000a2-0', '00000000000000a2-1', '00000000000000a2-2']);
  });

  it('by trunk', async () => {
    const { records } = await client.query({ trunk: 'beta' });
    assert.deepEqual(records.map((r) => r.id), ['00000000000000b1-0']);
  });

  it('by call or by record: the whole chain, whatever its age', async () => {
    assert.deepEqual((await client.query({ callId: '00000000000000a2' })).records.map((r) => r.id), ['00000000000000a2-0', '00000000000000a2-1', '00000000000000a2-2']);
    const chain = await client.chain('00000000000000a2-1');
    assert.deepEqual(chain?.map((r) => r.parentId), [undefined, '00000000000000a2-0', '00000000000000a2-1']);
    assert.equal((await client.chain('00000000000000a1-0'))?.length, 1);
    assert.equal(await client.chain('000000000000dead-0'), undefined);
  });

  it('keeps the latest `limit` and says it left some out', async () => {
    const { records, truncated } = await client.query({ limit: 2 });
    assert.equal(truncated, true);
    assert.deepEqual(records.map((r) => r.id), ['00000000000000b1-0', '00000000000000c1-0']);
  });

  it('a bad query is refused with the field named', async () => {
    await assert.rejects(client.query({ trunk: 'no spaces' } as never), (e: unknown) => e instanceof CdrQueryError && e.code === 'bad-request' && /^trunk:/.test(e.message));
    const reply = await nc.request('sb.cdr.query', '{not json', { timeout: 2_000 });
    assert.match(reply.string(), /"code":"bad-request".*not JSON/);
    const unknownField = await nc.request('sb.cdr.query', JSON.stringify({ trunks: 'x' }), { timeout: 2_000 });
    assert.match(unknownField.string(), /bad-request/);
  });
});

describe('CDR query answers fit the server\'s max_payload', () => {
  it('leaves the oldest records out (truncated) rather than failing to answer', async (t) => {
    const nats = await startNatsServer({ config: 'max_payload: 8192' });
    const nc = await connect({ servers: nats.url });
    const dir = await mkdtemp(join(tmpdir(), 'cdr-fit-'));
    t.after(async () => {
      await nc.close();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const js = jetstream(nc);
    await ensureCdrStream(await jetstreamManager(nc), { maxAgeMs: 86_400_000, duplicateWindowMs: 3_600_000, replicas: 1 });
    const publisher = new CdrPublisher({ spool: new CdrSpool(dir), publish: jetStreamPublish(js, 2_000) });
    await publisher.start();
    const ids = Array.from({ length: 40 }, (_, i) => (0x100 + i).toString(16).padStart(16, '0'));
    publisher.emit(ids.map((id, i) => record(id, 0, 'acme', NOW - 40_000 + i * 1_000)));
    for (let i = 0; i < 200 && publisher.published < 40; i++) await new Promise((r) => setTimeout(r, 10));
    await publisher.close();
    const service = new CdrQueryService(nc, js);
    service.start();
    t.after(() => service.stop());
    const { records, truncated } = await new CdrClient(nc, 3_000).query({ limit: 40 });
    assert.equal(truncated, true);
    assert.ok(records.length > 0 && records.length < 40, `${records.length} records`);
    assert.equal(records.at(-1)?.callId, ids.at(-1), 'the latest are kept');
  });
});

