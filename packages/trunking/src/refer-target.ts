import { parseNameAddr, parseReplaces, parseUri, SipUri, TelUri, unescapePercent, type NameAddr, type Replaces, type SipRequest, type Uri } from '@switchboard/sip';
import { isE164, normaliseNumber, numberOf } from './numbers.js';
import type { NumberPlan, TrunkConfig } from './trunk-config.js';

// Where a REFER (RFC 3515) from the customer side sends the new leg: a number on the trunk's own
// domain is a new PSTN call (routed, restricted, billed); any other domain is a SIP destination
// reached directly. Pure: the engine answers the refusal and places the leg.

/** A REFER's target: a new PSTN call on the trunk, or a SIP destination on another domain. */
export type ReferTarget =
  | { kind: 'pstn'; uri: Uri; dialled: string; number: string; replaces?: Replaces }
  | { kind: 'sip'; uri: SipUri; host: string; replaces?: Replaces };

/** Why a REFER is answered with an error instead of 202. */
export interface ReferRefusal {
  kind: 'refused';
  status: number;
  reason: string;
}

const MISSING: ReferRefusal = { kind: 'refused', status: 400, reason: 'Missing Refer-To' };
const MULTIPLE: ReferRefusal = { kind: 'refused', status: 400, reason: 'Multiple Refer-To' };
const BAD: ReferRefusal = { kind: 'refused', status: 400, reason: 'Bad Refer-To' };
// RFC 3515 §2.4.2 leaves the code open ("4xx"); 400 with a reason an operator can read
const UNSUPPORTED_SCHEME: ReferRefusal = { kind: 'refused', status: 400, reason: 'Unsupported Refer-To URI' };
const UNSUPPORTED_METHOD: ReferRefusal = { kind: 'refused', status: 403, reason: 'Unsupported Refer Method' };
const BAD_REPLACES: ReferRefusal = { kind: 'refused', status: 400, reason: 'Bad Replaces' };
const INCOMPLETE: ReferRefusal = { kind: 'refused', status: 484, reason: 'Address Incomplete' };
const NOT_FOUND: ReferRefusal = { kind: 'refused', status: 404, reason: 'Not Found' };

/** Visual separators (RFC 3966 §5.1.1), as `normaliseNumber` drops them. */
const VISUAL = /[\s\-.()]/g;

export function isReferRefusal(x: ReferTarget | ReferRefusal): x is ReferRefusal {
  return x.kind === 'refused';
}

/**
 * The target of a REFER received on `trunk`, or the response that refuses it. The returned URI
 * carries neither a `method` parameter nor URI headers: the new leg is an INVITE, and its
 * Replaces (RFC 3891 §7) is returned parsed, for the INVITE's own header.
 */
export function readReferTarget(refer: SipRequest, trunk: Pick<TrunkConfig, 'domain' | 'numberPlan'>): ReferTarget | ReferRefusal {
  // getAll reads the compact form `r` too (RFC 3515 §2.1)
  return readReferTo(refer.headers.getAll('refer-to'), trunk);
}

/** The same from the Refer-To header lines themselves (an operator's transfer has no REFER). */
export function readReferTo(lines: readonly string[], trunk: Pick<TrunkConfig, 'domain' | 'numberPlan'>): ReferTarget | ReferRefusal {
  if (lines.length === 0) return MISSING;
  // RFC 3515 §2.4.1: "exactly one Refer-To header field value"
  if (lines.length > 1) return MULTIPLE;
  const values = splitValues(lines[0] as string);
  if (values === undefined || values.length === 0) return BAD;
  if (values.length > 1) return MULTIPLE;
  let referTo: NameAddr;
  try {
    referTo = parseNameAddr(values[0] as string);
  } catch {
    return BAD;
  }
  const uri = referTo.uri;
  if (uri instanceof TelUri) return readNumber(uri, uri.number, phoneContextFits(uri, trunk), trunk.numberPlan, undefined);
  if (!(uri instanceof SipUri)) return UNSUPPORTED_SCHEME;

  const method = uri.param('method');
  if (method !== undefined && method?.toUpperCase() !== 'INVITE') return UNSUPPORTED_METHOD;

  let replaces: Replaces | undefined;
  const replacesCount = uri.headers.filter((h) => h.name.toLowerCase() === 'replaces').length;
  if (replacesCount > 1) return BAD_REPLACES;
  const replacesText = uri.header('Replaces'); // percent-decoded (RFC 3261 §19.1.1)
  if (replacesCount === 1) {
    try {
      replaces = parseReplaces(replacesText ?? '');
    } catch {
      return BAD_REPLACES;
    }
  }

  const params = uri.params.filter((p) => unescapePercent(p.name).toLowerCase() !== 'method');
  const target = params.length === uri.params.length && uri.headers.length === 0 ? uri : uri.with({ params, headers: [] });
  const host = hostKey(uri.host);
  // the trunk's own domain whatever the port; `user=phone` elsewhere is that domain's number, not ours
  if (host === hostKey(trunk.domain)) return readNumber(target, numberOf(target), true, trunk.numberPlan, replaces);
  return replaces === undefined ? { kind: 'sip', uri: target, host } : { kind: 'sip', uri: target, host, replaces };
}

