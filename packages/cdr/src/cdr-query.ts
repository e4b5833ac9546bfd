import { CALL_ID_PATTERN } from '@switchboard/wire';
import { z } from 'zod';
import type { CallDetailRecord } from './call-detail-record.js';

/**
 * The CDR query, a JSON request on `Subjects.cdrQuery`. Every field narrows the answer; with
 * none it is the latest `limit` records. `recordId` and `callId` answer with the call's whole
 * chain (every record of the call). Times are Unix ms and apply to the records' `endedAt`.
 */
export const CdrQuerySchema = z.object({
  since: z.number().int().nonnegative().optional(),
  until: z.number().int().nonnegative().optional(),
  trunk: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'expected a trunk id').optional(),
  callId: z.string().regex(CALL_ID_PATTERN, 'expected 16 hex digits').optional(),
  recordId: z.string().regex(/^[0-9a-f]{16}-\d{1,3}$/, 'expected <call id>-<n>').optional(),
  limit: z.number().int().min(1).max(1000).optional(),
}).strict();

export type CdrQuery = z.infer<typeof CdrQuerySchema>;

/** Records per answer at most: 1,000 records of ~1 KB stay under NATS's default 1 MB payload. */
export const CDR_QUERY_MAX_LIMIT = 1000;
export const CDR_QUERY_DEFAULT_LIMIT = 200;

export type CdrQueryErrorCode = 'bad-request' | 'unavailable' | 'internal';

export type CdrQueryReply =
  /** Records in the order they ended, oldest first; `truncated`: older ones matched too but were left out. */
  | { ok: true; records: CallDetailRecord[]; truncated: boolean }
  | { ok: false; error: { code: CdrQueryErrorCode; message: string } };

/** Reads a query's bytes; a bad one is described by field path. */
export function parseCdrQuery(data: Uint8Array): { ok: true; query: CdrQuery } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = data.length === 0 ? {} : JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return { ok: false, message: 'request is not JSON' };
  }
  const parsed = CdrQuerySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    return { ok: false, message: `${path === '' ? 'request' : path}: ${issue?.message ?? 'invalid'}` };
  }
  const query = parsed.data;
  if (query.since !== undefined && query.until !== undefined && query.until < query.since) return { ok: false, message: 'until: before since' };
  return { ok: true, query };
}

/** `90s`, `15m`, `1h`, `7d` → ms; undefined when it is none of these. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
