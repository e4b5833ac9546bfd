/**
 * The operator API: every request is JSON on a subject of `Subjects.adminWorker` (one
 * worker) or `Subjects.adminConfig` (any worker), served with the NATS services framework
 * (`nats micro ls` finds `switchboard-worker` and `switchboard-config`). Every request is
 * validated; an error answer is a services error (headers `Nats-Service-Error-Code` and
 * `Nats-Service-Error`) whose body is `{ error: { code, message } }`.
 * Here: the answers and the error codes. The requests and their validation (zod) are in
 * admin-requests.ts, which a client that only asks need not load.
 */

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
