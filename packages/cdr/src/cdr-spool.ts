// The CDR spool: records kept on the worker's disk, from before their first publish until the
// stream confirmed them, as an append-only journal.
//
// On disk (`cdr.spoolDir/<worker>`): segment files `journal-<12-digit sequence>.cdr.jsonl`,
// oldest first by name. Each is JSON lines, appended to and never rewritten:
//   {"cdrJournal":1}                       first line: the format's version
//   {"v":1,"id":"<callId>-0",...}          a record (a CallDetailRecord, as published)
//   {"confirmed":["<id>","<id>",...]}      the stream confirmed these records (of this or an older segment)
// A record is pending while no `confirmed` line in any segment names its id. Files from the
// spool before the journal (`<ms>-<seq>.cdr.jsonl` and a crash-left `.cdr.jsonl.tmp`: record
// lines only, sorted before every journal segment) are read the same way. Unreadable lines (a
// torn last line after a crash mid-append) are skipped; a segment is never appended to again
// after a failed write or by a later run, so a torn line can only be a last line.
//
// Costs per record group: one write and one fdatasync, with at most one sync in flight (what
// arrives meanwhile joins the next group: group commit). Confirmations are not synced: losing
// them in a crash of the machine only means the records go again after the restart, and the
// stream drops a repeated message id within its duplicate window. A segment is rotated at a size
// or an age, and deleted once it and every older segment hold no pending record, so a
// confirmation (always written to the newest segment) outlives the record it confirms.
import { close as closeFd, fdatasync, fsync, open as openFd, write as writeFd } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallDetailRecord } from './call-detail-record.js';

const SUFFIX = '.cdr.jsonl';
const SEGMENT_PREFIX = 'journal-';
const FORMAT_LINE = `${JSON.stringify({ cdrJournal: 1 })}\n`;

/** A file opened for appending. */
export interface AppendHandle {
  /** Bytes written, perhaps fewer than asked for. */
  write(data: Uint8Array): Promise<number>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** The file operations the spool makes: the node:fs one, or a test's instrumented stand-in. */
export interface SpoolFileSystem {
  mkdir(dir: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  readFile(file: string): Promise<string>;
  /** Creates the file when missing; every write goes to its end. */
  openAppend(file: string): Promise<AppendHandle>;
  unlink(file: string): Promise<void>;
  /** Makes a file's creation or removal in `dir` durable. */
  syncDir(dir: string): Promise<void>;
}

export interface CdrSpoolOptions {
  /** A segment takes no more appends once it holds this many bytes (default 4 MiB)… */
  maxSegmentBytes?: number;
  /** …or once it is this old (default 60 s). */
  maxSegmentAgeMs?: number;
  /** Confirmations wait this long (default 100 ms) for a group of records to be written with, then go alone. */
  confirmDelayMs?: number;
  fs?: SpoolFileSystem;
  now?: () => number;
}

interface Segment {
  readonly file: string;
  /** Durable records in it that the stream has not confirmed. */
  unconfirmed: number;
  /** While it is the segment appended to. */
  handle: AppendHandle | undefined;
  bytes: number;
  readonly openedAt: number;
}

interface Append {
  readonly records: readonly CallDetailRecord[];
  resolve(): void;
  reject(error: unknown): void;
}

export class CdrSpool {
  private readonly fs: SpoolFileSystem;
  private readonly now: () => number;
  private readonly maxSegmentBytes: number;
  private readonly maxSegmentAgeMs: number;
  private readonly confirmDelayMs: number;
  /** Oldest first. */
  private readonly segments: Segment[] = [];
  /** Each durable, unconfirmed record's segment. */
  private readonly segmentOf = new Map<string, Segment>();
  private active: Segment | undefined;
  private nextSequence = 1;
  /** Waiting for the next group (the one in flight, if any, has its own). */
  private appends: Append[] = [];
  private confirmations: string[] = [];
  private confirmTimer: NodeJS.Timeout | undefined;
  private confirmationsDue = false;
  private writing = false;
  private written: Promise<void> = Promise.resolve();
  /** Appends are refused before open(): a new segment could take the name of one it has not read yet. */
  private opened = false;
  private closed = false;

  constructor(readonly dir: string, options: CdrSpoolOptions = {}) {
    this.fs = options.fs ?? nodeFileSystem;
    this.now = options.now ?? Date.now;
    this.maxSegmentBytes = options.maxSegmentBytes ?? 4 * 1024 * 1024;
    this.maxSegmentAgeMs = options.maxSegmentAgeMs ?? 60_000;
    this.confirmDelayMs = options.confirmDelayMs ?? 100;
  }

