// What a worker keeps of a confirmed call so another worker can carry it on (docs/architecture.md
// "Worker takeover"): plain data, stored as msgpackr under `<slot>.<callId>` in the sb-dialogs
// bucket. Nothing here is live: no actor, no timer, no transaction (they are not resumable).
import type { CallEvent } from '@switchboard/cdr';
import type { LimitHold } from '@switchboard/limits';
import type { DialogSnapshot } from '../dialog/dialog-state.js';
import type { Refresher } from '../dialog/session-timer.js';
import type { LegName } from '../protocol/call-messages.js';
import type { Destination } from '../protocol/sip-link.js';
import type { TransferRecord } from '../protocol/call-messages.js';

/** The version of a confirmed call's snapshot: unchanged since issue 16, so a worker of that release still adopts it. */
export const SNAPSHOT_VERSION = 1;
/**
 * The version of an early record (a ringing call: no answer time, its legs' INVITEs): new, so a
 * worker that reads version 1 only refuses it with a log line instead of taking it for a call that
 * is up. This worker reads both; any other version is refused, never guessed.
 */
export const EARLY_SNAPSHOT_VERSION = 2;

/**
 * How far above its last CSeq a snapshot reserves a leg's numbers: the adopter's first request
 * takes `cseqReservation + 1`. RFC 3261 §12.2.2 lets the peer accept a gap, never a reuse, so the
 * leg asks for a new snapshot before its own numbers reach the reservation.
 */
export const CSEQ_RESERVATION = 32;

/** RFC 4028 state of a leg that answered with Session-Expires; `refreshedAt`: when its timer was last armed (Unix ms). */
export interface SessionTimerSnapshot {
  readonly seconds: number;
  readonly refresher: Refresher;
  readonly refreshedAt: number;
}

/**
 * An in-dialog transaction that was running when the snapshot was taken. `inbound`: the peer's
 * request (its retransmission is answered 500 + Retry-After by an adopter); `outbound`: ours
 * (its late 2xx is ACKed with the 2xx's CSeq).
 */
export interface TransactionSnapshot {
  readonly method: string;
  readonly cseq: number;
  readonly side: 'inbound' | 'outbound';
}

/** A ringing leg's INVITE (takeover/early-invite.ts): an adopter ends its transaction (final response or CANCEL). */
export interface EarlyInviteSnapshot {
  /** The INVITE's start line and headers, without its body. */
  readonly head: Uint8Array;
  /** UAC: a provisional arrived, so the adopter may CANCEL at once (§9.1). Always true for the caller's. */
  readonly provisionalSeen: boolean;
}

export interface LegSnapshot {
  readonly name: LegName;
  readonly role: 'uas' | 'uac';
  /** The leg's routing scope: its actor is `leg-<scope>`, and our tags and branches carry it. */
  readonly scope: string;
  readonly dialog: DialogSnapshot;
  /** The highest CSeq the old owner may have used in this dialog (its last, plus CSEQ_RESERVATION). */
  readonly cseqReservation: number;
  readonly peer: Destination;
  readonly session?: SessionTimerSnapshot;
  readonly transactions: readonly TransactionSnapshot[];
  /** Early records only: the leg's INVITE still unanswered. */
  readonly invite?: EarlyInviteSnapshot;
}

/** A party's last SDP, and the o= state it has been shown once a transfer re-pointed media (RFC 3264 §8). */
export interface PartySessionSnapshot {
  readonly leg: LegName;
  readonly body?: Uint8Array;
  readonly contentType?: string;
  /** OriginKeeper: the SDP last passed to it and what it was shown for it. */
  readonly originReceived?: Uint8Array;
  readonly originSent?: Uint8Array;
}

/** A transfer running when the snapshot was taken: enough for its final NOTIFY (a failure sipfrag) after adoption. */
export interface RunningTransferSnapshot {
  readonly id: string;
  readonly transferor: LegName;
  /** The REFER's CSeq number: the `id` of the implicit subscription's Event header (RFC 3515 §2.4.6). */
  readonly referCSeq: number;
}

/**
 * A call as a snapshot holds it: confirmed (v1, with `answeredAt`), or an early record (v2, no
 * `answeredAt`, its ringing legs with their INVITEs) that an adopter only ends, cleanly.
 */
export interface CallSnapshot {
  readonly v: typeof SNAPSHOT_VERSION | typeof EARLY_SNAPSHOT_VERSION;
  /** Our call id (16 hex digits). */
  readonly callId: string;
  readonly slot: number;
  /** The worker that wrote it: the record's `takenOver.from`. */
  readonly worker: string;
  /** The SIP Call-ID of the caller's leg, for log lines. */
  readonly sipCallId: string;
  readonly trunk?: string;
  readonly direction?: 'termination' | 'origination';
  readonly customerLeg?: LegName;
  readonly parties: { readonly customer?: string; readonly remote?: string; readonly remoteAnonymous: boolean };
  readonly pair: readonly [LegName, LegName | undefined];
  readonly startedAt: number;
  /** Absent in an early record (and only there). */
  readonly answeredAt?: number;
  readonly holds: readonly LimitHold[];
  readonly ingress: Destination;
  readonly legs: readonly LegSnapshot[];
  readonly sessions: readonly PartySessionSnapshot[];
  readonly transfers: readonly TransferRecord[];
  readonly transfer?: RunningTransferSnapshot;
  /** The call's record events so far (its CDR ledger), replayed by the adopter's CdrActor. */
  readonly records: readonly CallEvent[];
}

/**
 * `s` with a new block of CSeq numbers reserved on each leg, for its adopter (RFC 3261 §12.2.2):
 * the adopter starts above the old owner's reservation and writes this before it sends anything,
 * so a worker adopting the call after it (the adopter dies too) starts above every number it used.
 */
export function reservedAgain(s: CallSnapshot): CallSnapshot {
  return { ...s, legs: s.legs.map((l) => ({ ...l, cseqReservation: l.cseqReservation + CSEQ_RESERVATION })) };
}

/** The bucket key of a call's snapshot: under its slot, so an adopter lists a slot's calls by prefix. */
export const snapshotKey = (slot: number, callId: string): string => `${slot}.${callId}`;

/**
 * The slot a leg scope names. Slots come with issue 16's routing ids: the first 3 of a scope's
 * 11 hex digits; until then (8-digit scopes) the same 3 digits key a call's snapshots just as well.
 */
export const slotOfScope = (scope: string): number => Number.parseInt(scope.slice(0, 3), 16);
