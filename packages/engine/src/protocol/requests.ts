import type { FailureCause, RequestToken } from '@switchboard/wire';

/**
 * `a`: the leg that brought the call in (UAS); `b1`, `b2`…: the attempts the engine placed
 * (UAC), one per target tried; `c1.1`, `c1.2`…: the attempts of the call's first transfer;
 * `remote`: the far party of a dialog an attended transfer joined, held by a call elsewhere.
 */
export type LegName = 'a' | 'remote' | `b${number}` | `c${number}.${number}`;

/** The prefix of an attempt's leg name: `b` for a call's attempts, `c<n>.` for its n-th transfer's. */
export type AttemptPrefix = 'b' | `c${number}.`;

/** Why a placed leg failed (an answer of the far end, or something that stood for one); who asked a leg for a request: as on the wire. */
export type { FailureCause, RequestToken };

/** A leg's answer to a request it was asked to send: to the call, or to the `replyTo` of the request. */
export interface RequestAnswered {
  readonly type: 'request-answered';
  readonly leg: LegName;
  readonly token: RequestToken;
  readonly status: number;
  readonly reason: string;
  readonly body?: Uint8Array;
  readonly contentType?: string | undefined;
}

/** The next target of an attempt made ready (its carrier's rate, its address), or skipped with why. */
export interface Prepared {
  type: 'prepared';
  attempt: number;
  address?: string;
  status?: number;
  reason?: string;
}