  /** Creates the directory; the records a previous run left unconfirmed, oldest first. */
  async open(): Promise<CallDetailRecord[]> {
    await this.fs.mkdir(this.dir);
    const names = (await this.fs.readdir(this.dir)).filter((n) => n.endsWith(SUFFIX) || n.endsWith(`${SUFFIX}.tmp`)).sort();
    const confirmed = new Set<string>();
    const read: { segment: Segment; records: CallDetailRecord[] }[] = [];
    for (const name of names) {
      const { records, confirmations } = parseSegment(await this.fs.readFile(join(this.dir, name)));
      for (const id of confirmations) confirmed.add(id);
      read.push({ segment: { file: join(this.dir, name), unconfirmed: 0, handle: undefined, bytes: 0, openedAt: 0 }, records });
      const sequence = segmentSequence(name);
      if (sequence >= this.nextSequence) this.nextSequence = sequence + 1;
    }
    const pending: CallDetailRecord[] = [];
    for (const { segment, records } of read) {
      for (const record of records) {
        // an old spool's crash-left .tmp repeats records of its batch file: each id counts once
        if (confirmed.has(record.id) || this.segmentOf.has(record.id)) continue;
        this.segmentOf.set(record.id, segment);
        segment.unconfirmed++;
        pending.push(record);
      }
      this.segments.push(segment);
    }
    await this.deleteConfirmed();
    this.opened = true;
    return pending;
  }

  /** Resolves once the records are durable on disk (written and fdatasynced with the group they joined). */
  append(records: readonly CallDetailRecord[]): Promise<void> {
    if (!this.opened || this.closed) return Promise.reject(new Error(`the CDR spool is ${this.closed ? 'closed' : 'not open yet'}`));
    return new Promise((resolve, reject) => {
      this.appends.push({ records, resolve, reject });
      this.startWriting();
    });
  }

  /** The stream confirmed these records: noted in the journal without a sync, their segments deleted when all are. */
  confirm(ids: readonly string[]): void {
    if (this.closed) return;
    for (const id of ids) {
      const segment = this.segmentOf.get(id);
      if (segment === undefined) continue;
      this.segmentOf.delete(id);
      segment.unconfirmed--;
      this.confirmations.push(id);
    }
    if (this.confirmations.length > 0 && this.confirmTimer === undefined) {
      this.confirmTimer = setTimeout(() => {
        this.confirmTimer = undefined;
        this.confirmationsDue = true;
        this.startWriting();
      }, this.confirmDelayMs).unref();
    }
  }

  /** Records on disk that the stream has not confirmed. */
  get unconfirmed(): number {
    return this.segmentOf.size;
  }

  /** Writes what is waiting (confirmations too) and closes the segment; later appends are refused, confirmations ignored. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    if (this.confirmations.length > 0) {
      this.confirmationsDue = true;
      this.startWriting();
    }
    while (this.writing) await this.written;
    if (this.active !== undefined) await this.retire(this.active);
  }

  /** One writer: a group in flight, whatever arrives meanwhile waits for it and goes next. */
  private startWriting(): void {
    if (this.writing) return;
    this.writing = true;
    this.written = this.writeGroups();
  }

