import { CALL_ID_PATTERN } from '@switchboard/wire';
import { z } from 'zod';

/**
 * The operator API: every request is JSON on a subject of `Subjects.adminWorker` (one
 * worker) or `Subjects.adminConfig` (any worker), served with the NATS services framework
 * (`nats micro ls` finds `switchboard-worker` and `switchboard-config`). Every request is
 * validated; an error answer is a services error (headers `Nats-Service-Error-Code` and
 * `Nats-Service-Error`) whose body is `{ error: { code, message } }`.
 */

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

/** Error codes (HTTP-like, as the services framework expects numbers). */
export const AdminErrors = {
  badRequest: 400,
  notFound: 404,
  conflict: 409,
  /** The request was valid but the call or worker could not do it now (e.g. a transfer refused). */
  refused: 422,
  internal: 500,
  unavailable: 503,
} as const;

export interface AdminError {
  code: number;
  message: string;
}

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

/** One call as `calls.list` shows it. */
export interface CallSummary {
  id: string;
  worker: string;
  state: string;
  trunk?: string;
  direction?: 'origination' | 'termination';
  from?: string;
  to?: string;
  startedAt: number;
  answeredAt?: number;
  legs: number;
  transfers: number;
}

/** `calls.show`: the call, its legs with their dialog states, its transfers. */
export interface CallDetail extends CallSummary {
  legList: { name: string; sipCallId: string; role: 'uac' | 'uas'; dialog: string; peer: string }[];
  transferList: { id: string; target: string; kind: 'pstn' | 'sip'; billable: boolean; outcome: string; status?: number }[];
}

/** `stats` of one worker. */
export interface WorkerStats {
  workerId: string;
  state: 'active' | 'draining';
  version: string;
  uptimeMs: number;
  calls: number;
  callsByState: Record<string, number>;
  callsByTrunk: Record<string, number>;
  /** Calls started per second over the last minute. */
  callsPerSecond: number;
  counters: Record<string, number>;
  heapUsed: number;
  [more: string]: unknown;
}

export interface ConfigSnapshot {
  revision: number;
  trunking: unknown;
}
