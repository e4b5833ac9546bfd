import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CallDetailRecord } from './call-detail-record.js';
import { CdrPublisher, type PublishRecord } from './cdr-publisher.js';
import { CdrSpool, parseSegment } from './cdr-spool.js';

function record(callId: string, n = 0): CallDetailRecord {
  return {
    v: 1, id: `${callId}-${n}`, callId, worker: 'w1', trunk: 'acme', direction: 'termination', kind: 'pstn', billable: true,
    from: {}, to: {}, carriersTried: [], legs: [], startedAt: 1, endedAt: 2, duration: 0.001, billableSeconds: 0,
    disposition: 'failed', status: 503, endedBy: 'system',
  };
}

/** A stream that stores each message id once, and fails while `down` is true. */
class FakeStream {
  down = false;
  readonly stored = new Map<string, { subject: string; record: CallDetailRecord }>();
  attempts = 0;
  /** Resolves each publish only when released (to look at the spool mid-publish). */
  gate: Promise<void> | undefined;
  publish: PublishRecord = async (subject, data, msgID) => {
    this.attempts++;
    await this.gate;
    if (this.down) throw new Error('503 no responders');
    const duplicate = this.stored.has(msgID);
    if (!duplicate) this.stored.set(msgID, { subject, record: JSON.parse(Buffer.from(data).toString()) as CallDetailRecord });
    return { duplicate };
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('CdrPublisher', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'cdr-spool-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('a record is on disk before it is published, and marked confirmed there once the stream confirmed it', async () => {
    const stream = new FakeStream();
    let release!: () => void;
    stream.gate = new Promise((r) => (release = r));
    const publisher = new CdrPublisher({ spool: new CdrSpool(dir, { confirmDelayMs: 0 }), publish: stream.publish });
    await publisher.start();
    publisher.emit([record('0000000a'), record('0000000a', 1)]);
    await until(() => stream.attempts === 2, 'both publishes');
    const files = await readdir(dir);
    assert.equal(files.length, 1);
    const onDisk = parseSegment(await readFile(join(dir, files[0] ?? ''), 'utf8'));
    assert.deepEqual(onDisk.records.map((r) => r.id), ['0000000a-0', '0000000a-1']);
    assert.deepEqual(onDisk.confirmations, []);
    release();
    await until(async () => parseSegment(await readFile(join(dir, files[0] ?? ''), 'utf8')).confirmations.length === 2, 'the confirmations in the journal');
    assert.equal(publisher.published, 2);
    assert.equal(publisher.pending, 0);
    assert.equal(stream.stored.get('0000000a-1')?.subject, 'sb.cdr.rec.acme.0000000a');
    await publisher.close();
    assert.deepEqual(await new CdrSpool(dir).open(), [], 'nothing for a next run to publish');
  });

  it('retries with back-off while the stream is down, then stores every record once', async () => {
    const stream = new FakeStream();
    stream.down = true;
    const errors: number[] = [];
    const publisher = new CdrPublisher({ spool: new CdrSpool(dir), publish: stream.publish, backoffMs: 5, maxBackoffMs: 20, onError: (_e, pending) => errors.push(pending) });
    await publisher.start();
    for (let i = 0; i < 5; i++) publisher.emit([record(`0000001${i}`)]);
    await until(() => stream.attempts >= 15, 'several rounds of retries');
    assert.equal(publisher.pending, 5);
    assert.ok(errors.length >= 2);
    assert.equal((await readdir(dir)).length >= 1, true, 'kept on disk meanwhile');
    stream.down = false;
    await until(() => publisher.pending === 0, 'everything confirmed');
    assert.equal(stream.stored.size, 5);
    await publisher.close();
    assert.deepEqual(await new CdrSpool(dir).open(), []);
  });

