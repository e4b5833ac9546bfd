/**
 * One call detail record (CDR). A call gets one record; every call a transfer placed for it
 * (a REFER's new leg) gets one more, linked to the record of the call it was referred from by
 * `parentId`. All records of one call share `callId`, so a call's chain is one lookup.
 *
 * Records are immutable once emitted and carry a deterministic id (`<callId>-<n>`), which is
 * also the JetStream message id: a record published twice is stored once.
 */
export interface CallDetailRecord {
  /** Schema version: readers skip records of a version they do not know. */
  v: 1;
  /** `<callId>-0` for the call, `<callId>-<n>` for its n-th transfer. */
  id: string;
  /** Our call id (16 hex digits): the same for a call and every call referred from it. */
  callId: string;
  /** Referred calls: the record of the call whose party sent the REFER. */
  parentId?: string;
  /** The worker that handled the call. */
  worker: string;
  /** The customer's trunk; absent when the call was refused before a trunk was known. */
  trunk?: string;
  direction?: 'origination' | 'termination';
  /** The call's own kind: `pstn` through a carrier, `sip` straight to another domain (transfers only). */
  kind: 'pstn' | 'sip';
  /**
   * Whether this kind of call is charged: calls through a carrier are, a transfer to another
   * domain or an attended transfer (which dials nothing) is not. What is charged is `billableSeconds`.
   */
  billable: boolean;
  from: PartyNumber;
  to: PartyNumber;
  /** Referred calls: who sent the REFER (its number or SIP URI) and its Refer-To target. */
  referredBy?: string;
  referTo?: string;
  /** The carrier that answered (or the last one tried). */
  carrier?: string;
  /** Every carrier tried, in order (failover). */
  carriersTried: string[];
  /** The SIP Call-ID of each of the record's legs. */
  legs: LegRecord[];
  /** Unix time in ms: the INVITE (or REFER) arrived, the first ringing, the answer, the end. */
  startedAt: number;
  ringingAt?: number;
  answeredAt?: number;
  endedAt: number;
  /** Seconds from start to end, to the ms. */
  duration: number;
  /** Whole seconds from answer to end, rounded up; 0 when unanswered or not billable. */
  billableSeconds: number;
  disposition: Disposition;
  /** The final SIP status of the call's setup (200 when answered) and its reason phrase. */
  status: number;
  statusText?: string;
  /** The `Reason` header (RFC 3326) of the request or answer that ended the call, if any. */
  reason?: string;
  /** Who ended it: a party of the record's call, or us (a timer, a limit, a refusal, an operator). */
  endedBy: EndedBy;
  /**
   * The call outlived the worker that started it (issue 16): `at`, when another worker adopted it
   * from its snapshot; `from`, the worker that wrote that snapshot, when known. `worker` is the
   * adopter, which finished the record.
   */
  takenOver?: { at: number; from?: string };
}

export interface PartyNumber {
  /** As received, e.g. the user part of the From or Request-URI. */
  received?: string;
  /** As normalised by the trunk's number plan (E.164 with `+`). */
  normalised?: string;
}

export interface LegRecord {
  /** The leg's name inside the call: `a`, `b1`, `c1.1`… */
  leg: string;
  sipCallId: string;
  /** The caller's side, the called side, or a transfer's new party. */
  role: 'caller' | 'callee';
}

/**
 * How the call's setup ended. Precedence (see `dispositionOf`): answered, then refused (by
 * us), then cancelled (by its caller), then busy, no-answer, and failed for everything else.
 */
export type Disposition = 'answered' | 'busy' | 'no-answer' | 'failed' | 'cancelled' | 'refused';

export type EndedBy = 'caller' | 'callee' | 'system';

export const DISPOSITIONS: readonly Disposition[] = ['answered', 'busy', 'no-answer', 'failed', 'cancelled', 'refused'];

/** A record and the records referred from it. */
export interface RecordTree {
  record: CallDetailRecord;
  children: RecordTree[];
}

/**
 * Arranges records into trees: each referred call under the record it was referred from.
 * A record whose parent is not among `records` (a query window cut the chain) is a root.
 * Roots keep the order they came in; children are ordered by start.
 */
export function recordTrees(records: readonly CallDetailRecord[]): RecordTree[] {
  const nodes = new Map<string, RecordTree>();
  for (const record of records) if (!nodes.has(record.id)) nodes.set(record.id, { record, children: [] });
  const roots: RecordTree[] = [];
  for (const node of nodes.values()) {
    const parent = node.record.parentId === undefined ? undefined : nodes.get(node.record.parentId);
    if (parent === undefined || parent === node) roots.push(node);
    else parent.children.push(node);
  }
  for (const node of nodes.values()) node.children.sort((x, y) => x.record.startedAt - y.record.startedAt);
  return roots;
}

/** Depth-first, parent before children, with each record's depth (0 for a root): what a listing prints. */
export function* walkTrees(trees: readonly RecordTree[], depth = 0): Generator<{ record: CallDetailRecord; depth: number }> {
  for (const tree of trees) {
    yield { record: tree.record, depth };
    yield* walkTrees(tree.children, depth + 1);
  }
}
