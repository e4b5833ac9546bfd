import { isUtf8 } from 'node:buffer';
import { HeaderValueError, SipParseError } from './errors.js';
import { indexIn, isTokenAt, isWsp, parseBoundedInt, parseBoundedIntAt } from './grammar.js';
import { EAGER_HEADERS, Headers, KNOWN_HEADERS, headerKey, matchedColon, matchedNameEnd, matchHeaderName, type KnownHeader } from './headers.js';
import { DEFAULT_LIMITS, type SipLimits } from './limits.js';
import { SipRequest, SipResponse, type HeaderEncoding, type SipMessage } from './message.js';
import { parseUriAt, type Uri, type UriParseOptions } from './uri.js';

export interface ParseOptions {
  /**
   * `datagram` (UDP, the default): without Content-Length the body is the rest of the
   * datagram, and octets after the body are ignored (RFC 3261 §18.3).
   * `stream` (TCP): the message is already framed and Content-Length is mandatory.
   */
  framing?: 'datagram' | 'stream';
  limits?: Partial<SipLimits>;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');
// What scanHead makes of each byte. Control characters are legal only as quoted-pairs
// (RFC 3261 §25.1); a bare CR never is.
const enum Byte {
  Plain,
  /** %x00-08 / %x0B-0C / %x0E-1F / %x7F */
  Control,
  /** legal only before LF */
  CR,
  /** two in a row end the header section */
  LF,
  /** above 0x7F: the header section may be UTF-8 */
  High,
}
const BYTE_KIND = new Uint8Array(256);
for (let c = 0; c < 32; c++) BYTE_KIND[c] = Byte.Control;
BYTE_KIND[9] = Byte.Plain;
BYTE_KIND[10] = Byte.LF;
BYTE_KIND[13] = Byte.CR;
BYTE_KIND[127] = Byte.Control;
for (let c = 128; c < 256; c++) BYTE_KIND[c] = Byte.High;

export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Where the header section ends and the body starts, or -1s when there is no empty line. */
export function findHeaderEnd(buf: Buffer, from: number): { headEnd: number; bodyStart: number } {
  const crlf = buf.indexOf(CRLFCRLF, from);
  // the first empty line ends the header section: with bare-LF line ends, a CRLFCRLF may be in the body
  const lf = (crlf === -1 ? buf : buf.subarray(0, crlf)).indexOf(LFLF, from);
  if (lf !== -1) return { headEnd: lf + 1, bodyStart: lf + 2 };
  if (crlf !== -1) return { headEnd: crlf + 2, bodyStart: crlf + 4 };
  return { headEnd: -1, bodyStart: -1 };
}

function trimWsp(s: string, from: number, to: number): string {
  while (from < to && (s.charCodeAt(from) === 32 || s.charCodeAt(from) === 9)) from++;
  while (to > from && (s.charCodeAt(to - 1) === 32 || s.charCodeAt(to - 1) === 9)) to--;
  return s.slice(from, to);
}

/** True when the byte at `at` follows an odd run of backslashes since `from` (`\\` is a pair of its own). */
function isEscaped(buf: Buffer, from: number, at: number): boolean {
  let i = at;
  while (i > from && buf[i - 1] === 92) i--;
  return (at - i) % 2 === 1;
}

/** Scratch of parseMessage (never re-entered): where the lines of each EAGER_HEADERS slot start, and how many there are. */
const eagerFirst = new Int32Array(EAGER_HEADERS.length);
const eagerCount = new Int32Array(EAGER_HEADERS.length);
/** Where the value of each slot's first line is in the header section, or -1 once it is folded. */
const eagerFrom = new Int32Array(EAGER_HEADERS.length);
const eagerTo = new Int32Array(EAGER_HEADERS.length);

// What scanHead found besides the end of the header section it returns.
/** Where the body starts. */
let scannedBodyStart = -1;
/** Whether the header section holds a byte above 0x7F. */
let scannedHighBytes = false;
/**
 * The lines of the header section, `scannedLines` of them, without a search for each: at 2k
 * where line k's LF is, at 2k + 1 where its text ends (before a CR).
 */
let scannedLineEnds = new Int32Array(128);
let scannedLines = 0;

/** Notes a line whose LF is at `lf`, `cr` when a CR precedes it. */
function noteLineEnd(lf: number, cr: boolean): void {
  if (2 * scannedLines === scannedLineEnds.length) {
    const more = new Int32Array(4 * scannedLines);
    more.set(scannedLineEnds);
    scannedLineEnds = more;
  }
  scannedLineEnds[2 * scannedLines] = lf;
  scannedLineEnds[2 * scannedLines + 1] = cr ? lf - 1 : lf;
  scannedLines++;
}
/**
 * A line feed at `lf` (`before`: the byte before it): where the header section ends when it
 * closes an empty line, else -1 after noting the line's end.
 */
function atLineFeed(buf: Buffer, lf: number, before: number | undefined): number {
  if (before === 10) {
    // an empty line of bare-LF line ends
    scannedBodyStart = lf + 1;
    return lf;
  }
  if (before === 13 && buf[lf - 2] === 10 && buf[lf - 3] === 13) {
    // CRLFCRLF: the header section keeps the CRLF of its last line
    scannedBodyStart = lf + 1;
    return lf - 1;
  }
  noteLineEnd(lf, before === 13);
  return -1;
}

/** scanHead's answer when it met a character the header section may not hold before any empty line. */
const BAD_CHARACTER = -2;

/**
 * scanHead's look at the bytes buf[i, end) of the header section that starts at `from`, one
 * at a time: returns where an empty line ends the section, BAD_CHARACTER, or -1 to go on.
 */
function scanBytes(buf: Buffer, from: number, i: number, end: number): number {
  for (; i < end; i++) {
    const kind = BYTE_KIND[buf[i] as number];
    if (kind === Byte.Plain) continue;
    if (kind === Byte.LF) {
      const end = atLineFeed(buf, i, buf[i - 1]);
      if (end !== -1) return end;
    } else if (kind === Byte.High) scannedHighBytes = true;
    else if (kind === Byte.CR ? i + 1 >= buf.length || buf[i + 1] !== 10 : !isEscaped(buf, from, i)) return BAD_CHARACTER;
  }
  return -1;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Byte `k` (in memory order) of a word read through an Int32Array. */
function byteOf(word: number, k: number): number {
  return (LITTLE_ENDIAN ? word >>> (k << 3) : word >>> (24 - (k << 3))) & 0xff;
}

/**
 * One pass over the bytes from `from` (not a CR or LF) to the first empty line, which ends the
 * header section: two LFs in a row or a CRLFCRLF, whichever comes first (as findHeaderEnd finds
 * it). Returns where the section ends (`scannedBodyStart`: where the body starts), -1 when no
 * empty line ends it, or BAD_CHARACTER when a control character outside a quoted-pair or a CR
 * not followed by LF comes first. Notes in `scannedHighBytes` a byte above 0x7F. Control
 * characters are ASCII, so bytes stand where characters do under UTF-8 and Latin-1.
 *
 * Four bytes at a time where it can: a word none of whose bytes is below 0x20, 0x7F or above
 * it needs no closer look (bit tricks, exact for "some byte is"); the others, and the
 * unaligned ends, are read a byte at a time. Every line end is such a closer look.
 */
function scanHead(buf: Buffer, from: number): number {
  scannedHighBytes = false;
  scannedLines = 0;
  const to = buf.length;
  const offset = buf.byteOffset;
  let i = from;
  const aligned = from + ((4 - ((offset + from) & 3)) & 3);
  const count = (to - aligned) >> 2;
  if (count >= 16) {
    let end = scanBytes(buf, from, i, aligned);
    if (end !== -1) return end;
    const words = new Int32Array(buf.buffer, offset + aligned, count);
    for (let w = 0; w < count; w++) {
      const x = words[w] as number;
      // a byte above 0x7F has its top bit set, as do 0x7F + 1 and (with a borrow) a byte below
      // 0x20 less 0x20: a carry or borrow between bytes comes only from a byte flagged already
      if (((x | (x + 0x01010101) | (x - 0x20202020)) & 0x80808080) === 0) continue;
      // a line end, the usual closer look, is read from the word; anything else as scanBytes reads it
      const at = aligned + (w << 2);
      for (let k = 0; k < 4; k++) {
        const b = byteOf(x, k);
        if (b >= 0x20 && b < 0x7f) continue;
        if (b === 10) {
          const lf = at + k;
          end = atLineFeed(buf, lf, k > 0 ? byteOf(x, k - 1) : buf[lf - 1]);
          if (end !== -1) return end;
        } else if (b === 13) {
          if ((k < 3 ? byteOf(x, k + 1) : buf[at + 4]) !== 10) return BAD_CHARACTER;
        } else if (b !== 9) {
          end = scanBytes(buf, from, at + k, at + k + 1);
          if (end !== -1) return end;
        }
      }
    }
    i = aligned + (count << 2);
  }
  return scanBytes(buf, from, i, to);
}

/**
 * Whether s[from, from + upper.length) is `upper` (capitals, digits, punctuation) up to ASCII
 * case. ABNF literals are case-insensitive in ASCII only (RFC 5234 §2.3): String#toUpperCase
 * would also fold `ſ` to `S` and `ı` to `I`, and accept `ſıp/2.0` as a version.
 */
function isAsciiCi(s: string, from: number, upper: string): boolean {
  if (s.length - from < upper.length) return false;
  for (let i = 0; i < upper.length; i++) {
    let c = s.charCodeAt(from + i);
    if (c >= 97 && c <= 122) c -= 32;
    if (c !== upper.charCodeAt(i)) return false;
  }
  return true;
}

/** Whether s[from, to) is `SIP/2.0` (in any ASCII case), compared with constants rather than isAsciiCi's second string. */
function isSipVersionAt(s: string, from: number, to: number): boolean {
  return (
    to - from === 7 && (s.charCodeAt(from) | 0x20) === 115 && (s.charCodeAt(from + 1) | 0x20) === 105 &&
    (s.charCodeAt(from + 2) | 0x20) === 112 && s.charCodeAt(from + 3) === 47 && s.charCodeAt(from + 4) === 50 &&
    s.charCodeAt(from + 5) === 46 && s.charCodeAt(from + 6) === 48
  );
}

const REQUEST_URI: UriParseOptions = Object.freeze({ allowHeaders: false });

/** The start line head[from, to), read in place. */
function parseStartLine(head: string, from: number, to: number): { method: string; uri: Uri } | { status: number; reason: string } {
  if (to - from >= 4 && isAsciiCi(head, from, 'SIP/')) {
    const sp1 = indexIn(head, ' ', from, to);
    if (sp1 === -1) throw new SipParseError('bad-start-line', 'Bad Status Line');
    if (!isSipVersionAt(head, from, sp1)) throw new SipParseError('bad-version', 'Version Not Supported', 505);
    let sp2 = indexIn(head, ' ', sp1 + 1, to);
    if (sp2 === -1) sp2 = to;
    const status = sp2 - sp1 === 4 ? parseBoundedIntAt(head, sp1 + 1, sp2, 699) : -1;
    if (status < 100) throw new SipParseError('bad-status-code', 'Bad Status Code');
    return { status, reason: sp2 + 1 >= to ? '' : head.slice(sp2 + 1, to) };
  }
  // Request-Line = Method SP Request-URI SP SIP-Version: exactly one SP between three fields (RFC 4475 §3.1.2.8-10)
  const sp1 = indexIn(head, ' ', from, to);
  const sp2 = sp1 === -1 ? -1 : indexIn(head, ' ', sp1 + 1, to);
  if (sp2 === -1 || indexIn(head, ' ', sp2 + 1, to) !== -1) throw new SipParseError('bad-start-line', 'Bad Request-Line');
  if (!isTokenAt(head, from, sp1)) throw new SipParseError('bad-method', 'Bad Method');
  if (!isSipVersionAt(head, sp2 + 1, to)) {
    if (/^SIP\/\d+\.\d+$/i.test(head.slice(sp2 + 1, to))) throw new SipParseError('bad-version', 'Version Not Supported', 505);
    throw new SipParseError('bad-start-line', 'Bad Request-Line');
  }
  let uri: Uri;
  try {
    uri = parseUriAt(head, sp1 + 1, sp2, REQUEST_URI);
  } catch (err) {
    if (err instanceof HeaderValueError) throw new SipParseError('bad-request-uri', 'Bad Request-URI');
    throw err;
  }
  return { method: head.slice(from, sp1), uri };
}

/**
 * Parses one SIP message. Syntax and framing are checked here, as are the headers every
 * element reads (Via, From, To, Call-ID, CSeq, Max-Forwards, Contact, Expires, Date); the
 * other headers parse when first read. Rules that refuse a well-formed message (a missing
 * Call-ID, say) are `validateMessage`'s.
 */
export function parseMessage(data: Uint8Array, options?: ParseOptions): SipMessage {
  const limits = options?.limits === undefined ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, ...options.limits };
  const stream = options?.framing === 'stream';
  const buf = asBuffer(data);
  if (buf.length > limits.maxMessageBytes) throw new SipParseError('message-too-large', 'Message Too Large', 513);

  // RFC 3261 §7.5: CRLFs before the start-line are ignored
  let start = 0;
  while (start < buf.length && (buf[start] === 13 || buf[start] === 10)) start++;
  if (start === buf.length) throw new SipParseError('bad-start-line', 'Empty Message');

  let headEnd = scanHead(buf, start);
  let bodyStart = scannedBodyStart;
  if (headEnd < 0) {
    // A datagram is its own frame: a header section that ends with the datagram lacks only its empty line
    const unframed = stream || buf[buf.length - 1] !== 10;
    if (headEnd === BAD_CHARACTER) {
      if (unframed && findHeaderEnd(buf, start).headEnd === -1) throw new SipParseError('incomplete-header-section', 'Incomplete Header Section');
      throw new SipParseError('bad-characters', 'Control Character in Header');
    }
    if (unframed) throw new SipParseError('incomplete-header-section', 'Incomplete Header Section');
    headEnd = bodyStart = buf.length;
  }

  // An ASCII header section decodes the same as UTF-8 and as Latin-1
  let headerEncoding: HeaderEncoding = 'utf8';
  let head: string;
  if (!scannedHighBytes) head = buf.toString('latin1', start, headEnd);
  else {
    const headBytes = buf.subarray(start, headEnd);
    if (!isUtf8(headBytes)) headerEncoding = 'latin1';
    head = headBytes.toString(headerEncoding);
    if (headerEncoding === 'utf8') {
      // characters no longer stand where their bytes do: the line ends are found in the text
      scannedLines = 0;
      for (let lf = head.indexOf('\n'); lf !== -1; lf = head.indexOf('\n', lf + 1)) {
        noteLineEnd(start + lf, lf > 0 && head.charCodeAt(lf - 1) === 13);
      }
    }
  }

  const names: string[] = [];
  const keys: string[] = [];
  for (let slot = 0; slot < eagerCount.length; slot++) eagerCount[slot] = 0;
  const values: string[] = [];
  // the start line is head[startFrom, startTo)
  let startFrom = -1;
  let startTo = -1;
  let contentLength = -1;
  let contentLengthAt = -1;
  /** The EAGER_HEADERS slot of the last header line, or -1. */
  let lastSlot = -1;
  let pos = 0;
  const n = head.length;
  const maxLine = limits.maxHeaderLineLength;
  let line = 0;
  while (pos < n) {
    // every line of the header section ends in a noted LF (a section without an empty line ends with one)
    let end = n;
    let lineEnd = n;
    if (line < scannedLines) {
      end = (scannedLineEnds[2 * line] as number) - start;
      lineEnd = (scannedLineEnds[2 * line + 1] as number) - start;
      line++;
    }
    if (lineEnd - pos > maxLine) throw new SipParseError('header-line-too-long', 'Header Line Too Long');
    if (startTo === -1) {
      startFrom = pos;
      startTo = lineEnd;
    } else {
      const c0 = head.charCodeAt(pos);
      if (c0 === 32 || c0 === 9) {
        // RFC 3261 §7.3.1: a continuation line is the previous value, folded
        const last = values.length - 1;
        if (last < 0) throw new SipParseError('bad-header-line', 'Continuation Before Any Header');
        const more = trimWsp(head, pos, lineEnd);
        const prev = values[last] as string;
        const joined = more.length === 0 ? prev : prev.length === 0 ? more : `${prev} ${more}`;
        if (joined.length > maxLine) throw new SipParseError('header-line-too-long', 'Header Line Too Long');
        values[last] = joined;
        // the value is no longer where the line is
        if (lastSlot !== -1 && eagerFirst[lastSlot] === last) eagerFrom[lastSlot] = -1;
      } else {
        // HCOLON = *( SP / HTAB ) ":" SWS. A known name is read up to its colon at once; any
        // other name is what precedes the first colon, less trailing whitespace (a known name
        // would have been read so: a token holds neither whitespace nor a colon). The line does
        // not start with whitespace (it would be a continuation).
        let match = matchHeaderName(head, pos, lineEnd);
        let nameEnd = matchedNameEnd;
        let colon = matchedColon;
        if (match !== 0 && colon === -1) {
          colon = nameEnd;
          while (colon < lineEnd && isWsp(head.charCodeAt(colon))) colon++;
          if (colon === lineEnd || head.charCodeAt(colon) !== 58) match = 0;
        }
        if (match === 0) {
          colon = head.indexOf(':', pos);
          if (colon === -1 || colon >= lineEnd) throw new SipParseError('bad-header-line', 'Malformed Header Line');
          nameEnd = colon;
          while (nameEnd > pos && isWsp(head.charCodeAt(nameEnd - 1))) nameEnd--;
        }
        let valueFrom = colon + 1;
        let valueTo = lineEnd;
        while (valueFrom < valueTo && isWsp(head.charCodeAt(valueFrom))) valueFrom++;
        while (valueTo > valueFrom && isWsp(head.charCodeAt(valueTo - 1))) valueTo--;
        let name: string;
        let key: string;
        lastSlot = -1;
        if (match !== 0) {
          const known = KNOWN_HEADERS[match > 0 ? match - 1 : -match - 1] as KnownHeader;
          if (names.length >= limits.maxHeaders) throw new SipParseError('too-many-headers', 'Too Many Headers');
          key = known.key;
          name = match > 0 ? known.spelled : head.slice(pos, nameEnd);
          const slot = known.slot;
          if (slot !== -1) {
            const seen = eagerCount[slot] as number;
            if (seen === 0) {
              eagerFirst[slot] = names.length;
              eagerFrom[slot] = valueFrom;
              eagerTo[slot] = valueTo;
            }
            eagerCount[slot] = seen + 1;
            lastSlot = slot;
          }
        } else {
          if (!isTokenAt(head, pos, nameEnd)) throw new SipParseError('bad-header-line', 'Bad Header Name');
          if (names.length >= limits.maxHeaders) throw new SipParseError('too-many-headers', 'Too Many Headers');
          name = head.slice(pos, nameEnd);
          key = headerKey(name);
        }
        if (key === 'content-length') {
          if (contentLengthAt !== -1) throw new SipParseError('bad-content-length', 'Multiple Content-Length');
          contentLengthAt = names.length;
        }
        // indexed stores: V8 left Array#push here a call per header
        names[names.length] = name;
        keys[keys.length] = key;
        values[values.length] = head.slice(valueFrom, valueTo);
      }
    }
    pos = end + 1;
  }
  if (startTo === -1) throw new SipParseError('bad-start-line', 'Empty Message');

  if (contentLengthAt !== -1) {
    contentLength = parseBoundedInt(values[contentLengthAt] as string, limits.maxMessageBytes);
    if (contentLength < 0) throw new SipParseError('bad-content-length', 'Bad Content-Length');
  } else if (stream) {
    throw new SipParseError('bad-content-length', 'Missing Content-Length');
  }
  const available = buf.length - bodyStart;
  if (contentLength > available) throw new SipParseError('body-truncated', 'Content-Length Exceeds Body');
  const body = buf.subarray(bodyStart, bodyStart + (contentLength === -1 ? available : contentLength));

  const first = parseStartLine(head, startFrom, startTo);
  const headers = Headers.adopt(names, keys, values);
  const message: SipMessage =
    'method' in first
      ? new SipRequest({ method: first.method, uri: first.uri, headers, body, headerEncoding })
      : new SipResponse({ status: first.status, reason: first.reason, headers, body, headerEncoding });
  // the headers every element reads: malformed ones refuse the message at once
  headers.readEager(eagerFirst, eagerCount, head, eagerFrom, eagerTo);
  return message;
}

const SINGLETONS: readonly (readonly [string, string])[] = [
  ['call-id', 'Call-ID'],
  ['from', 'From'],
  ['to', 'To'],
  ['cseq', 'CSeq'],
];

/**
 * The rules that refuse a well-formed message (RFC 3261 §8.1.1, §8.2.2): Via, From, To,
 * Call-ID and CSeq present, the last four once each; a request's CSeq method its own.
 * Returns the error to answer with (`400 Missing Call-ID`), or undefined.
 */
export function validateMessage(msg: SipMessage): SipParseError | undefined {
  const h = msg.headers;
  for (const [key, label] of SINGLETONS) {
    const count = h.count(key);
    if (count === 0) return new SipParseError('missing-header', `Missing ${label}`, 400, label);
    if (count > 1) return new SipParseError('duplicate-header', `Duplicate ${label}`, 400, label);
  }
  if (h.via.length === 0) return new SipParseError('missing-header', 'Missing Via', 400, 'Via');
  if (h.count('max-forwards') > 1) return new SipParseError('duplicate-header', 'Duplicate Max-Forwards', 400, 'Max-Forwards');
  if (msg.kind === 'request' && h.cseq?.method !== msg.method) {
    return new SipParseError('cseq-method-mismatch', 'CSeq Method Mismatch', 400, 'CSeq');
  }
  return undefined;
}