  it('only what failed stays pending: a next run finds just that record', async () => {
    const stream = new FakeStream();
    const failing = new Set(['00000020-1']);
    const publish: PublishRecord = async (subject, data, id) => {
      if (failing.has(id)) throw new Error('timeout');
      return stream.publish(subject, data, id);
    };
    const publisher = new CdrPublisher({ spool: new CdrSpool(dir), publish, backoffMs: 10_000 });
    await publisher.start();
    publisher.emit([record('00000020'), record('00000020', 1), record('00000020', 2)]);
    await until(() => stream.stored.size === 2 && publisher.pending === 1, 'the two that succeed');
    await publisher.close();
    assert.deepEqual((await new CdrSpool(dir).open()).map((r) => r.id), ['00000020-1']);
  });

  it('a new run publishes what the last one left in its spool; a record that got through before is answered as a duplicate', async () => {
    const stream = new FakeStream();
    stream.down = true;
    const first = new CdrPublisher({ spool: new CdrSpool(dir), publish: stream.publish, backoffMs: 10_000 });
    await first.start();
    first.emit([record('00000030'), record('00000031')]);
    await until(() => stream.attempts === 2, 'the failed publishes');
    await first.close(100);
    const firstRun = await readdir(dir);
    assert.equal(firstRun.length, 1);
    // the stream had in fact stored one of them before the connection dropped
    stream.stored.set('00000030-0', { subject: 'sb.cdr.rec.acme.00000030', record: record('00000030') });
    stream.down = false;
    const second = new CdrPublisher({ spool: new CdrSpool(dir), publish: stream.publish });
    await second.start();
    await until(() => second.pending === 0 && second.published === 2, 'the leftovers published');
    assert.equal(second.duplicates, 1);
    assert.equal(stream.stored.size, 2);
    await second.close();
    assert.equal(existsSync(dir), true);
    // the first run's segment is deleted once both are confirmed; the second's holds the confirmations
    const left = await readdir(dir);
    assert.equal(left.length, 1);
    assert.ok(!firstRun.includes(left[0] ?? ''));
    assert.deepEqual(parseSegment(await readFile(join(dir, left[0] ?? ''), 'utf8')).confirmations.sort(), ['00000030-0', '00000031-0']);
  });

  it('counts records as pending while the spool makes them durable, and keeps them when the disk refuses', async () => {
    const stream = new FakeStream();
    let failWrites = 1;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class SlowSpool extends CdrSpool {
      override async append(records: readonly CallDetailRecord[]) {
        await gate;
        if (failWrites-- > 0) throw new Error('ENOSPC');
        return super.append(records);
      }
    }
    const errors: unknown[] = [];
    const publisher = new CdrPublisher({ spool: new SlowSpool(dir), publish: stream.publish, backoffMs: 5, onError: (e) => errors.push(e) });
    await publisher.start();
    publisher.emit([record('00000040'), record('00000041')]);
    await new Promise((r) => setImmediate(r));
    assert.equal(publisher.pending, 2, 'being spooled is pending');
    release();
    await until(() => stream.stored.size === 2, 'both stored after the disk came back');
    assert.equal(publisher.pending, 0);
    assert.ok(errors.length >= 1, 'the failed write was reported');
    await publisher.close();
  });

  it('the spool before the journal: its batch files are published, a crash-left .tmp adopted, each record once', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, '000000000000001-000000001.cdr.jsonl.tmp'), JSON.stringify(record('00000050')) + '\n');
    await writeFile(join(dir, '000000000000002-000000002.cdr.jsonl'), JSON.stringify(record('00000051')) + '\n' + JSON.stringify(record('00000052')) + '\n');
    await writeFile(join(dir, '000000000000002-000000002.cdr.jsonl.tmp'), JSON.stringify(record('00000052')) + '\n');
    const stream = new FakeStream();
    const publisher = new CdrPublisher({ spool: new CdrSpool(dir), publish: stream.publish });
    await publisher.start();
    await until(() => publisher.pending === 0 && stream.stored.size === 3, 'the three records');
    assert.deepEqual([...stream.stored.keys()].sort(), ['00000050-0', '00000051-0', '00000052-0']);
    assert.equal(publisher.published, 3, 'the .tmp\'s copy of a record in its batch file is not published again');
    await publisher.close();
    assert.deepEqual((await readdir(dir)).filter((n) => !n.startsWith('journal-')), [], 'the old files are deleted once confirmed');
    assert.deepEqual(await new CdrSpool(dir).open(), []);
  });
});