  private async writeGroups(): Promise<void> {
    try {
      for (;;) {
        const appends = this.appends.splice(0);
        const confirmationsDue = this.confirmationsDue && this.confirmations.length > 0;
        this.confirmationsDue = false;
        if (appends.length === 0 && !confirmationsDue) return;
        clearTimeout(this.confirmTimer);
        this.confirmTimer = undefined;
        await this.writeGroup(appends, this.confirmations.splice(0));
        await this.deleteConfirmed();
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeGroup(appends: readonly Append[], confirmations: readonly string[]): Promise<void> {
    let text = '';
    for (const append of appends) for (const record of append.records) text += `${JSON.stringify(record)}\n`;
    if (confirmations.length > 0) text += `${JSON.stringify({ confirmed: confirmations })}\n`;
    let segment: Segment | undefined;
    try {
      segment = await this.segmentToAppendTo();
      const handle = segment.handle;
      if (handle === undefined) throw new Error('the CDR spool segment is closed');
      const data = Buffer.from(segment.bytes === 0 ? FORMAT_LINE + text : text);
      await writeFully(handle, data);
      segment.bytes += data.length;
      if (appends.length > 0) await handle.datasync();
    } catch (error) {
      // what a failed write or sync left at the segment's end is unknown (a torn line, pages the
      // kernel dropped after reporting the error once): later groups go to a new segment. The
      // confirmations are lost, which costs only a republish after a restart.
      if (segment !== undefined) await this.retire(segment);
      for (const append of appends) append.reject(error);
      return;
    }
    for (const append of appends) {
      for (const record of append.records) {
        if (this.segmentOf.has(record.id)) continue;
        this.segmentOf.set(record.id, segment);
        segment.unconfirmed++;
      }
      append.resolve();
    }
  }

  private async segmentToAppendTo(): Promise<Segment> {
    const current = this.active;
    if (current !== undefined && current.bytes < this.maxSegmentBytes && this.now() - current.openedAt < this.maxSegmentAgeMs) return current;
    if (current !== undefined) await this.retire(current);
    const file = join(this.dir, `${SEGMENT_PREFIX}${String(this.nextSequence++).padStart(12, '0')}${SUFFIX}`);
    const segment: Segment = { file, unconfirmed: 0, handle: await this.fs.openAppend(file), bytes: 0, openedAt: this.now() };
    this.segments.push(segment);
    try {
      // fdatasync makes the data durable, not the file's name in the directory: once per segment
      await this.fs.syncDir(this.dir);
    } catch (error) {
      await this.retire(segment);
      throw error;
    }
    this.active = segment;
    return segment;
  }

  private async retire(segment: Segment): Promise<void> {
    if (this.active === segment) this.active = undefined;
    const handle = segment.handle;
    segment.handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  /** Deletes the oldest segments while nothing in them is pending (a newer one may confirm an older one's records). */
  private async deleteConfirmed(): Promise<void> {
    let deleted = 0;
    for (let oldest = this.segments[0]; oldest !== undefined && oldest.unconfirmed === 0 && oldest !== this.active; oldest = this.segments[0]) {
      this.segments.shift();
      // a segment that stays (a failed unlink) only repeats confirmed records after a restart: the stream drops them
      await this.fs.unlink(oldest.file).catch(() => undefined);
      deleted++;
    }
    if (deleted > 0) await this.fs.syncDir(this.dir).catch(() => undefined);
  }
}

async function writeFully(handle: AppendHandle, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length;) offset += await handle.write(data.subarray(offset));
}

function segmentSequence(name: string): number {
  if (!name.startsWith(SEGMENT_PREFIX)) return 0;
  const sequence = Number(name.slice(SEGMENT_PREFIX.length, -SUFFIX.length));
  return Number.isSafeInteger(sequence) ? sequence : 0;
}

/** Records and confirmed ids of one segment's text; unreadable lines skipped. */
export function parseSegment(text: string): { records: CallDetailRecord[]; confirmations: string[] } {
  const records: CallDetailRecord[] = [];
  const confirmations: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // a torn last line: its record was never published (its sync had not returned)
    }
    if (entry === null || typeof entry !== 'object') continue;
    const { id, confirmed } = entry as { id?: unknown; confirmed?: unknown };
    if (typeof id === 'string') records.push(entry as CallDetailRecord);
    else if (Array.isArray(confirmed)) for (const c of confirmed) if (typeof c === 'string') confirmations.push(c);
  }
  return { records, confirmations };
}

/**
 * node:fs, with callbacks for the calls made per group (write, fdatasync): a FileHandle's promise
 * API cost ~28 µs of process CPU per 300-byte append against ~24 µs (20,000 appends, 2026-12-06).
 */
export const nodeFileSystem: SpoolFileSystem = {
  mkdir: async (dir) => {
    await mkdir(dir, { recursive: true });
  },
  readdir: (dir) => readdir(dir),
  readFile: (file) => readFile(file, 'utf8'),
  openAppend: (file) => new Promise((resolve, reject) => {
    openFd(file, 'a', 0o644, (error, fd) => (error !== null ? reject(error) : resolve(appendHandle(fd))));
  }),
  unlink: (file) => unlink(file),
  syncDir: (dir) => new Promise((resolve, reject) => {
    openFd(dir, 'r', (error, fd) => {
      if (error !== null) return reject(error);
      fsync(fd, (syncError) => closeFd(fd, () => (syncError !== null ? reject(syncError) : resolve())));
    });
  }),
};

function appendHandle(fd: number): AppendHandle {
  return {
    write: (data) => new Promise((resolve, reject) => {
      writeFd(fd, data, 0, data.length, null, (error, written) => (error !== null ? reject(error) : resolve(written)));
    }),
    datasync: () => new Promise((resolve, reject) => fdatasync(fd, (error) => (error !== null ? reject(error) : resolve()))),
    close: () => new Promise((resolve, reject) => closeFd(fd, (error) => (error !== null ? reject(error) : resolve()))),
  };
}
