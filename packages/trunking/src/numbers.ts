import { SipUri, TelUri, unescapePercent, type Uri } from '@switchboard/sip';
import type { NumberPlan } from './trunk-config.js';

const E164_PATTERN = /^\+[1-9]\d{6,14}$/;
/** Visual separators people and PBXs put in numbers (RFC 3966 §5.1.1). */
const VISUAL = /[\s\-.()]/g;

export function isE164(number: string): boolean {
  return E164_PATTERN.test(number);
}

/**
 * A dialled number as E.164 under `plan`, or undefined when it cannot be one:
 * `+…` stays, the international prefix becomes `+`, the national prefix (or none) becomes
 * `+<country code>`.
 */
export function normaliseNumber(dialled: string, plan: NumberPlan): string | undefined {
  const s = dialled.replace(VISUAL, '');
  if (!/^\+?\d+$/.test(s)) return undefined;
  let e164: string;
  if (s.startsWith('+')) e164 = s;
  else if (s.startsWith(plan.internationalPrefix)) e164 = `+${s.slice(plan.internationalPrefix.length)}`;
  else if (plan.nationalPrefix !== '' && s.startsWith(plan.nationalPrefix)) e164 = `+${plan.countryCode}${s.slice(plan.nationalPrefix.length)}`;
  else e164 = `+${plan.countryCode}${s}`;
  return isE164(e164) ? e164 : undefined;
}

/** A number from a carrier: E.164 with or without `+` unless the carrier has a plan of its own. */
export function normaliseCarrierNumber(sent: string, plan: NumberPlan | undefined): string | undefined {
  if (plan !== undefined) return normaliseNumber(sent, plan);
  const s = sent.replace(VISUAL, '');
  const e164 = s.startsWith('+') ? s : `+${s}`;
  return isE164(e164) ? e164 : undefined;
}

/** How a carrier wants numbers written. */
export function formatNumber(e164: string, format: 'e164' | 'e164-digits'): string {
  return format === 'e164' ? e164 : e164.slice(1);
}

/** The number a URI names: a tel: URI's number, or a SIP URI's user part without user parameters. */
export function numberOf(uri: Uri | undefined): string | undefined {
  if (uri instanceof TelUri) return uri.number;
  // split before unescaping: an escaped `%3B` is not a parameter separator (RFC 3261 §19.1.4 compares unescaped)
  if (uri instanceof SipUri && uri.user !== undefined) return unescapePercent(uri.user.split(';', 1)[0] ?? '');
  return undefined;
}

/** Whether `e164` starts with `prefix`; prefixes may be written with or without `+`, and `''` matches all. */
export function hasPrefix(e164: string, prefix: string): boolean {
  const digits = e164.startsWith('+') ? e164.slice(1) : e164;
  return digits.startsWith(prefix.startsWith('+') ? prefix.slice(1) : prefix);
}

/** Length of the prefix without its `+`: how specific a rule is. */
export function prefixLength(prefix: string): number {
  return prefix.startsWith('+') ? prefix.length - 1 : prefix.length;
}
