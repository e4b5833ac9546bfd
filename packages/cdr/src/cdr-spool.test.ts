import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CallDetailRecord } from './call-detail-record.js';
import { CdrPublisher, type PublishRecord } from './cdr-publisher.js';
import { CdrSpool, nodeFileSystem, parseSegment, type AppendHandle, type SpoolFileSystem } from './cdr-spool.js';

function record(callId: string, n = 0): CallDetailRecord {
  return {
    v: 1, id: `${callId}-${n}`, callId, worker: 'w1', trunk: 'acme', direction: 'termination', kind: 'pstn', billable: true,
    from: {}, to: {}, carriersTried: [], legs: [], startedAt: 1, endedAt: 2, duration: 0.001, billableSeconds: 0,
    disposition: 'failed', status: 503, endedBy: 'system',
  };
}

const ids = (records: readonly CallDetailRecord[]) => records.map((r) => r.id);

/** The real file system, counted: writes, fdatasyncs (and how many at once); a sync can be held or made to fail. */
class CountedFileSystem implements SpoolFileSystem {
  writes = 0;
  syncs = 0;
  syncsInFlight = 0;
  maxSyncsInFlight = 0;
  /** Each fdatasync waits for this before it runs. */
  syncGate: Promise<void> | undefined;
  /** The next this many fdatasyncs fail (after their write went through). */
  failSyncs = 0;

  mkdir = nodeFileSystem.mkdir;
  readdir = nodeFileSystem.readdir;
  readFile = nodeFileSystem.readFile;
  unlink = nodeFileSystem.unlink;
  syncDir = nodeFileSystem.syncDir;

