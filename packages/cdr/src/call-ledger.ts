import type { CallDetailRecord, EndedBy, LegRecord, PartyNumber } from './call-detail-record.js';
import { dispositionOf } from './disposition.js';

/** A leg's name inside its call: `a` (the caller's), `b1`… (attempts), `c1.1`… (transfer n's attempts), `remote`. */
type LegName = string;

/**
 * What a call's actors report to the CDR actor, in the order they happen. `at` is Unix ms.
 * Transfer n (1-based, in the order the REFERs were accepted) owns the legs named `c<n>.…`.
 */
export type CallEvent =
  | { type: 'started'; at: number; sipCallId: string }
  /** The trunk policy placed the call. */
  | { type: 'planned'; trunk: string; direction: 'origination' | 'termination'; from: PartyNumber; to: PartyNumber }
  /** We refused the call (policy, limits, a bad request); `trunk` when known. */
  | { type: 'refused'; trunk?: string; direction?: 'origination' | 'termination'; from?: PartyNumber; to?: PartyNumber }
  /** Not a call to record: a digest challenge (the retry is the call) or a stranger (counted, not recorded). */
  | { type: 'unrecorded' }
  | { type: 'attempt'; leg: LegName; at: number; sipCallId?: string; carrier?: string; transfer?: number }
  | { type: 'ringing'; leg: LegName; at: number }
  | { type: 'answered'; leg: LegName; at: number }
  | { type: 'failed'; leg: LegName; at: number; status: number; statusText: string; cause: 'response' | 'timeout' | 'transport-error' | 'no-answer' | 'no-ack'; reason?: string }
  /** A party hung up: its BYE, or the caller's CANCEL. */
  | { type: 'hangup'; leg: LegName; at: number; cancel: boolean; reason?: string }
  /** We hung up a leg (released a transferor, ended the other side). */
  | { type: 'released'; leg: LegName; at: number }
  /** The answer the caller got when the call was not answered. */
  | { type: 'final'; at: number; status: number; statusText: string }
  /** The call is over (its legs are being released); `by`: the leg whose party ended it, if one did. */
  /** `reason`: the Reason header (RFC 3326) of our BYEs when we end the call ourselves (its maximum duration). */
  | { type: 'ending'; at: number; by?: LegName; reason?: string }
  | {
    type: 'transfer'; index: number; at: number; transferor: LegName; remaining: LegName;
    kind: 'pstn' | 'sip'; billable: boolean; referTo: string; referredBy?: string; from: PartyNumber; to: PartyNumber;
  }
  /** Transfer n did not connect; `aborted`: the remaining party hung up first; `refused`: the trunk's policy or a limit said no. */
  | { type: 'transfer-failed'; index: number; at: number; status: number; statusText: string; aborted: boolean; refused?: boolean }
  /** Every leg is gone: the records can be built. */
  | { type: 'ended'; at: number };

/** What a record will hold, while its call goes on. */
interface Segment extends Pick<CallDetailRecord, 'startedAt' | 'ringingAt' | 'answeredAt' | 'kind' | 'billable' | 'from' | 'to' | 'referredBy' | 'referTo' | 'legs' | 'carrier' | 'statusText' | 'reason'> {
  parent?: number;
  endedAt?: number;
  /** Every carrier tried, in order. */
  carriers: string[];
  /** Created on first use: most calls try one carrier. */
  carrierOf?: Map<LegName, string>;
  refused: boolean;
  cancelled: boolean;
  status?: number;
  /** We answered the caller ourselves (`final`): that is the setup's status, whatever an attempt we then cancelled says (its 487). */
  finalSent?: boolean;
  cause?: 'response' | 'timeout' | 'transport-error' | 'no-answer' | 'no-ack';
  /** The legs that make the record's call: its caller's and the callee's that answered. */
  caller?: LegName;
  callee?: LegName;
  gone?: Set<LegName>;
  /** Set when the record ended before the call did (its own parties gone, a transfer that failed). */
  endedBy?: EndedBy;
}

