// The admin API's requests, as the workers validate them (zod): apart from the answers and errors
// (admin-protocol.ts), so a client that only asks (the CLI, `@switchboard/admin/client`) does not load zod.
import { CALL_ID_PATTERN } from '@switchboard/wire';
import { z } from 'zod';
import { AdminErrors, type AdminError } from './admin-protocol.js';

const CallId = z.string().regex(CALL_ID_PATTERN, 'expected a call id (16 hex digits)');
const TrunkId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'expected a trunk id');

export const AdminRequests = {
  /** At most `limit` calls per worker (default 1,000: an answer must fit NATS's max_payload); `truncated` says when more matched. */
  'calls.list': z.object({ trunk: TrunkId.optional(), state: z.string().max(20).optional(), limit: z.number().int().min(1).max(2_000).optional() }).strict(),
  'calls.show': z.object({ id: CallId }).strict(),
  'calls.hangup': z.object({ id: CallId }).strict(),
  /** Transfers the call's remote party to `target` as if the customer had sent REFER (no NOTIFYs). */
  'calls.transfer': z.object({ id: CallId, target: z.string().min(1).max(512) }).strict(),
  /** `handover`: the worker's calls go to the others and it can stop in seconds; `slow`: they end where they are; absent: the worker's worker.drain.mode. */
  drain: z.object({ mode: z.enum(['handover', 'slow']).optional() }).strict(),
  stats: z.object({}).strict(),
  'config.get': z.object({}).strict(),
  /** `revision`: the revision this change was made from; a newer one in the store refuses it (409). */
  'config.set': z.object({ trunking: z.unknown(), revision: z.number().int().nonnegative().optional() }).strict(),
} as const;

export type AdminEndpoint = keyof typeof AdminRequests;
export type AdminRequest<E extends AdminEndpoint> = z.infer<(typeof AdminRequests)[E]>;

/** Reads a request's bytes against its endpoint's schema: the value, or a 400 naming the field. */
export function parseAdminRequest<E extends AdminEndpoint>(endpoint: E, data: Uint8Array): { ok: true; request: AdminRequest<E> } | { ok: false; error: AdminError } {
  let json: unknown;
  try {
    json = data.length === 0 ? {} : JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return { ok: false, error: { code: AdminErrors.badRequest, message: 'request is not JSON' } };
  }
  const parsed = AdminRequests[endpoint].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    return { ok: false, error: { code: AdminErrors.badRequest, message: `${path === '' ? 'request' : path}: ${issue?.message ?? 'invalid'}` } };
  }
  return { ok: true, request: parsed.data as AdminRequest<E> };
}
