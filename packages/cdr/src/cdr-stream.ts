import { DeliverPolicy, DiscardPolicy, JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { CDR_STREAM, Subjects } from '@switchboard/wire';
import { type CallDetailRecord } from './call-detail-record.js';
import { CDR_QUERY_DEFAULT_LIMIT, type CdrQuery } from './cdr-query.js';

export interface CdrStreamSettings {
  /** How long records are kept. */
  maxAgeMs: number;
  /** Within this window a record published again (a retry) is stored once. */
  duplicateWindowMs: number;
  replicas: number;
}

/**
 * Creates the CDR stream (file storage) when it does not exist. An existing stream is left as
 * it is: its limits are the operator's (`nats stream edit SB_CDR`).
 */
export async function ensureCdrStream(jsm: JetStreamManager, s: CdrStreamSettings): Promise<'created' | 'exists'> {
  try {
    await jsm.streams.info(CDR_STREAM);
    return 'exists';
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
  }
  try {
    await jsm.streams.add({
      name: CDR_STREAM,
      subjects: [Subjects.cdrRecords],
      storage: StorageType.File,
      max_age: nanos(s.maxAgeMs),
      duplicate_window: nanos(Math.min(s.duplicateWindowMs, s.maxAgeMs)),
      num_replicas: s.replicas,
      discard: DiscardPolicy.Old,
    });
    return 'created';
  } catch (error) {
    // two workers starting together: the other one created it
    if (error instanceof JetStreamApiError && error.code === 10058 /* stream name already in use */) return 'exists';
    throw error;
  }
}

/**
 * Whether a failed publish says the stream is not there: nats.js reports a JetStream publish
 * that no stream took (no responders on the subject) as "jetstream is not enabled", and the
 * API answers StreamNotFound. JetStream still starting after a restart looks the same; the
 * `ensureCdrStream` that follows then fails too and is tried again with the publish.
 */
export function isStreamMissing(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return error.code === JetStreamApiCodes.StreamNotFound;
  return error instanceof Error && error.name === 'JetStreamNotEnabled';
}

/** Without `since` (and without a call), a query looks this far back. */
export const DEFAULT_QUERY_WINDOW_MS = 3_600_000;
/**
 * A record reaches the stream after its call ended (at once, or after its worker's spool
 * waited out a NATS outage): a query with `until` reads this much past it.
 */
export const LATE_RECORD_GRACE_MS = 15 * 60_000;
/** At most this many stored records are read for one query. */
export const MAX_SCANNED = 200_000;

/**
 * Answers a query from the stream with an ordered consumer: filtered by subject for a trunk
 * or a call, starting at `since` for a time range (records are stored in the order they were
 * published, which is at or after their end). Keeps the latest `limit` matches.
 */
export async function readRecords(js: JetStreamClient, query: CdrQuery, now = Date.now()): Promise<{ records: CallDetailRecord[]; truncated: boolean }> {
  const callId = query.callId ?? query.recordId?.split('-')[0];
  const chain = callId !== undefined;
  const since = query.since ?? (chain ? undefined : now - DEFAULT_QUERY_WINDOW_MS);
  const limit = query.limit ?? CDR_QUERY_DEFAULT_LIMIT;
  const filter = Subjects.cdrRecordsOf({ ...(query.trunk === undefined ? {} : { trunk: query.trunk }), ...(callId === undefined ? {} : { callId }) });
  const consumer = await js.consumers.get(CDR_STREAM, {
    filter_subjects: filter,
    ...(since === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(since).toISOString() }),
  });
  const found: CallDetailRecord[] = [];
  const seen = new Set<string>();
  let truncated = false;
  let scanned = 0;
  const stopAfter = query.until === undefined ? Infinity : query.until + LATE_RECORD_GRACE_MS;
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 500, expires: 1_000 });
      let got = 0;
      let last = false;
      for await (const m of batch) {
        got++;
        scanned++;
        if (m.info.timestampNanos / 1e6 > stopAfter) {
          last = true;
          break;
        }
        const record = decode(m.data);
        if (record !== undefined && !seen.has(record.id) && matches(record, query, since)) {
          seen.add(record.id);
          found.push(record);
          if (found.length > limit) {
            found.shift();
            truncated = true;
          }
        }
        if (m.info.pending === 0 || scanned >= MAX_SCANNED) {
          truncated ||= scanned >= MAX_SCANNED && m.info.pending > 0;
          last = true;
          break;
        }
      }
      if (last || got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return { records: found, truncated };
}

function matches(r: CallDetailRecord, q: CdrQuery, since: number | undefined): boolean {
  // a chain is wanted whole, whatever its times
  if (q.callId !== undefined || q.recordId !== undefined) return q.trunk === undefined || r.trunk === q.trunk;
  if (since !== undefined && r.endedAt < since) return false;
  if (q.until !== undefined && r.endedAt > q.until) return false;
  return true;
}

function decode(data: Uint8Array): CallDetailRecord | undefined {
  try {
    const r = JSON.parse(Buffer.from(data).toString('utf8')) as CallDetailRecord;
    return r.v === 1 && typeof r.id === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}
