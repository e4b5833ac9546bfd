// Character classes of RFC 3261 §25.1, as lookup tables over ASCII.

function table(chars: string, alnum = true): Uint8Array {
  const t = new Uint8Array(128);
  if (alnum) {
    for (let c = 48; c <= 57; c++) t[c] = 1;
    for (let c = 65; c <= 90; c++) t[c] = 1;
    for (let c = 97; c <= 122; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const TOKEN = table("-.!%*_+`'~");
const WORD = table("-.!%*_+`'~()<>:\\\"/[]?{}");
const UNRESERVED = table("-_.!~*'()");
const USER = table("-_.!~*'()&=+$,;?/");
const PASSWORD = table("-_.!~*'()&=+$,");
const PARAM = table("-_.!~*'()[]/:&+$");
// '@' is not hnv-unreserved, but an unescaped '@' in an embedded Replaces is common in the wild
const HNV = table("-_.!~*'()[]/?:+$@");
const HOST = table('-._');
const IPV6 = table(':.', false);
for (let c = 48; c <= 57; c++) IPV6[c] = 1;
for (const c of 'abcdefABCDEF') IPV6[c.charCodeAt(0)] = 1;
const TEL = table('-.()+*#', false);
for (let c = 48; c <= 57; c++) TEL[c] = 1;
for (const c of 'abcdefABCDEFpPwW') TEL[c.charCodeAt(0)] = 1;

// The classes again, as bits of one table, for the scanners of the usual shapes (spanOf).
export const TOKEN_CHAR = 1;
export const HOST_CHAR = 2;
/** USER without its `%HH` escapes. */
export const USER_CHAR = 4;
/** PARAM without its `%HH` escapes. */
export const PARAM_CHAR = 8;
export const DIGIT_CHAR = 16;
export const WORD_CHAR = 32;
const CHAR_CLASSES = new Uint8Array(128);
for (const [bit, t] of [[TOKEN_CHAR, TOKEN], [HOST_CHAR, HOST], [USER_CHAR, USER], [PARAM_CHAR, PARAM], [WORD_CHAR, WORD]] as const) {
  for (let c = 0; c < 128; c++) if (t[c] === 1) CHAR_CLASSES[c] = (CHAR_CLASSES[c] as number) | bit;
}
for (let c = 48; c <= 57; c++) CHAR_CLASSES[c] = (CHAR_CLASSES[c] as number) | DIGIT_CHAR;

/** The first index in [from, to) whose character is not of class `bit` (TOKEN_CHAR, ...), or `to`. */
export function spanOf(s: string, from: number, to: number, bit: number): number {
  for (; from < to; from++) {
    const c = s.charCodeAt(from);
    if (c >= 128 || ((CHAR_CLASSES[c] as number) & bit) === 0) return from;
  }
  return to;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** True when every char of `s` is in `t`, or is a well-formed `%HH` escape when `escapes`. */
function allIn(s: string, t: Uint8Array, escapes: boolean): boolean {
  return allInRange(s, 0, s.length, t, escapes);
}

/** allIn over s[from, to), read in place (an escape must end within the range). */
function allInRange(s: string, from: number, to: number, t: Uint8Array, escapes: boolean): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && t[c] === 1) continue;
    if (escapes && c === 37 && i + 2 < to && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

export const isToken = (s: string): boolean => allIn(s, TOKEN, false);
/** isToken of s[from, to), without a copy. */
export const isTokenAt = (s: string, from: number, to: number): boolean => allInRange(s, from, to, TOKEN, false);
export const isWord = (s: string): boolean => allIn(s, WORD, false);
/** isWord of s[from, to), without a copy. */
export const isWordAt = (s: string, from: number, to: number): boolean => allInRange(s, from, to, WORD, false);
export const isUriUser = (s: string): boolean => allIn(s, USER, true);
export const isUriPassword = (s: string): boolean => s.length === 0 || allIn(s, PASSWORD, true);
export const isUriParamText = (s: string): boolean => allIn(s, PARAM, true);
export const isUriHeaderText = (s: string): boolean => s.length === 0 || allIn(s, HNV, true);
export const isUnreservedText = (s: string): boolean => allIn(s, UNRESERVED, true);
export const isTelNumber = (s: string): boolean => allIn(s, TEL, true);
// The same of s[from, to), read in place.
export const isUriUserAt = (s: string, from: number, to: number): boolean => allInRange(s, from, to, USER, true);
export const isUriPasswordAt = (s: string, from: number, to: number): boolean => from === to || allInRange(s, from, to, PASSWORD, true);
export const isUriParamTextAt = (s: string, from: number, to: number): boolean => allInRange(s, from, to, PARAM, true);
export const isUriHeaderTextAt = (s: string, from: number, to: number): boolean => from === to || allInRange(s, from, to, HNV, true);

/** hostname / IPv4address / IPv6reference (RFC 3261 §25.1), kept permissive about label shape. */
export function isHost(s: string): boolean {
  return isHostAt(s, 0, s.length);
}

/** isHost of s[from, to), read in place. */
export function isHostAt(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  if (s.charCodeAt(from) === 91 /* [ */) {
    return to - from > 2 && s.charCodeAt(to - 1) === 93 && allInRange(s, from + 1, to - 1, IPV6, false);
  }
  return allInRange(s, from, to, HOST, false);
}

/** `s.indexOf(c, from)` within s[from, to), or -1. */
export function indexIn(s: string, c: string, from: number, to: number): number {
  const i = s.indexOf(c, from);
  return i < to ? i : -1;
}

export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Decimal digits to a number no greater than `max`, or -1. Leading zeros are legal (RFC 4475 §3.1.1.1). */
export function parseBoundedInt(s: string, max: number): number {
  return parseBoundedIntAt(s, 0, s.length, max);
}

/** parseBoundedInt of s[from, to), read in place. */
export function parseBoundedIntAt(s: string, from: number, to: number, max: number): number {
  if (from >= to) return -1;
  if (to - from <= 15) {
    // up to 15 digits, leading zeros included, add up exactly in a double: one pass
    let n = 0;
    for (let i = from; i < to; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return -1;
      n = n * 10 + d;
    }
    return n <= max ? n : -1;
  }
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  let i = from;
  while (i < to - 1 && s.charCodeAt(i) === 48) i++;
  if (to - i > 16) return -1;
  let n: number;
  if (to - i <= 15) {
    // up to 15 digits add up exactly in a double
    n = 0;
    for (; i < to; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  } else n = Number(s.slice(i, to));
  return n <= max ? n : -1;
}

/** Undoes `%HH` escapes; anything that is not a full escape is kept literally. */
export function unescapePercent(s: string): string {
  if (s.indexOf('%') === -1) return s;
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) {
      out += Buffer.from(bytes).toString('utf8');
      bytes = [];
    }
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      flush();
      out += s[i];
    }
  }
  flush();
  return out;
}

/** Escapes what may not appear literally in the user part of a SIP URI. */
export function escapeUser(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b < 128 && USER[b] === 1 ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export const isWsp = (c: number): boolean => c === 32 || c === 9;

function isLwsChar(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/**
 * `s` without leading and trailing linear whitespace: SP, HTAB and the CR/LF of a fold
 * (RFC 3261 §25.1 LWS). Unlike String#trim it keeps NBSP, U+3000 and the other Unicode
 * spaces, which SIP's grammar does not treat as whitespace.
 */
export function trimLws(s: string): string {
  let from = 0;
  let to = s.length;
  while (from < to && isLwsChar(s.charCodeAt(from))) from++;
  while (to > from && isLwsChar(s.charCodeAt(to - 1))) to--;
  return from === 0 && to === s.length ? s : s.slice(from, to);
}

/**
 * The last index of the character `c` in s[from, to), or -1. String#lastIndexOf is a slow
 * runtime call in V8; indexOf answers the usual case (none) at once.
 */
export function lastIndexIn(s: string, c: string, from: number, to: number): number {
  const first = s.indexOf(c, from);
  if (first === -1 || first >= to) return -1;
  const code = c.charCodeAt(0);
  for (let i = to - 1; i > first; i--) if (s.charCodeAt(i) === code) return i;
  return first;
}

/** s[from, to) without leading and trailing LWS (as trimLws), sliced once. */
export function sliceLws(s: string, from: number, to: number): string {
  while (from < to && isLwsChar(s.charCodeAt(from))) from++;
  while (to > from && isLwsChar(s.charCodeAt(to - 1))) to--;
  return s.slice(from, to);
}

/** The first index in [from, to) that is not LWS, or `to`. */
export function skipLws(s: string, from: number, to: number): number {
  while (from < to && isLwsChar(s.charCodeAt(from))) from++;
  return from;
}

/** The end of s[from, to) without its trailing LWS. */
export function endOfLws(s: string, from: number, to: number): number {
  while (to > from && isLwsChar(s.charCodeAt(to - 1))) to--;
  return to;
}

export function trimLwsStart(s: string): string {
  let from = 0;
  while (from < s.length && isLwsChar(s.charCodeAt(from))) from++;
  return from === 0 ? s : s.slice(from);
}

export function trimLwsEnd(s: string): string {
  let to = s.length;
  while (to > 0 && isLwsChar(s.charCodeAt(to - 1))) to--;
  return to === s.length ? s : s.slice(0, to);
}
