import { isUtf8 } from 'node:buffer';
import { SipParseError } from './errors.js';
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

function fieldOf(head: string, at: number, length: number): Field {
  const c = head.charCodeAt(at) | 0x20;
  switch (length) {
    case 1:
      return c === 118 ? Field.Via : c === 105 ? Field.CallId : c === 116 ? Field.To : c === 102 ? Field.From : Field.None;
    case 2:
      return c === 116 && nameIs(head, at, 'to') ? Field.To : Field.None;
    case 3:
      return c === 118 && nameIs(head, at, 'via') ? Field.Via : Field.None;
    case 4:
      return c === 102 && nameIs(head, at, 'from') ? Field.From : c === 99 && nameIs(head, at, 'cseq') ? Field.CSeq : Field.None;
    case 7:
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

/** The value of parameter `name` in the `;a=b;c` list of s[from, to). */
function paramIn(s: string, from: number, to: number, name: string): string {
  let i = s.indexOf(';', from);
  while (i !== -1 && i < to) {
    const end = findTopLevel(s, i + 1, to, 59, false);
    const eq = s.indexOf('=', i + 1);
    const nameEnd = eq === -1 || eq > end ? end : eq;
    const n = s.slice(i + 1, nameEnd).trim();
    if (n.length === name.length && n.toLowerCase() === name) {
      return nameEnd === end ? '' : unquote(s.slice(nameEnd + 1, end).trim());
    }
    i = end < to ? end : -1;
  }
  return '';
}

/** The tag of a From/To value, found where parseNameAddr would find its header parameters. */
function tagOf(v: string): string {
  let i = 0;
  while (i < v.length && isWsp(v.charCodeAt(i))) i++;
  let lt = -1;
  if (v.charCodeAt(i) === 34) {
    const end = skipQuoted(v, i);
    if (end === -1) return '';
    lt = v.indexOf('<', end);
  } else {
    const candidate = v.indexOf('<', i);
    const colon = v.indexOf(':', i);
    if (candidate !== -1 && (colon === -1 || colon > candidate)) lt = candidate;
  }
  if (lt !== -1) {
    const gt = v.indexOf('>', lt);
    return gt === -1 ? '' : paramIn(v, gt + 1, v.length, 'tag');
  }
  return paramIn(v, i, v.length, 'tag');
}

function viaBranch(v: string): string {
  const end = findTopLevel(v, 0, v.length, 44, true);
  return paramIn(v, 0, end, 'branch');
}

/**
 * Reads the routing fields of one framed message (a datagram, or a frame cut from a
 * stream). Throws `SipParseError` only when the start line cannot be read.
 */
export function readRoutingFields(data: Uint8Array): RoutingFields {
  const buf = asBuffer(data);
  let start = 0;
  while (start < buf.length && (buf[start] === 13 || buf[start] === 10)) start++;
  let { headEnd } = findHeaderEnd(buf, start);
  if (headEnd === -1) headEnd = buf.length;
  const head = buf.toString('latin1', start, headEnd);

  const out: RoutingFields = {
    kind: 'request', method: '', status: 0, callId: '', branch: '', toTag: '', fromTag: '', cseq: 0, cseqMethod: '',
  };
  let lineEnd = head.indexOf('\n');
  if (lineEnd === -1) lineEnd = head.length;
  const firstSp = head.indexOf(' ');
  if (firstSp <= 0 || firstSp > lineEnd) throw new SipParseError('bad-start-line', 'Bad Request-Line');
  if (firstSp === 7 && nameIs(head, 0, 'sip/2.0')) {
    out.kind = 'response';
    out.status = Number(head.slice(firstSp + 1, firstSp + 4));
    if (!(out.status >= 100 && out.status <= 699)) throw new SipParseError('bad-status-code', 'Bad Status Code');
  } else out.method = head.slice(0, firstSp);

  let seen = 0;
  let pos = lineEnd + 1;
  const n = head.length;
  while (pos < n) {
    let end = head.indexOf('\n', pos);
    if (end === -1) end = n;
    const colon = head.indexOf(':', pos);
    if (colon !== -1 && colon < end && !isWsp(head.charCodeAt(pos))) {
      let nameEnd = colon;
      while (nameEnd > pos && isWsp(head.charCodeAt(nameEnd - 1))) nameEnd--;
      const field = fieldOf(head, pos, nameEnd - pos);
      // like the full parser's accessors, the first header of each kind is the one that counts
      if (field !== Field.None && (seen & (1 << field)) === 0) {
        // the value, with any folded continuation lines joined as the full parser joins them
        let value = head.slice(colon + 1, end > pos && head.charCodeAt(end - 1) === 13 ? end - 1 : end).trim();
        while (end < n && isWsp(head.charCodeAt(end + 1))) {
          let next = head.indexOf('\n', end + 1);
          if (next === -1) next = n;
          const more = head.slice(end + 1, next).trim();
          if (more.length > 0) value += ' ' + more;
          end = next;
        }
        assign(out, field, value);
        seen |= 1 << field;
      }
    }
    pos = end + 1;
  }
  if (out.kind === 'response') out.method = out.cseqMethod;
  if (/[\x80-\xff]/.test(out.callId + out.branch + out.toTag + out.fromTag) && isUtf8(buf.subarray(start, headEnd))) {
    const utf8 = (s: string) => Buffer.from(s, 'latin1').toString('utf8');
    out.callId = utf8(out.callId);
    out.branch = utf8(out.branch);
    out.toTag = utf8(out.toTag);
    out.fromTag = utf8(out.fromTag);
  }
  return out;
}

function assign(out: RoutingFields, field: Field, value: string): void {
  switch (field) {
    case Field.Via:
      out.branch = viaBranch(value);
      return;
    case Field.CallId:
      out.callId = value;
      return;
    case Field.To:
      out.toTag = tagOf(value);
      return;
    case Field.From:
      out.fromTag = tagOf(value);
      return;
    case Field.CSeq: {
      const m = /^(\d+)[ \t]+(\S+)/.exec(value);
      if (m !== null) {
        out.cseq = Number(m[1]);
        out.cseqMethod = m[2] ?? '';
      }
      return;
    }
  }
}
