import { hasPrefix, normaliseNumber } from './numbers.js';
import type { TrunkConfig } from './trunk-config.js';

/** What a customer's INVITE presents as its identity. */
export interface PresentedIdentity {
  /** The user part of From (`anonymous` for a withheld number). */
  fromUser: string | undefined;
  /** The user part of P-Asserted-Identity (RFC 3325), when present. */
  assertedUser: string | undefined;
  /** `Privacy: id` (RFC 3325 §9.3): the number must not be shown to the called party. */
  privacy: boolean;
}

export type CallerIdVerdict =
  | { ok: true; number: string; anonymous: boolean; replaced: boolean }
  | { ok: false; status: 403; reason: 'Caller ID Not Allowed'; presented: string };

/**
 * The caller's number for the carrier. Every number presented (From and P-Asserted-Identity)
 * must be one of the trunk's DIDs or under an allowed prefix; otherwise the call is refused or
 * the trunk's default number is presented instead, as the trunk says. A withheld From
 * (`anonymous`) needs an asserted number, which is checked the same way.
 */
export function checkCallerId(presented: PresentedIdentity, trunk: Pick<TrunkConfig, 'dids' | 'callerId' | 'numberPlan'>): CallerIdVerdict {
  const withheldFrom = presented.fromUser?.toLowerCase() === 'anonymous';
  const anonymous = presented.privacy || withheldFrom;
  // `Privacy: id` withholds the number from the called party; the From still presents it, so it is still checked
  const candidates = [presented.assertedUser, withheldFrom ? undefined : presented.fromUser].filter((u): u is string => u !== undefined);
  const policy = trunk.callerId;
  const violation = (shown: string): CallerIdVerdict =>
    policy.onViolation === 'replace' && policy.default !== undefined
      ? { ok: true, number: policy.default, anonymous, replaced: true }
      : { ok: false, status: 403, reason: 'Caller ID Not Allowed', presented: shown };
  if (candidates.length === 0) return violation(presented.fromUser ?? '');
  let number: string | undefined;
  for (const c of candidates) {
    const e164 = normaliseNumber(c, trunk.numberPlan);
    if (e164 === undefined || !(trunk.dids.includes(e164) || policy.allowed.some((p) => hasPrefix(e164, p)))) return violation(c);
    number ??= e164;
  }
  return { ok: true, number: number as string, anonymous, replaced: false };
}