/**
 * The facts of one call, gathered from its events, and the records they make: one for the
 * call, one per transfer (linked to the record of the transferor's call). Pure: the CDR actor
 * owns one per call in progress.
 *
 * While the call goes on the ledger keeps its events only (they are a snapshot's record state
 * anyway); the records are worked out from them once, when they are asked for. A ledger is held
 * for every call in progress, and the worked-out form (segments, their legs and tables) was
 * most of its ~2 KB (issue 17: heap per held call).
 *
 * A record lasts while its call does: the original call's record until both its parties are
 * gone or the whole call ends (after a transfer the remaining party is still on the original
 * call, so its carrier leg is still being paid for); a referred call's record until its new
 * party is gone or the whole call ends.
 */
export class CallLedger {
  /** Every event applied, in order: the ledger's whole state, what a snapshot of the call keeps and an adopter takes (`fromJSON`). */
  private readonly history: CallEvent[] = [];
  /** Set on an adopter's ledger: the records say the call was taken over. */
  takenOver: { at: number; from?: string } | undefined;

  constructor(
    readonly callId: string,
    readonly worker: string,
  ) {}

  /** The events so far (the ledger's whole state: `fromJSON` rebuilds it from them). */
  toJSON(): readonly CallEvent[] {
    return this.history;
  }

  /** The ledger of a call another worker started, from its events; `worker` is the adopter. */
  static fromJSON(callId: string, worker: string, events: readonly CallEvent[], takenOver?: { at: number; from?: string }): CallLedger {
    const ledger = new CallLedger(callId, worker);
    ledger.history.push(...events);
    ledger.takenOver = takenOver;
    return ledger;
  }

  apply(e: CallEvent): void {
    this.history.push(e);
  }

  /** The call's records, once it has ended (none when it was not a call to record): its events replayed in order. */
  records(): CallDetailRecord[] {
    const replay = new LedgerReplay(this.callId, this.worker, this.takenOver);
    for (const e of this.history) replay.apply(e);
    return replay.records();
  }
}

/** A call's events worked out into its records' segments, in the order they happened. */
class LedgerReplay {
  private readonly segments: Segment[] = [];
  /** Per transfer, the leg that sent its REFER: a party a transfer brought in stands where that leg stood. */
  private transferors: Map<number, LegName> | undefined;
  /** Legs not named after their transfer (the far party of an attended transfer), by transfer. */
  private remoteSegment: Map<LegName, number> | undefined;
  private trunk: string | undefined;
  private direction: 'origination' | 'termination' | undefined;
  private recorded = true;
  private endingAt: number | undefined;
  private endingBy: LegName | undefined;
  private endingReason: string | undefined;

  constructor(
    private readonly callId: string,
    private readonly worker: string,
    private readonly takenOver: { at: number; from?: string } | undefined,
  ) {}