  openAppend = async (file: string): Promise<AppendHandle> => {
    const handle = await nodeFileSystem.openAppend(file);
    return {
      write: (data) => {
        this.writes++;
        return handle.write(data);
      },
      datasync: async () => {
        this.syncs++;
        this.maxSyncsInFlight = Math.max(this.maxSyncsInFlight, ++this.syncsInFlight);
        try {
          await this.syncGate;
          if (this.failSyncs > 0) {
            this.failSyncs--;
            throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          }
          await handle.datasync();
        } finally {
          this.syncsInFlight--;
        }
      },
      close: () => handle.close(),
    };
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('CdrSpool (the journal)', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'cdr-journal-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function segments(): Promise<string[]> {
    return (await readdir(dir)).sort();
  }

  it('refuses appends before open() has read what an earlier run left', async () => {
    await writeFile(join(dir, 'journal-000000000001.cdr.jsonl'), `{"cdrJournal":1}\n${JSON.stringify(record('00000000'))}\n`);
    const spool = new CdrSpool(dir);
    await assert.rejects(spool.append([record('00000001')]), /not open/);
    assert.deepEqual(ids(await spool.open()), ['00000000-0']);
    await spool.append([record('00000001')]);
    assert.deepEqual(await segments(), ['journal-000000000001.cdr.jsonl', 'journal-000000000002.cdr.jsonl']);
  });

  it('a crash after the append, before any publish: the next run finds the records, in order', async () => {
    const crashed = new CdrSpool(dir);
    await crashed.open();
    await crashed.append([record('00000001'), record('00000001', 1)]);
    await crashed.append([record('00000002')]);
    // no close: the process died here
    assert.deepEqual(ids(await new CdrSpool(dir).open()), ['00000001-0', '00000001-1', '00000002-0']);
  });

  it('a record the stream confirmed is not published again by the next run', async () => {
    const spool = new CdrSpool(dir, { confirmDelayMs: 0 });
    await spool.open();
    await spool.append([record('00000003'), record('00000004'), record('00000005')]);
    spool.confirm(['00000003-0', '00000005-0']);
    assert.equal(spool.unconfirmed, 1);
    const [file] = await segments();
    await until(async () => parseSegment(await readFile(join(dir, file ?? ''), 'utf8')).confirmations.length === 2, 'the confirmed line written');
    // a crash now (no close): the line is in the file without a sync, which survives a process's death
    assert.deepEqual(ids(await new CdrSpool(dir).open()), ['00000004-0']);
  });

  it('confirmations lost in a crash: the records come back, for the stream to drop as duplicates', async () => {
    const spool = new CdrSpool(dir, { confirmDelayMs: 60_000 });
    await spool.open();
    await spool.append([record('00000006')]);
    spool.confirm(['00000006-0']);
    // died before the confirmation was written
    assert.deepEqual(ids(await new CdrSpool(dir).open()), ['00000006-0']);
  });

  it('a torn last line is skipped, whether a record or a confirmation', async () => {
    const full = (r: CallDetailRecord) => `${JSON.stringify(r)}\n`;
    await writeFile(join(dir, 'journal-000000000001.cdr.jsonl'),
      `{"cdrJournal":1}\n${full(record('00000007'))}${full(record('00000008'))}${JSON.stringify(record('00000009')).slice(0, 40)}`);
    await writeFile(join(dir, 'journal-000000000002.cdr.jsonl'),
      `{"cdrJournal":1}\n${JSON.stringify({ confirmed: ['00000007-0'] })}\n{"confirmed":["00000008-`);
    const spool = new CdrSpool(dir);
    assert.deepEqual(ids(await spool.open()), ['00000008-0']);
    // a new run never appends after a torn line: its records go to a new segment
    await spool.append([record('0000000a')]);
    assert.deepEqual(await segments(), ['journal-000000000001.cdr.jsonl', 'journal-000000000002.cdr.jsonl', 'journal-000000000003.cdr.jsonl']);
    assert.deepEqual(ids(await new CdrSpool(dir).open()), ['00000008-0', '0000000a-0']);
  });

  it('segments rotate at their size; one is deleted once it and every older one are confirmed', async () => {
    // 1 byte: every write goes to a segment of its own
    const spool = new CdrSpool(dir, { maxSegmentBytes: 1, confirmDelayMs: 0 });
    await spool.open();
    await spool.append([record('00000011')]);
    await spool.append([record('00000012')]);
    await spool.append([record('00000013')]);
    assert.equal((await segments()).length, 3);
    spool.confirm(['00000012-0']);
    // the middle segment is confirmed, but the oldest is not: the newer confirmation must outlive it
    await until(async () => (await segments()).length === 4, 'the confirmation written to a fourth segment');
    assert.deepEqual(await segments(), ['journal-000000000001.cdr.jsonl', 'journal-000000000002.cdr.jsonl', 'journal-000000000003.cdr.jsonl', 'journal-000000000004.cdr.jsonl']);
    spool.confirm(['00000011-0', '00000013-0']);
    await until(async () => (await segments()).length === 1, 'the confirmed segments deleted');
    assert.deepEqual(await segments(), ['journal-000000000005.cdr.jsonl']);
    await spool.close();
    assert.deepEqual(await new CdrSpool(dir).open(), []);
  });

  it('segments rotate at their age', async () => {
    let now = 1_000;
    const spool = new CdrSpool(dir, { maxSegmentAgeMs: 60_000, confirmDelayMs: 0, now: () => now });
    await spool.open();
    await spool.append([record('00000014')]);
    await spool.append([record('00000015')]);
    assert.equal((await segments()).length, 1);
    spool.confirm(['00000014-0', '00000015-0']);
    now += 60_000;
    await spool.append([record('00000016')]);
    // the old segment, all confirmed, is deleted once it no longer takes appends
    await until(async () => (await segments()).length === 1, 'the old segment deleted');
    assert.deepEqual(await segments(), ['journal-000000000002.cdr.jsonl']);
    await spool.close();
    assert.deepEqual(ids(await new CdrSpool(dir).open()), ['00000016-0']);
  });

  it('a failed sync refuses its group, and the next group goes to a new segment', async () => {
    const fs = new CountedFileSystem();
    const spool = new CdrSpool(dir, { fs });
    await spool.open();
    await spool.append([record('00000016')]);
    fs.failSyncs = 1;
    await assert.rejects(spool.append([record('00000017')]), /EIO/);
    assert.equal(spool.unconfirmed, 1, 'the refused group is not counted as spooled');
    await spool.append([record('00000017')]);
    assert.deepEqual(await segments(), ['journal-000000000001.cdr.jsonl', 'journal-000000000002.cdr.jsonl']);
    // the refused group's line did reach the first segment's page cache: read twice, kept once
    assert.deepEqual(ids(await new CdrSpool(dir).open()), ['00000016-0', '00000017-0']);
  });

  it('group commit: records arriving while a sync is in flight share the next one', async () => {
    const fs = new CountedFileSystem();
    let release!: () => void;
    fs.syncGate = new Promise((r) => (release = r));
    const published: string[] = [];
    const publish: PublishRecord = async (_subject, _data, id) => {
      published.push(id);
      return { duplicate: false };
    };
    const publisher = new CdrPublisher({ spool: new CdrSpool(dir, { fs }), publish });
    await publisher.start();
    const calls = 20;
    for (let i = 0; i < calls; i++) {
      publisher.emit([record(`000001${String(i).padStart(2, '0')}`)]); // each call's records in a turn of its own
      await nextTurn();
    }
    await until(() => fs.syncs === 1, 'the first sync');
    assert.deepEqual(published, [], 'nothing is published before its group is synced');
    release();
    await until(() => published.length === calls, 'every record published');
    assert.equal(fs.syncs, 2, 'the first call\'s group, then every call that came during its sync');
    assert.equal(fs.maxSyncsInFlight, 1);
    await publisher.close();
  });

  it('confirmations ride with the next group of records: no write of their own', async () => {
    const fs = new CountedFileSystem();
    const spool = new CdrSpool(dir, { fs, confirmDelayMs: 60_000 });
    await spool.open();
    await spool.append([record('00000020')]);
    spool.confirm(['00000020-0']);
    await spool.append([record('00000021')]);
    assert.equal(fs.writes, 2);
    assert.equal(fs.syncs, 2);
    const [file] = await segments();
    const lines = (await readFile(join(dir, file ?? ''), 'utf8')).trim().split('\n');
    assert.deepEqual(lines.slice(1).map((l) => Object.keys(JSON.parse(l) as object)[0]), ['v', 'v', 'confirmed']);
    await spool.close();
    assert.equal(fs.writes, 2, 'nothing left to write at close');
    assert.deepEqual(ids(await new CdrSpool(dir).open()), ['00000021-0']);
  });
});
