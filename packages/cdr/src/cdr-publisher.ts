import type { JetStreamClient } from '@nats-io/jetstream';
import { Subjects } from '@switchboard/wire';
import type { CallDetailRecord } from './call-detail-record.js';
import type { CdrSpool } from './cdr-spool.js';
import { isStreamMissing } from './cdr-stream.js';

/** What the publisher needs of JetStream (a fake in unit tests). */
export type PublishRecord = (subject: string, data: Uint8Array, msgID: string) => Promise<{ duplicate: boolean }>;

export function jetStreamPublish(js: JetStreamClient, timeoutMs: number): PublishRecord {
  return async (subject, data, msgID) => {
    const ack = await js.publish(subject, data, { msgID, timeout: timeoutMs });
    return { duplicate: ack.duplicate };
  };
}

/** Records published together: one spool append's, or a slice of what an earlier run left. */
interface PublishBatch {
  /** Not yet confirmed by the stream. */
  records: CallDetailRecord[];
}

/** What an earlier run left is published in batches of this many, one batch at a time. */
const LEFTOVER_BATCH_SIZE = 100;

export interface CdrPublisherOptions {
  spool: CdrSpool;
  publish: PublishRecord;
  /** First retry after this (default 250 ms), doubling per failed round up to `maxBackoffMs` (default 10 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  onError?: (error: unknown, pending: number) => void;
  /**
   * Makes the stream again when a publish found it missing (nats-server back on an empty store,
   * an operator's delete): called before the next retry, which waits for it.
   */
  ensureStream?: () => Promise<unknown>;
}

/**
 * Gets records into the CDR stream at least once, and — because each is published with its
 * id as the JetStream message id — stored once while retries stay within the stream's
 * duplicate window. A record is on disk (the spool's journal) before its first publish and is
 * marked confirmed there once the stream confirmed it; publishes that fail are retried with
 * back-off for as long as it takes, across restarts of NATS or of the worker.
 */
export class CdrPublisher {
  private readonly queued: CallDetailRecord[] = [];
  private readonly unsettled = new Set<PublishBatch>();
  /** Batches being published: a retry round skips them (one publish of a batch at a time). */
  private readonly publishing = new Set<PublishBatch>();
  private flushScheduled = false;
  /** Records taken from the queue that the spool is making durable. */
  private spooling = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private inFlight = new Set<Promise<void>>();
  private closed = false;
  /** A publish found no stream: ensure it before publishing again. */
  private streamMissing = false;
  /** Confirmed by the stream / answered as a duplicate already stored (a retry of one that got through). */
  published = 0;
  duplicates = 0;

  constructor(private readonly options: CdrPublisherOptions) {}

  /** Loads what an earlier run left in the spool and publishes it. */
  async start(): Promise<void> {
    const left = await this.options.spool.open();
    for (let i = 0; i < left.length; i += LEFTOVER_BATCH_SIZE) this.unsettled.add({ records: left.slice(i, i + LEFTOVER_BATCH_SIZE) });
    if (this.unsettled.size > 0) this.track(this.retry());
  }

  /** Records of a call that ended: spooled and published in the next batch. */
  emit(records: readonly CallDetailRecord[]): void {
    if (records.length === 0) return;
    this.queued.push(...records);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.track(this.flush());
    });
  }

  /** The connection is back: retry the spool now rather than when the back-off says. */
  retryNow(): void {
    if (this.closed || this.unsettled.size === 0) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failures = 0;
    this.track(this.retry());
  }

  /** Records not yet confirmed by the stream (queued or spooled). */
  get pending(): number {
    let n = this.queued.length + this.spooling;
    for (const b of this.unsettled) n += b.records.length;
    return n;
  }

  /**
   * Waits (at most `timeoutMs`) for publishes in flight, then closes the spool (its last
   * confirmations written); whatever is unconfirmed stays in the spool.
   */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.queued.length > 0) this.track(this.flush());
    this.closed = true;
    clearTimeout(this.retryTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]).then(() => this.options.spool.close()),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((error) => this.options.onError?.(error, this.pending)).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async flush(): Promise<void> {
    const records = this.queued.splice(0);
    if (records.length === 0) return;
    this.spooling += records.length;
    try {
      await this.options.spool.append(records);
    } catch (error) {
      // the disk refused: keep them queued (in memory) and try again after the back-off
      this.queued.unshift(...records);
      this.scheduleRetry();
      throw error;
    } finally {
      this.spooling -= records.length;
    }
    const batch: PublishBatch = { records };
    this.unsettled.add(batch);
    if (this.retryTimer === undefined) await this.publishBatch(batch);
  }

  /** Publishes every record of a batch; what failed stays spooled and is retried later. */
  private async publishBatch(batch: PublishBatch): Promise<boolean> {
    if (this.publishing.has(batch)) return true;
    this.publishing.add(batch);
    try {
      return await this.publishOnce(batch);
    } finally {
      this.publishing.delete(batch);
    }
  }

  private async publishOnce(batch: PublishBatch): Promise<boolean> {
    const results = await Promise.allSettled(batch.records.map((r) =>
      this.options.publish(Subjects.cdrRecord(r.trunk, r.callId), Buffer.from(JSON.stringify(r)), r.id)));
    const remaining: CallDetailRecord[] = [];
    const confirmed: string[] = [];
    let firstError: unknown;
    results.forEach((result, i) => {
      const record = batch.records[i];
      if (record === undefined) return;
      if (result.status === 'fulfilled') {
        this.published++;
        if (result.value.duplicate) this.duplicates++;
        confirmed.push(record.id);
      } else {
        remaining.push(record);
        firstError ??= result.reason;
        this.streamMissing ||= isStreamMissing(result.reason);
      }
    });
    this.options.spool.confirm(confirmed);
    batch.records = remaining;
    if (remaining.length === 0) {
      this.unsettled.delete(batch);
      return true;
    }
    this.options.onError?.(firstError, this.pending);
    this.scheduleRetry();
    return false;
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const base = this.options.backoffMs ?? 250;
    const delay = Math.min(this.options.maxBackoffMs ?? 10_000, base * 2 ** Math.min(this.failures++, 16));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.track(this.retry());
    }, delay);
  }

  /** One round: what could not be spooled, then the spooled batches, oldest first; stops at the first that still fails. */
  private async retry(): Promise<void> {
    const { ensureStream } = this.options;
    if (this.streamMissing && ensureStream !== undefined) {
      try {
        await ensureStream();
        this.streamMissing = false;
      } catch (error) {
        // NATS or JetStream not back yet: the records wait in the spool for the next round
        this.options.onError?.(error, this.pending);
        this.scheduleRetry();
        return;
      }
    }
    if (this.queued.length > 0) await this.flush();
    for (const batch of [...this.unsettled]) {
      if (this.closed) return;
      if (!(await this.publishBatch(batch))) return;
    }
    this.failures = 0;
  }
}