  apply(e: CallEvent): void {
    switch (e.type) {
      case 'started':
        this.segments[0] = newSegment(e.at, 'pstn', true);
        this.segments[0].legs.push({ leg: 'a', sipCallId: e.sipCallId, role: 'caller' });
        this.segments[0].caller = 'a';
        return;
      case 'planned':
      case 'refused': {
        const s = this.segments[0];
        if (e.trunk !== undefined) this.trunk = e.trunk;
        if (e.direction !== undefined) this.direction = e.direction;
        if (s === undefined) return;
        if (e.from !== undefined) s.from = e.from;
        if (e.to !== undefined) s.to = e.to;
        if (e.type === 'refused') s.refused = true;
        return;
      }
      case 'unrecorded':
        this.recorded = false;
        return;
      case 'attempt': {
        const s = this.segmentOfLeg(e.leg, e.transfer);
        if (s === undefined) return;
        if (e.transfer !== undefined && !e.leg.startsWith('c')) (this.remoteSegment ??= new Map()).set(e.leg, e.transfer);
        if (e.sipCallId !== undefined) s.legs.push({ leg: e.leg, sipCallId: e.sipCallId, role: 'callee' });
        if (e.carrier !== undefined) {
          (s.carrierOf ??= new Map()).set(e.leg, e.carrier);
          if (!s.carriers.includes(e.carrier)) s.carriers = [...s.carriers, e.carrier];
          s.carrier ??= e.carrier;
          if (s.answeredAt === undefined) s.carrier = e.carrier;
        }
        return;
      }
      case 'ringing': {
        const s = this.segmentOfLeg(e.leg);
        if (s !== undefined && e.leg !== s.caller) s.ringingAt ??= e.at;
        return;
      }
      case 'answered': {
        const s = this.segmentOfLeg(e.leg);
        if (s === undefined || s.answeredAt !== undefined || e.leg === s.caller || s.endedAt !== undefined || this.endingAt !== undefined) return;
        s.answeredAt = e.at;
        s.callee = e.leg;
        s.status = 200;
        s.statusText = 'OK';
        const carrier = s.carrierOf?.get(e.leg);
        if (carrier !== undefined) s.carrier = carrier;
        return;
      }
      case 'failed': {
        const s = this.segmentOfLeg(e.leg);
        if (s === undefined) return;
        if (s.answeredAt === undefined && s.finalSent !== true) {
          s.status = e.status;
          s.statusText = e.statusText;
          s.cause = e.cause;
          if (e.reason !== undefined) s.reason = e.reason;
        }
        this.legGone(e.leg, e.at);
        return;
      }
      case 'hangup': {
        if (e.cancel) {
          const s0 = this.segments[0];
          if (s0 !== undefined && s0.answeredAt === undefined) s0.cancelled = true;
        }
        for (const s of this.segments) if (e.reason !== undefined && (s.caller === e.leg || s.callee === e.leg) && s.endedAt === undefined) s.reason = e.reason;
        this.legGone(e.leg, e.at, e.leg);
        return;
      }
      case 'released':
        this.legGone(e.leg, e.at);
        return;
      case 'final': {
        const s = this.segments[0];
        if (s === undefined || s.answeredAt !== undefined) return;
        s.status = e.status;
        s.statusText = e.statusText;
        s.finalSent = true;
        return;
      }
      case 'ending':
        this.endingAt ??= e.at;
        if (e.by !== undefined) this.endingBy ??= e.by;
        if (e.reason !== undefined) this.endingReason ??= e.reason;
        return;
      case 'transfer': {
        const parent = this.segmentIndexOfLeg(e.transferor);
        const s = newSegment(e.at, e.kind, e.billable);
        Object.assign(s, { parent, from: e.from, to: e.to, referTo: e.referTo, caller: e.remaining });
        if (e.referredBy !== undefined) s.referredBy = e.referredBy;
        this.segments[e.index] = s;
        (this.transferors ??= new Map()).set(e.index, e.transferor);
        return;
      }
      case 'transfer-failed': {
        const s = this.segments[e.index];
        if (s === undefined || s.endedAt !== undefined || s.answeredAt !== undefined) return;
        s.endedAt = e.at;
        if (e.aborted) {
          s.cancelled = true;
          s.endedBy = 'caller';
        } else if (e.refused === true) {
          s.refused = true;
          s.endedBy = 'system';
        } else s.endedBy = s.cause === 'response' ? 'callee' : 'system';
        if (s.status === undefined || e.aborted) {
          s.status = e.status;
          s.statusText = e.statusText;
        }
        return;
      }
      case 'ended':
        this.endingAt ??= e.at;
        return;
    }
  }

