import { isLoopTarget, isReferRefusal, readReferTo, type ReferTarget } from './refer-target.js';
import type { TrunkConfig } from './trunk-config.js';

// Whether a REFER (RFC 3515) is taken: every rule in one pure function, in the order they are
// checked (the first that matches answers). The call actor takes a snapshot of what it knows and
// answers the decision; placing the new leg stays with it.

/** What a transfer is asked with: a REFER's Refer-To values, CSeq number and Refer-Sub, or an operator's target. */
export interface ReferAsk {
  readonly referTo: readonly string[];
  readonly cseq: number;
  /** RFC 4488: false when the REFER asked for no implicit subscription. */
  readonly referSub: boolean;
}

/** What the call knows when a REFER arrives: a plain snapshot, no actor. */
export interface ReferringCall {
  /** The REFER came on the customer's leg (a carrier's REFER is never taken). */
  readonly fromCustomer: boolean;
  /** The call is bridged (answered or confirmed). */
  readonly up: boolean;
  readonly transferInProgress: boolean;
  /** The other party of the bridged pair is still there. */
  readonly remainingPresent: boolean;
  /** Transfers this call (and its chain) already made. */
  readonly transfersSoFar: number;
  /** The transferor is a party an earlier transfer reached on another domain (a chain). */
  readonly transferorOnOtherDomain: boolean;
  /** The call's parties' numbers (customer, remote), for the loop check. */
  readonly parties: readonly string[];
  /** The remaining party's last SDP is known (the new leg's offer). */
  readonly remainingHasSession: boolean;
}

/** A REFER refused with a final response, or accepted (202) towards its target. */
export type ReferDecision =
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string }
  | { readonly kind: 'accepted'; readonly target: ReferTarget; readonly referSub: boolean };

type ReferRefusalDecision = Extract<ReferDecision, { kind: 'refused' }>;

const refuse = (status: number, reason: string): ReferRefusalDecision => ({ kind: 'refused', status, reason });

const NOT_ALLOWED = refuse(403, 'Transfer Not Allowed');
const PENDING = refuse(491, 'Request Pending');
const NO_DIALOG = refuse(481, 'Call/Transaction Does Not Exist');
const TOO_MANY = refuse(403, 'Too Many Transfers');
const BAD_CSEQ = refuse(400, 'Bad CSeq');
const PSTN_NOT_ALLOWED = refuse(403, 'PSTN Transfer Not Allowed');
const SIP_NOT_ALLOWED = refuse(403, 'SIP Transfer Not Allowed');
const LOOP = refuse(403, 'Transfer Loop');
const NO_SESSION = refuse(488, 'No Session to Transfer');

/** `trunk`: the call's trunk (undefined when the call has none: refused). `ask` undefined: no REFER could be read. */
export function decideRefer(call: ReferringCall, ask: ReferAsk | undefined, trunk: TrunkConfig | undefined): ReferDecision {
  // a carrier's REFER is never taken, nor relayed (that makes REFER ping-pong between peers)
  if (ask === undefined || trunk === undefined || !call.fromCustomer) return NOT_ALLOWED;
  if (!call.up) return NOT_ALLOWED;
  // one transfer at a time: 491 asks the transferor to try again once this one has ended
  if (call.transferInProgress) return PENDING;
  if (!call.remainingPresent) return NO_DIALOG;
  const { mode, maxPerCall } = trunk.transfer;
  if (mode === 'disabled') return NOT_ALLOWED;
  // chains included: a call passed on and on would otherwise never end
  if (call.transfersSoFar >= maxPerCall) return TOO_MANY;
  // RFC 3261 §8.1.1.5: a CSeq number must be below 2**31; the subscription's id= is built from it
  if (ask.cseq >= 2 ** 31) return BAD_CSEQ;
  const target = readReferTo(ask.referTo, trunk);
  if (isReferRefusal(target)) return target;
  if (target.kind === 'pstn' && mode === 'sip-only') return PSTN_NOT_ALLOWED;
  if (target.kind === 'sip' && mode === 'pstn-only') return SIP_NOT_ALLOWED;
  // a party on another domain holds the call for the customer, but may not bill the customer's trunk
  if (target.kind === 'pstn' && call.transferorOnOtherDomain) return PSTN_NOT_ALLOWED;
  if (isLoopTarget(target, { trunk, parties: call.parties })) return LOOP;
  // the new leg's INVITE offers the remaining party's session: without it there is nothing to offer
  if (!call.remainingHasSession) return NO_SESSION;
  return { kind: 'accepted', target, referSub: ask.referSub };
}
