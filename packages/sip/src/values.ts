import { HeaderValueError } from './errors.js';
import { endOfLws, isToken, parseBoundedInt, skipLws, spanOf, trimLws, WORD_CHAR } from './grammar.js';
import { formatParams, getParam, parseParams, splitTopLevel, type Param } from './params.js';

/** A token (or `type/subtype`) followed by parameters: Event, Subscription-State, Content-Type, ... */
export class ParamValue {
  constructor(
    readonly value: string,
    readonly params: readonly Param[] = [],
  ) {}
  param(name: string): string | null | undefined {
    return getParam(this.params, name);
  }
  toString(): string {
    return this.value + formatParams(this.params);
  }
}

function parseParamValue(text: string, check: (v: string) => boolean): ParamValue {
  const t = trimLws(text);
  const semi = t.indexOf(';');
  const value = trimLws(semi === -1 ? t : t.slice(0, semi));
  if (!check(value)) throw new HeaderValueError('bad value');
  return new ParamValue(value, semi === -1 ? [] : parseParams(t.slice(semi)));
}

/** Event (RFC 6665 §8.2.1), Subscription-State, Refer-Sub, Reason entries and similar token-led values. */
export function parseTokenParams(text: string): ParamValue {
  return parseParamValue(text, isToken);
}

/** Content-Type (RFC 3261 §20.15): `type/subtype *(;param)`, media type lower-cased for comparison. */
export function parseContentType(text: string): ParamValue {
  const v = parseParamValue(text, (s) => {
    const slash = s.indexOf('/');
    return slash > 0 && isToken(trimLws(s.slice(0, slash))) && isToken(trimLws(s.slice(slash + 1)));
  });
  return new ParamValue(v.value.replace(/[ \t]+/g, '').toLowerCase(), v.params);
}

/** `delta-seconds *(;param)`: Session-Expires (RFC 4028), Min-SE, Retry-After (RFC 3261 §20.33). */
export class DeltaSeconds extends ParamValue {
  get seconds(): number {
    return Number(this.value);
  }
}

// comment = LPAREN *(ctext / quoted-pair / comment) RPAREN (RFC 3261 §25.1): innermost first, until none is left
const INNER_COMMENT = /\((?:[^()\\]|\\[\s\S])*\)/g;

export function parseDeltaSeconds(text: string): DeltaSeconds {
  // Retry-After may carry a comment after the number (RFC 3261 §20.33)
  let stripped = text;
  while (stripped.indexOf('(') !== -1) {
    const next = stripped.replace(INNER_COMMENT, ' ');
    if (next === stripped) break;
    stripped = next;
  }
  const v = parseParamValue(stripped, (s) => parseBoundedInt(s, 0xffff_ffff) >= 0);
  return new DeltaSeconds(String(parseBoundedInt(v.value, 0xffff_ffff)), v.params);
}

/** A comma list of tokens (Supported, Require, Allow, ...). */
export function parseTokenList(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(',')) {
    const t = trimLws(part);
    if (t.length === 0) continue;
    if (!isToken(t)) throw new HeaderValueError('bad token');
    out.push(t);
  }
  return out;
}

/** Call-ID (RFC 3261 §20.8): `word ["@" word]`. */
export function parseCallId(text: string): string {
  return parseCallIdAt(text, 0, text.length);
}

/** parseCallId of s[from, to), read in place. */
export function parseCallIdAt(s: string, from: number, to: number): string {
  const a = skipLws(s, from, to);
  const b = endOfLws(s, a, to);
  if (!isCallIdAt(s, a, b)) throw new HeaderValueError('bad Call-ID');
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Whether s[from, to), trimmed, is a Call-ID: a word, or two joined by an `@` (which no word holds). */
export function isCallIdAt(s: string, from: number, to: number): boolean {
  const at = spanOf(s, from, to, WORD_CHAR);
  if (at === from) return false;
  if (at === to) return true;
  return s.charCodeAt(at) === 64 && at + 1 < to && spanOf(s, at + 1, to, WORD_CHAR) === to;
}

/** Replaces (RFC 3891 §6.1): `callid *(SEMI replaces-param)` with to-tag, from-tag, early-only. */
export class Replaces {
  constructor(
    readonly callId: string,
    readonly toTag: string,
    readonly fromTag: string,
    readonly earlyOnly: boolean,
    readonly params: readonly Param[] = [],
  ) {}
  toString(): string {
    return this.callId + formatParams(this.params);
  }
}

export function parseReplaces(text: string): Replaces {
  const t = trimLws(text);
  const semi = t.indexOf(';');
  const callId = parseCallId(semi === -1 ? t : t.slice(0, semi));
  const params = semi === -1 ? [] : parseParams(t.slice(semi));
  const toTag = getParam(params, 'to-tag');
  const fromTag = getParam(params, 'from-tag');
  if (typeof toTag !== 'string' || typeof fromTag !== 'string') throw new HeaderValueError('Replaces needs to-tag and from-tag');
  return new Replaces(callId, toTag, fromTag, getParam(params, 'early-only') !== undefined, params);
}

const WKDAY = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
const MONTH = new Set(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']);

/** Date (RFC 3261 §20.17): an RFC 1123 date, and only in GMT. Returns epoch milliseconds. */
export function parseSipDate(text: string): number {
  const m = /^[ \t]*([A-Za-z]{3}), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT[ \t]*$/.exec(text);
  if (m === null || !WKDAY.has(m[1] ?? '') || !MONTH.has(m[3] ?? '')) throw new HeaderValueError('bad Date');
  const ms = Date.parse(`${m[2]} ${m[3]} ${m[4]} ${m[5]}:${m[6]}:${m[7]} GMT`);
  if (Number.isNaN(ms)) throw new HeaderValueError('bad Date');
  return ms;
}

/** Splits a list header into its values (empty elements, as in `a,,b`, are ignored, RFC 3261 §7.3.1). */
export function splitList(text: string): string[] {
  // the usual single value: without a comma or a quote, splitTopLevel would return the text whole
  if (text.indexOf(',') === -1 && text.indexOf('"') === -1) return trimLws(text).length > 0 ? [text] : [];
  const out: string[] = [];
  for (const part of splitTopLevel(text, 44)) {
    if (trimLws(part).length > 0) out.push(part);
  }
  return out;
}