/**
 * Whether the new leg would come back into the call: a SIP target that is one of the trunk's
 * origination URIs (the customer's own PBX), or a target that is one of the call's parties.
 */
export function isLoopTarget(target: ReferTarget, context: { trunk: Pick<TrunkConfig, 'origination'>; parties: readonly string[] }): boolean {
  if (target.kind === 'pstn') return context.parties.some((party) => partyNumber(party) === target.number);
  for (const text of context.trunk.origination?.uris ?? []) {
    const uri = tryParseUri(text);
    if (uri instanceof SipUri && sameAddress(uri, target.uri)) return true;
  }
  // as an address, not as text: `sip:bob@EXAMPLE.com:5060` is where `sip:bob@example.com` goes
  return context.parties.some((party) => {
    const uri = tryParseUri(party);
    return uri instanceof SipUri && sameAddress(uri, target.uri);
  });
}

/** A target on the trunk's domain: it must be a number the trunk's plan can dial. */
function readNumber(uri: Uri, dialled: string | undefined, inPlan: boolean, plan: NumberPlan, replaces: Replaces | undefined): ReferTarget | ReferRefusal {
  if (dialled === undefined || !inPlan) return NOT_FOUND;
  const number = normaliseNumber(dialled, plan);
  if (number === undefined) return isIncomplete(dialled, plan) ? INCOMPLETE : NOT_FOUND;
  return replaces === undefined ? { kind: 'pstn', uri, dialled, number } : { kind: 'pstn', uri, dialled, number, replaces };
}

/** RFC 3261 §21.4.22: 484 when the digits are the start of a number the plan could dial. */
function isIncomplete(dialled: string, plan: NumberPlan): boolean {
  const s = dialled.replace(VISUAL, '');
  if (!/^\+?\d+$/.test(s)) return false;
  for (let more = 1; more <= 15; more++) if (normaliseNumber(s + '1'.repeat(more), plan) !== undefined) return true;
  return false;
}

/**
 * A local tel number (RFC 3966 §5.1.5) is read under the trunk's plan only when its context is
 * the trunk's domain or lies in the plan's country: `tel:0207…;phone-context=+44` read under a
 * US plan would be dialled as `+1207…`, a different (billable) number.
 */
function phoneContextFits(uri: TelUri, trunk: Pick<TrunkConfig, 'domain' | 'numberPlan'>): boolean {
  if (uri.isGlobal) return true;
  const context = uri.param('phone-context');
  if (typeof context !== 'string') return false;
  if (!context.startsWith('+')) return hostKey(context) === hostKey(trunk.domain);
  // country calling codes are a prefix code (ITU-T E.164): a context inside the country starts with it
  return context.slice(1).replace(VISUAL, '').startsWith(trunk.numberPlan.countryCode);
}

/** The values of one header line split at top-level commas (not in quotes or `<…>`), or undefined when a quote is open. */
function splitValues(line: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  const push = (end: number) => {
    const part = line.slice(from, end).trim();
    // empty elements (`a,,b`) are no values (RFC 3261 §7.3.1)
    if (part.length > 0) out.push(part);
  };
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < line.length && line.charCodeAt(i) !== 34) i += line.charCodeAt(i) === 92 /* \ */ ? 2 : 1;
      if (i >= line.length) return undefined;
    } else if (c === 60 /* < */) depth++;
    else if (c === 62 /* > */) depth = Math.max(0, depth - 1);
    else if (c === 44 /* , */ && depth === 0) {
      push(i);
      from = i + 1;
    }
  }
  push(line.length);
  return out;
}

/** A host as compared: case-insensitive (RFC 3261 §19.1.4), a fully qualified trailing dot ignored. */
function hostKey(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Same user, host and port, the port defaulted by scheme (RFC 3261 §19.1.2): where an INVITE would land. */
function sameAddress(a: SipUri, b: SipUri): boolean {
  const port = (u: SipUri) => u.port ?? (u.scheme === 'sips' ? 5061 : 5060);
  return hostKey(a.host) === hostKey(b.host) && port(a) === port(b) && a.decodedUser === b.decodedUser;
}

/** A party as an E.164 number: written as one, or the number of its URI. */
function partyNumber(party: string): string | undefined {
  const written = party.replace(VISUAL, '');
  if (isE164(written)) return written;
  const number = numberOf(tryParseUri(party))?.replace(VISUAL, '');
  return number !== undefined && isE164(number) ? number : undefined;
}

function tryParseUri(text: string): Uri | undefined {
  try {
    return parseUri(text, { allowHeaders: true });
  } catch {
    return undefined;
  }
}
