import { HeaderValueError } from './errors.js';
import { indexIn, isHost, isToken, isWsp, sliceLws, spanOf, TOKEN_CHAR } from './grammar.js';

/** One `;name[=value]` parameter. `value` is as written (a quoted string keeps its quotes); `null` for a flag. */
export interface Param {
  readonly name: string;
  readonly value: string | null;
}

/** The value of parameter `name` (case-insensitive), unquoted; `null` for a flag; `undefined` when absent. */
export function getParam(params: readonly Param[], name: string): string | null | undefined {
  const lower = name.toLowerCase();
  for (const p of params) {
    if (p.name.length === lower.length && p.name.toLowerCase() === lower) {
      return p.value === null ? null : unquote(p.value);
    }
  }
  return undefined;
}

export function hasParam(params: readonly Param[], name: string): boolean {
  return getParam(params, name) !== undefined;
}

/** A copy of `params` with `name` set (replacing an existing one in place) or removed when `value` is undefined. */
export function withParam(params: readonly Param[], name: string, value: string | null | undefined): Param[] {
  const lower = name.toLowerCase();
  const out: Param[] = [];
  let done = false;
  for (const p of params) {
    if (p.name.toLowerCase() === lower) {
      if (!done && value !== undefined) out.push({ name, value });
      done = true;
    } else out.push(p);
  }
  if (!done && value !== undefined) out.push({ name, value });
  return out;
}

export function formatParams(params: readonly Param[]): string {
  let s = '';
  for (const p of params) s += p.value === null ? `;${p.name}` : `;${p.name}=${p.value}`;
  return s;
}

/** Index just past the quoted string that opens at `start`, or -1 when it never closes. */
export function skipQuoted(s: string, start: number): number {
  return skipQuotedIn(s, start, s.length);
}

/** Set by skipQuotedIn: whether the quoted string it skipped holds a quoted-pair (`\\x`). */
export let skippedQuotedPair = false;

/** skipQuoted within s[start, to): -1 when the quoted string does not close before `to`. */
export function skipQuotedIn(s: string, start: number, to: number): number {
  skippedQuotedPair = false;
  for (let i = start + 1; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 /* \ */) {
      skippedQuotedPair = true;
      i++;
    } else if (c === 34 /* " */) return i + 1;
  }
  return -1;
}

/** Removes the quotes and quoted-pair escapes of a quoted-string; other text is returned unchanged. */
export function unquote(s: string): string {
  if (s.length < 2 || s.charCodeAt(0) !== 34 || s.charCodeAt(s.length - 1) !== 34) return s;
  const inner = s.slice(1, -1);
  return inner.indexOf('\\') === -1 ? inner : inner.replace(/\\([\s\S])/g, '$1');
}

/** Writes `s` as a quoted-string (RFC 3261 §25.1 quoted-pair for `"`, `\` and control characters). */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10) continue; // CR and LF cannot be carried, even escaped
    if (c === 34 || c === 92 || (c < 32 && c !== 9) || c === 127) out += '\\';
    out += s[i];
  }
  return out + '"';
}

/**
 * Splits a header value on `sep` where it stands outside quoted strings and `<...>`
 * (RFC 3261 §7.3.1: commas inside those do not separate values).
 */
export function splitTopLevel(s: string, sep: number): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      const end = skipQuoted(s, i);
      if (end === -1) throw new HeaderValueError('unterminated quoted string');
      i = end - 1;
    } else if (c === 60 /* < */) depth++;
    else if (c === 62 /* > */) depth = depth > 0 ? depth - 1 : 0;
    else if (c === sep && depth === 0) {
      parts.push(s.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(s.slice(from));
  return parts;
}

/** gen-value = token / host / quoted-string (RFC 3261 §25.1). */
export function isGenValue(v: string): boolean {
  if (v.charCodeAt(0) === 34) return skipQuoted(v, 0) === v.length;
  return isToken(v) || isHost(v);
}

/**
 * Parses `*( SEMI generic-param )` (RFC 3261 §25.1) from `s`, which must be empty or
 * start with `;` after optional whitespace. Empty parameters (`;;`) are malformed (RFC 4475 §3.1.2.1).
 * `check` must accept every token (a gen-value is one): a parameter that is `name` or
 * `name=value` of tokens alone, the usual kind, is read in one pass without it.
 */
export function parseParams(s: string, check: (v: string) => boolean = isGenValue, from = 0, to = s.length): Param[] {
  const params: Param[] = [];
  let i = from;
  const n = to;
  while (i < n && isWsp(s.charCodeAt(i))) i++;
  /** Whether s[i, n) holds a quote: 1, 0, or -1 until the general reading below needs to know. */
  let quoted = -1;
  let nextEq = -1;
  while (i < n) {
    if (s.charCodeAt(i) !== 59 /* ; */) throw new HeaderValueError('expected ;');
    i++;
    const nameEnd = spanOf(s, i, n, TOKEN_CHAR);
    if (nameEnd > i) {
      const c = nameEnd < n ? s.charCodeAt(nameEnd) : 59;
      if (c === 59) {
        params[params.length] = { name: s.slice(i, nameEnd), value: null };
        i = nameEnd;
        continue;
      }
      if (c === 61) {
        const valueEnd = spanOf(s, nameEnd + 1, n, TOKEN_CHAR);
        if (valueEnd > nameEnd + 1 && (valueEnd === n || s.charCodeAt(valueEnd) === 59)) {
          params[params.length] = { name: s.slice(i, nameEnd), value: s.slice(nameEnd + 1, valueEnd) };
          i = valueEnd;
          continue;
        }
      }
    }
    // Anything else (whitespace, quotes, other characters): without a quote, the parameter runs
    // to the next ';' and its name to its first '=', both found natively.
    if (quoted === -1) {
      quoted = indexIn(s, '"', i, n) !== -1 ? 1 : 0;
      if (quoted === 0) nextEq = indexIn(s, '=', i, n);
    }
    let j: number;
    let eq = -1;
    if (quoted === 0) {
      j = indexIn(s, ';', i, n);
      if (j === -1) j = n;
      if (nextEq !== -1 && nextEq < i) nextEq = indexIn(s, '=', i, n);
      if (nextEq !== -1 && nextEq < j) eq = nextEq;
    } else {
      // the parameter runs to the next ';' outside quotes; its name to its first '=' (quoted or not)
      j = i;
      while (j < n) {
        const c = s.charCodeAt(j);
        if (c === 59) break;
        if (c === 34) {
          const close = skipQuotedIn(s, j, n);
          if (close === -1) throw new HeaderValueError('unterminated quoted string');
          if (eq === -1) {
            const e = s.indexOf('=', j);
            if (e !== -1 && e < close) eq = e;
          }
          j = close;
        } else {
          if (c === 61 && eq === -1) eq = j;
          j++;
        }
      }
    }
    const name = sliceLws(s, i, eq === -1 ? j : eq);
    if (!isToken(name)) throw new HeaderValueError(`bad parameter name "${name}"`);
    if (eq === -1) params.push({ name, value: null });
    else {
      const value = sliceLws(s, eq + 1, j);
      if (!check(value)) throw new HeaderValueError(`bad value for parameter ${name}`);
      params.push({ name, value });
    }
    i = j;
  }
  return params;
}
