import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CallDetailRecord } from './call-detail-record.js';

/** A batch of records on disk, not yet confirmed by the stream. */
export interface SpoolBatch {
  readonly file: string;
  records: CallDetailRecord[];
}

const SUFFIX = '.cdr.jsonl';

/**
 * Records kept on local disk until the stream confirms them: one file per batch (one JSON
 * record a line), written and fsynced before the first publish, rewritten with what is left
 * when only some were confirmed, removed when all were. A worker that restarts publishes
 * whatever its spool still holds. Records are few per second per worker, so a file per
 * batch (with one fsync) costs less than a journal would save.
 */
export class CdrSpool {
  private seq = 0;

  constructor(readonly dir: string) {}

  /** Creates the directory; the batches a previous run left, oldest first. */
  async open(): Promise<SpoolBatch[]> {
    await mkdir(this.dir, { recursive: true });
    // a crash between writing a batch and renaming it into place leaves its .tmp: a new batch is
    // adopted (its records were never published), a rewrite's is dropped (the older file holds more)
    for (const tmp of (await readdir(this.dir)).filter((n) => n.endsWith(`${SUFFIX}.tmp`))) {
      const file = join(this.dir, tmp.slice(0, -'.tmp'.length));
      if (existsSync(file)) await unlink(join(this.dir, tmp)).catch(() => undefined);
      else await rename(join(this.dir, tmp), file);
    }
    const names = (await readdir(this.dir)).filter((n) => n.endsWith(SUFFIX)).sort();
    const batches: SpoolBatch[] = [];
    for (const name of names) {
      const file = join(this.dir, name);
      const records = parseLines(await readFile(file, 'utf8'));
      if (records.length === 0) await unlink(file).catch(() => undefined);
      else batches.push({ file, records });
    }
    return batches;
  }

  /** Writes a batch durably (data fsynced, then renamed into place). */
  async write(records: CallDetailRecord[]): Promise<SpoolBatch> {
    const name = `${Date.now().toString().padStart(15, '0')}-${String(++this.seq).padStart(9, '0')}${SUFFIX}`;
    const file = join(this.dir, name);
    await writeDurably(file, records);
    return { file, records };
  }

  /** What is still unconfirmed of a batch: rewritten, or the file removed when nothing is. */
  async settle(batch: SpoolBatch, remaining: CallDetailRecord[]): Promise<void> {
    batch.records = remaining;
    if (remaining.length === 0) {
      await unlink(batch.file).catch(() => undefined);
      await syncDir(this.dir);
    } else await writeDurably(batch.file, remaining);
  }
}

/** A rename or unlink is durable once the directory is synced. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeDurably(file: string, records: CallDetailRecord[]): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  await syncDir(dirname(file));
}

/** A torn last line (a crash mid-write of a rewrite cannot leave one: rewrites are renamed into place) is skipped. */
function parseLines(text: string): CallDetailRecord[] {
  const out: CallDetailRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as CallDetailRecord;
      if (r !== null && typeof r === 'object' && typeof r.id === 'string') out.push(r);
    } catch {
      // unreadable: nothing to publish
    }
  }
  return out;
}
