import { isAscii, isUtf8 } from 'node:buffer';
import { SipParseError } from './errors.js';
import type { SipMessage } from './message.js';
import { trimLws } from './grammar.js';
import { asBuffer, findHeaderEnd } from './parser.js';
import { skipQuoted, unquote } from './params.js';

/**
 * What the transport needs to route a message, read without building the model.
 * Absent fields are `''`; agrees with `parseMessage` on every message that parses.
 */
export interface RoutingFields {
  kind: 'request' | 'response';
  /** The request's method; for a response, its CSeq method. */
  method: string;
  /** The status code of a response; 0 for a request. */
  status: number;
  callId: string;
  /** The `branch` of the top Via. */
  branch: string;
  toTag: string;
  fromTag: string;
  cseq: number;
  cseqMethod: string;
}

const enum Field {
  None,
  Via,
  CallId,
  To,
  From,
  CSeq,
}

const ALL_FIELDS = (1 << Field.Via) | (1 << Field.CallId) | (1 << Field.To) | (1 << Field.From) | (1 << Field.CSeq);

function isWsp(c: number): boolean {
  return c === 32 || c === 9;
}

/** Lower-cased comparison of head[at, at + word.length) against `word` (already lower case). */
function nameIs(head: string, at: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    if ((head.charCodeAt(at + i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** ASCII letter `c` in either case, as lower case (other characters come out unchanged or as non-letters). */
function lower(c: number): number {
  return c | 0x20;
}

/** Which routing header head[at, at + length) names (case-insensitive, compact forms included). */
function fieldOf(head: string, at: number, length: number): Field {
  const c = lower(head.charCodeAt(at));
  switch (length) {
    case 1:
      return c === 118 ? Field.Via : c === 105 ? Field.CallId : c === 116 ? Field.To : c === 102 ? Field.From : Field.None;
    case 2: // to
      return c === 116 && lower(head.charCodeAt(at + 1)) === 111 ? Field.To : Field.None;
    case 3: // via
      return c === 118 && lower(head.charCodeAt(at + 1)) === 105 && lower(head.charCodeAt(at + 2)) === 97 ? Field.Via : Field.None;
    case 4: {
      const c1 = lower(head.charCodeAt(at + 1));
      const c2 = lower(head.charCodeAt(at + 2));
      const c3 = lower(head.charCodeAt(at + 3));
      if (c === 102) return c1 === 114 && c2 === 111 && c3 === 109 ? Field.From : Field.None; // from
      if (c === 99) return c1 === 115 && c2 === 101 && c3 === 113 ? Field.CSeq : Field.None; // cseq
      return Field.None;
    }
    case 7: // call-id
      return c === 99 && head.charCodeAt(at + 4) === 45 && nameIs(head, at, 'call-id') ? Field.CallId : Field.None;
    default:
      return Field.None;
  }
}

/** Index of the first `sep` in s[from, to) outside quotes (and `<>` when `brackets`), or `to`. */
function findTopLevel(s: string, from: number, to: number, sep: number, brackets: boolean): number {
  let depth = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      const end = skipQuoted(s, i);
      if (end === -1 || end > to) return to;
      i = end - 1;
    } else if (brackets && c === 60) depth++;
    else if (brackets && c === 62) depth = depth > 0 ? depth - 1 : 0;
    else if (c === sep && depth === 0) return i;
  }
  return to;
}

function isLws(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/**
 * The end of the parameter that starts after the `;` at `semi`: the next `;` outside quotes,
 * or `to` (findTopLevel, read within the parameter rather than searched for beyond it).
 */
function paramEnd(s: string, semi: number, to: number): number {
  for (let i = semi + 1; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 59) return i;
    if (c === 34) return findTopLevel(s, semi + 1, to, 59, false);
  }
  return to;
}

/**
 * The value of parameter `name` (lower case, letters only) in the `;a=b;c` list of s[from, to),
 * as parseParams reads it: a parameter runs to the next `;` outside quotes, its name to its
 * first `=`; the name is LWS-trimmed, the value LWS-trimmed and unquoted. The name is
 * compared in place, so only the parameter sought is read to its end character by character.
 */
function paramIn(s: string, from: number, to: number, name: string): string {
  let i = s.indexOf(';', from);
  while (i !== -1 && i < to) {
    let a = i + 1;
    while (a < to && isLws(s.charCodeAt(a))) a++;
    if (to - a >= name.length && nameIs(s, a, name)) {
      // the name matches if LWS, then '=' or the end of the parameter, follows it
      let b = a + name.length;
      while (b < to && isLws(s.charCodeAt(b))) b++;
      const c = b < to ? s.charCodeAt(b) : 59;
      if (c === 61) return unquote(trimLws(s.slice(b + 1, paramEnd(s, i, to))));
      if (c === 59 && paramEnd(s, i, to) === b) return '';
    }
    const end = paramEnd(s, i, to);
    i = end < to ? end : -1;
  }
  return '';
}

/** `s.indexOf(c, from)` within s[from, to), or -1. */
function indexIn(s: string, c: string, from: number, to: number): number {
  const i = s.indexOf(c, from);
  return i < to ? i : -1;
}

/** The tag of the From/To value s[from, to), found where parseNameAddr would find its header parameters. */
function tagOf(s: string, from: number, to: number): string {
  let i = from;
  while (i < to && isWsp(s.charCodeAt(i))) i++;
  let lt = -1;
  if (i < to && s.charCodeAt(i) === 34) {
    const end = skipQuoted(s, i);
    if (end === -1 || end > to) return '';
    lt = indexIn(s, '<', end, to);
  } else {
    const candidate = indexIn(s, '<', i, to);
    const colon = indexIn(s, ':', i, to);
    if (candidate !== -1 && (colon === -1 || colon > candidate)) lt = candidate;
  }
  if (lt !== -1) {
    const gt = indexIn(s, '>', lt, to);
    return gt === -1 ? '' : paramIn(s, gt + 1, to, 'tag');
  }
  return paramIn(s, i, to, 'tag');
}

function isBlank(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isWsp(s.charCodeAt(i))) return false;
  return true;
}

/**
 * The branch of the first value in the Via value s[from, to), or undefined when it holds
 * none: like the model's `splitList`, empty list elements (`Via: , SIP/2.0/UDP ...`) are skipped.
 */
function viaBranch(s: string, from: number, to: number): string | undefined {
  for (;;) {
    // the end of this value: the next ',' outside quotes and <> (findTopLevel with brackets)
    let end = indexIn(s, ',', from, to);
    if (end === -1) end = to;
    else {
      const quote = indexIn(s, '"', from, end);
      const lt = indexIn(s, '<', from, end);
      if (quote !== -1 || lt !== -1) end = findTopLevel(s, from, to, 44, true);
    }
    if (!isBlank(s, from, end)) return paramIn(s, from, end, 'branch');
    if (end >= to) return undefined;
    from = end + 1;
  }
}

/** Where the first empty line at or after line start `pos` is, or the end of `head`. */
function emptyLine(head: string, pos: number): number {
  const n = head.length;
  while (pos < n) {
    let end = head.indexOf('\n', pos);
    if (end === -1) end = n;
    if (end === pos || (end === pos + 1 && head.charCodeAt(pos) === 13)) return pos;
    pos = end + 1;
  }
  return n;
}

/** True when latin1 text `s` holds a byte above 0x7F (each takes two bytes in UTF-8). */
function hasHighByte(s: string): boolean {
  return Buffer.byteLength(s, 'utf8') !== s.length;
}

/** Messages up to this size are decoded whole and scanned to their empty line; larger ones locate it first. */
const SCAN_WHOLE = 2048;

/**
 * Reads the routing fields of one framed message (a datagram, or a frame cut from a
 * stream). Throws `SipParseError` only when the start line cannot be read.
 */
export function readRoutingFields(data: Uint8Array): RoutingFields {
  const buf = asBuffer(data);
  const total = buf.length;
  let start = 0;
  while (start < total && (buf[start] === 13 || buf[start] === 10)) start++;
  // The header section ends at the first empty line (as findHeaderEnd finds it). A small
  // message is decoded whole and the scan below stops there; a large one is cut first.
  let stop = total;
  if (total - start > SCAN_WHOLE) {
    const { headEnd } = findHeaderEnd(buf, start);
    if (headEnd !== -1) stop = headEnd;
  }
  const head = buf.toString('latin1', start, stop);

  const out: RoutingFields = {
    kind: 'request', method: '', status: 0, callId: '', branch: '', toTag: '', fromTag: '', cseq: 0, cseqMethod: '',
  };
  const n = head.length;
  let lineEnd = head.indexOf('\n');
  if (lineEnd === -1) lineEnd = n;
  const firstSp = head.indexOf(' ');
  if (firstSp <= 0 || firstSp > lineEnd) throw new SipParseError('bad-start-line', 'Bad Request-Line');
  if (firstSp === 7 && nameIs(head, 0, 'sip/2.0')) {
    out.kind = 'response';
    const d0 = head.charCodeAt(8) - 48;
    const d1 = head.charCodeAt(9) - 48;
    const d2 = head.charCodeAt(10) - 48;
    // three digits, the usual case, without a slice; anything else as Number() reads it
    out.status = d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 ? d0 * 100 + d1 * 10 + d2 : Number(head.slice(8, 11));
    const after = head.charCodeAt(11);
    // exactly three digits, then SP or the end of the line (RFC 3261 §7.2)
    if (!(out.status >= 100 && out.status <= 699) || !(after === 32 || after === 13 || after === 10 || Number.isNaN(after))) {
      throw new SipParseError('bad-status-code', 'Bad Status Code');
    }
  } else {
    out.method = head.slice(0, firstSp);
    // a request line ends in the version: refusing others here keeps them from the workers
    const end = lineEnd > 0 && head.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd;
    if (end - firstSp < 9 || head.charCodeAt(end - 8) !== 32 || !nameIs(head, end - 7, 'sip/2.0')) {
      throw /[ ]SIP\/\d+\.\d+$/i.test(head.slice(firstSp, end))
        ? new SipParseError('bad-version', 'Version Not Supported', 505)
        : new SipParseError('bad-start-line', 'Bad Request-Line');
    }
  }

  let seen = 0;
  let headEnd = -1; // where the empty line is, once the scan has reached it
  let pos = lineEnd + 1;
  // the first header of each kind is the one that counts: once all five are read, the rest cannot matter
  while (pos < n && seen !== ALL_FIELDS) {
    let end = head.indexOf('\n', pos);
    if (end === -1) end = n;
    const c0 = head.charCodeAt(pos);
    if (end === pos || (c0 === 13 && end === pos + 1)) {
      headEnd = pos; // the empty line
      break;
    }
    // Only Via/v, From/f, To/t, Call-ID/i and CSeq matter: the name (up to the first ':',
    // less trailing whitespace) is at most 7 characters, so the colon is looked for only there.
    const first = c0 | 0x20;
    if (first === 118 || first === 102 || first === 116 || first === 99 || first === 105) {
      let nameEnd = pos + 1;
      const limit = pos + 8 < end ? pos + 8 : end;
      while (nameEnd < limit && !isWsp(head.charCodeAt(nameEnd)) && head.charCodeAt(nameEnd) !== 58) nameEnd++;
      let colon = nameEnd;
      while (colon < end && isWsp(head.charCodeAt(colon))) colon++;
      const field = colon < end && head.charCodeAt(colon) === 58 ? fieldOf(head, pos, nameEnd - pos) : Field.None;
      // like the full parser's accessors, the first header of each kind is the one that counts
      if (field !== Field.None && (seen & (1 << field)) === 0) {
        // the value, LWS-trimmed; folded continuation lines are joined as the full parser joins them
        let from = colon + 1;
        let to = end;
        while (from < to && isLws(head.charCodeAt(from))) from++;
        while (to > from && isLws(head.charCodeAt(to - 1))) to--;
        let text = head;
        if (end < n && isWsp(head.charCodeAt(end + 1))) {
          let value = head.slice(from, to);
          while (end < n && isWsp(head.charCodeAt(end + 1))) {
            let next = head.indexOf('\n', end + 1);
            if (next === -1) next = n;
            const more = trimLws(head.slice(end + 1, next));
            // an empty first line adds no separator (parser.ts joins `prev.length === 0 ? more : ...`)
            if (more.length > 0) value = value.length === 0 ? more : value + ' ' + more;
            end = next;
          }
          text = value;
          from = 0;
          to = value.length;
        }
        // a Via line without a value leaves the top Via to the next line, as in the model
        if (assign(out, field, text, from, to)) seen |= 1 << field;
      }
    }
    pos = end + 1;
  }
  if (headEnd === -1 && pos >= n) headEnd = n;
  if (out.kind === 'response') out.method = out.cseqMethod;
  if (
    // an ASCII message (the usual case, one native check) holds no byte to re-read as UTF-8
    !isAscii(buf) &&
    hasHighByte(out.callId + out.branch + out.toTag + out.fromTag) &&
    isUtf8(buf.subarray(start, start + (headEnd === -1 ? emptyLine(head, pos) : headEnd)))
  ) {
    const utf8 = (s: string) => Buffer.from(s, 'latin1').toString('utf8');
    out.callId = utf8(out.callId);
    out.branch = utf8(out.branch);
    out.toTag = utf8(out.toTag);
    out.fromTag = utf8(out.fromTag);
  }
  return out;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** `\s` of a regular expression, over latin1. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0;
}

/** Stores what the value s[from, to) says of `field`; false when it says nothing (an empty Via line). */
function assign(out: RoutingFields, field: Field, s: string, from: number, to: number): boolean {
  switch (field) {
    case Field.Via: {
      const branch = viaBranch(s, from, to);
      if (branch === undefined) return false;
      out.branch = branch;
      return true;
    }
    case Field.CallId:
      out.callId = s.slice(from, to);
      return true;
    case Field.To:
      out.toTag = tagOf(s, from, to);
      return true;
    case Field.From:
      out.fromTag = tagOf(s, from, to);
      return true;
    case Field.CSeq: {
      // /^(\d+)[ \t]+(\S+)/ over the value, by hand
      let i = from;
      while (i < to && isDigit(s.charCodeAt(i))) i++;
      let j = i;
      while (j < to && isWsp(s.charCodeAt(j))) j++;
      let k = j;
      while (k < to && !isSpace(s.charCodeAt(k))) k++;
      if (i > from && j > i && k > j) {
        out.cseq = Number(s.slice(from, i));
        out.cseqMethod = s.slice(j, k);
      }
      return true;
    }
    default:
      return true;
  }
}

/**
 * The routing fields of a parsed message, as `readRoutingFields` reads them from its bytes:
 * for a process that parses the message anyway (the transport's requests), and the
 * reference the fast path is tested against.
 */
export function routingFieldsOf(m: SipMessage): RoutingFields {
  const h = m.headers;
  const cseq = h.cseq;
  return {
    kind: m.kind,
    method: m.kind === 'request' ? m.method : (cseq?.method ?? ''),
    status: m.kind === 'response' ? m.status : 0,
    callId: h.callId ?? '',
    branch: h.topVia?.branch ?? '',
    toTag: h.to?.tag ?? '',
    fromTag: h.from?.tag ?? '',
    cseq: cseq?.seq ?? 0,
    cseqMethod: cseq?.method ?? '',
  };
}

/** Whether the bytes start (after RFC 3261 §7.5 leading CRLFs) with a status line. */
export function looksLikeResponse(data: Uint8Array): boolean {
  let i = 0;
  while (i < data.length && (data[i] === 13 || data[i] === 10)) i++;
  // "SIP/" in any case (RFC 3261 §7.1: the version string is case-insensitive)
  return (
    ((data[i] ?? 0) | 0x20) === 0x73 && ((data[i + 1] ?? 0) | 0x20) === 0x69 &&
    ((data[i + 2] ?? 0) | 0x20) === 0x70 && data[i + 3] === 0x2f
  );
}
