import { HeaderValueError } from './errors.js';
import { DIGIT_CHAR, isTokenAt, parseBoundedIntAt, spanOf, TOKEN_CHAR } from './grammar.js';

/** CSeq (RFC 3261 §20.16): a sequence number below 2**31 when we send, below 2**32 when we accept. */
export class CSeq {
  constructor(
    readonly seq: number,
    readonly method: string,
  ) {}
  toString(): string {
    return `${this.seq} ${this.method}`;
  }
}

export const MAX_CSEQ = 0xffff_ffff;

function isWsp(c: number): boolean {
  return c === 32 || c === 9;
}

/** `\s` of a regular expression: ASCII and Unicode white space and line terminators. */
function isSpace(c: number): boolean {
  return (
    c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

export function parseCSeq(text: string): CSeq {
  return parseCSeqAt(text, 0, text.length);
}

/** parseCSeq of s[from, to), read in place. */
export function parseCSeqAt(s: string, from: number, to: number): CSeq {
  // the usual `<digits> <token>`: a token is a run of non-space characters, so the general reading agrees
  const digitsEnd = spanOf(s, from, to, DIGIT_CHAR);
  if (digitsEnd > from && digitsEnd + 1 < to && s.charCodeAt(digitsEnd) === 32 && spanOf(s, digitsEnd + 1, to, TOKEN_CHAR) === to) {
    const seq = parseBoundedIntAt(s, from, digitsEnd, MAX_CSEQ);
    if (seq >= 0) return new CSeq(seq, s.slice(digitsEnd + 1, to));
  }
  // /^[ \t]*(\d+)[ \t]+(\S+)[ \t]*$/ read by hand: each part stops where the next must start
  let i = from;
  while (i < to && isWsp(s.charCodeAt(i))) i++;
  const d0 = i;
  while (i < to && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  const d1 = i;
  while (i < to && isWsp(s.charCodeAt(i))) i++;
  const m0 = i;
  while (i < to && !isSpace(s.charCodeAt(i))) i++;
  const m1 = i;
  while (i < to && isWsp(s.charCodeAt(i))) i++;
  if (d1 === d0 || m0 === d1 || m1 === m0 || i !== to) throw new HeaderValueError('bad CSeq');
  const seq = parseBoundedIntAt(s, d0, d1, MAX_CSEQ);
  if (seq < 0 || !isTokenAt(s, m0, m1)) throw new HeaderValueError('bad CSeq');
  return new CSeq(seq, s.slice(m0, m1));
}
