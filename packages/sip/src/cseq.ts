import { HeaderValueError } from './errors.js';
import { isToken, parseBoundedInt } from './grammar.js';

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

export function parseCSeq(text: string): CSeq {
  const m = /^[ \t]*(\d+)[ \t]+(\S+)[ \t]*$/.exec(text);
  if (m === null) throw new HeaderValueError('bad CSeq');
  const seq = parseBoundedInt(m[1] ?? '', MAX_CSEQ);
  const method = m[2] ?? '';
  if (seq < 0 || !isToken(method)) throw new HeaderValueError('bad CSeq');
  return new CSeq(seq, method);
}