  records(): CallDetailRecord[] {
    if (!this.recorded || this.segments[0] === undefined) return [];
    const out: CallDetailRecord[] = [];
    const endAt = this.endingAt ?? Date.now();
    this.segments.forEach((s, index) => {
      if (s === undefined) return;
      // a transfer still being placed when the call ended was abandoned with it
      if (index > 0 && s.answeredAt === undefined && s.endedAt === undefined) {
        s.cancelled = true;
        s.status = 487;
        s.statusText = 'Request Terminated';
      }
      const endedAt = Math.max(s.startedAt, s.endedAt ?? endAt);
      const answered = s.answeredAt !== undefined;
      const record: CallDetailRecord = {
        v: 1,
        id: `${this.callId}-${index}`,
        callId: this.callId,
        worker: this.worker,
        kind: s.kind,
        billable: s.billable,
        from: s.from,
        to: s.to,
        carriersTried: s.carriers,
        legs: s.legs,
        startedAt: s.startedAt,
        endedAt,
        duration: (endedAt - s.startedAt) / 1000,
        billableSeconds: answered && s.billable ? Math.ceil((endedAt - (s.answeredAt ?? endedAt)) / 1000) : 0,
        disposition: dispositionOf({ answered, refused: s.refused, cancelled: s.cancelled, status: s.status, ...(s.cause === undefined ? {} : { cause: s.cause }) }),
        status: s.status ?? (s.cancelled ? 487 : 500),
        endedBy: s.endedBy ?? this.endedBy(s, index),
      };
      if (s.parent !== undefined) record.parentId = `${this.callId}-${s.parent}`;
      if (this.takenOver !== undefined) record.takenOver = this.takenOver;
      if (this.trunk !== undefined) record.trunk = this.trunk;
      if (this.direction !== undefined) record.direction = this.direction;
      if (s.referredBy !== undefined) record.referredBy = s.referredBy;
      if (s.referTo !== undefined) record.referTo = s.referTo;
      if (s.carrier !== undefined) record.carrier = s.carrier;
      if (s.ringingAt !== undefined) record.ringingAt = s.ringingAt;
      if (s.answeredAt !== undefined) record.answeredAt = s.answeredAt;
      const statusText = s.statusText ?? (s.status === undefined && s.cancelled ? 'Request Terminated' : undefined);
      if (statusText !== undefined) record.statusText = statusText;
      // a record that lasted until the call ended, which we ended ourselves, says why
      const reason = s.reason ?? (s.endedAt === undefined ? this.endingReason : undefined);
      if (reason !== undefined) record.reason = reason;
      out.push(record);
    });
    return out;
  }

  /** Who ended a record that lasted until the call ended: the party whose BYE or CANCEL did, else us. */
  private endedBy(s: Segment, index: number): EndedBy {
    const by = this.endingBy;
    if (by === undefined) return 'system';
    if (by === s.caller) return 'caller';
    if (by === s.callee || this.segmentIndexOfLeg(by) === index) return 'callee';
    // the party that ended it came in by a transfer: it stands where the transferor stood
    return this.sideInSegment(by, s);
  }

  private sideInSegment(leg: LegName, s: Segment): EndedBy {
    let current: LegName | undefined = leg;
    for (let hops = 0; current !== undefined && hops < this.segments.length; hops++) {
      if (current === s.caller) return 'caller';
      if (current === s.callee) return 'callee';
      const i = this.segmentIndexOfLeg(current);
      if (i === undefined || i === 0) break;
      current = this.transferors?.get(i);
    }
    return 'system';
  }

  /** A leg's party is gone: a record whose own parties are all gone ends now (once the call ends, all end with it). */
  private legGone(leg: LegName, at: number, byParty?: LegName): void {
    if (this.endingAt !== undefined) return;
    for (const s of this.segments) {
      if (s === undefined || s.endedAt !== undefined || s.answeredAt === undefined) continue;
      if (leg !== s.caller && leg !== s.callee) continue;
      const gone = (s.gone ??= new Set());
      gone.add(leg);
      const ownGone = s.parent === undefined ? gone.has(s.caller ?? '') && gone.has(s.callee ?? '') : gone.has(s.callee ?? '');
      if (!ownGone) continue;
      s.endedAt = at;
      s.endedBy = byParty === undefined ? 'system' : byParty === s.caller ? 'caller' : 'callee';
    }
  }

  private segmentOfLeg(leg: LegName, transfer?: number): Segment | undefined {
    const index = transfer ?? this.segmentIndexOfLeg(leg);
    return index === undefined ? undefined : this.segments[index];
  }

  /** `a` and `b…` are the call's own; `c<n>.…` transfer n's; `remote` the attended transfer's far party. */
  private segmentIndexOfLeg(leg: LegName): number | undefined {
    if (leg === 'a' || leg.startsWith('b')) return 0;
    const m = /^c(\d+)\./.exec(leg);
    if (m !== null) return Number(m[1]);
    return this.remoteSegment?.get(leg);
  }
}

const NO_NUMBER: PartyNumber = Object.freeze({}) as PartyNumber;
const NO_CARRIERS: string[] = Object.freeze([]) as unknown as string[];

function newSegment(at: number, kind: 'pstn' | 'sip', billable: boolean): Segment {
  return {
    startedAt: at, kind, billable, from: NO_NUMBER, to: NO_NUMBER, legs: [], carriers: NO_CARRIERS, refused: false, cancelled: false,
  };
}
