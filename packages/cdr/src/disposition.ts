import type { Disposition } from './call-detail-record.js';

/** How a call's setup ended, as the record builder sees it. */
export interface SetupOutcome {
  answered: boolean;
  /** We refused it: trunk policy, a limit, a bad request (never a carrier's or a party's answer). */
  refused: boolean;
  /** Its caller gave up before an answer: a CANCEL (or, for a referred call, the remaining party hanging up). */
  cancelled: boolean;
  /** The final status of the setup (the answer the caller got, or the new leg's last failure). */
  status: number | undefined;
  /** Why the last attempt failed: its own answer, or a timeout standing for one. */
  cause?: 'response' | 'timeout' | 'transport-error' | 'no-answer' | 'no-ack';
}

/**
 * The disposition of a record, in this order of precedence:
 * 1. answered — whatever happened after;
 * 2. refused — we said no (policy, limits), whatever status we used (403, 404, 486 over a limit…);
 * 3. cancelled — the caller gave up first; the 487 and any attempt still failing are its echoes;
 * 4. busy — the called party said no: 486 Busy Here, 600 Busy Everywhere, 603 Decline. One
 *    disposition, not a `declined` beside it: phones send 486 or 603 for the same reject key,
 *    by vendor, so only the status (kept in the record) could tell them apart, not the callee;
 * 5. no-answer — nobody answered in time: Timer B or our no-answer timer, 408, 480, or a 487 we
 *    caused by cancelling an unanswered attempt;
 * 6. failed — everything else (transport errors, 4xx-6xx, no route).
 */
export function dispositionOf(o: SetupOutcome): Disposition {
  if (o.answered) return 'answered';
  if (o.refused) return 'refused';
  if (o.cancelled) return 'cancelled';
  if (o.status === 486 || o.status === 600 || o.status === 603) return 'busy';
  if (o.cause === 'timeout' || o.cause === 'no-answer') return 'no-answer';
  if (o.status === 408 || o.status === 480 || o.status === 487) return 'no-answer';
  return 'failed';
}
