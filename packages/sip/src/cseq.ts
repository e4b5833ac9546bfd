import { HeaderValueError } from './errors.js';
import { isToken, parseBoundedIntAt } from './grammar.js';

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
  // /^[ \t]*(\d+)[ \t]+(\S+)[ \t]*$/ read by hand: each part stops where the next must start
  const n = text.length;
  let i = 0;
  while (i < n && isWsp(text.charCodeAt(i))) i++;
  const d0 = i;
  while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  const d1 = i;
  while (i < n && isWsp(text.charCodeAt(i))) i++;
  const m0 = i;
  while (i < n && !isSpace(text.charCodeAt(i))) i++;
  const m1 = i;
  while (i < n && isWsp(text.charCodeAt(i))) i++;
  if (d1 === d0 || m0 === d1 || m1 === m0 || i !== n) throw new HeaderValueError('bad CSeq');
  const seq = parseBoundedIntAt(text, d0, d1, MAX_CSEQ);
  const method = text.slice(m0, m1);
  if (seq < 0 || !isToken(method)) throw new HeaderValueError('bad CSeq');
  return new CSeq(seq, method);
}
