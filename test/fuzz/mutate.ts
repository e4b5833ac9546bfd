// Seeded, dependency-free mutation of valid SIP messages. Every mutant is a pure function
// of (seed, index): `generate(seeds, seed, i)` rebuilds iteration i of any run exactly.
//
// Messages are handled as latin1 strings, a lossless one-char-per-byte view of the bytes.
import type { Seed } from './seeds.js';

/** mulberry32: a 32-bit seeded PRNG, small and fast, good enough to drive mutations. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** A uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** A uniform integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.float() * n);
  }
  /** A uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** A well-mixed 32-bit seed for iteration `index` of run `seed` (splitmix-style finaliser). */
export function iterationSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------
// Message anatomy

interface Anatomy {
  /** Start line and header lines, each with its own line end. */
  lines: string[];
  /** The empty line and the body (empty when the message has no empty line). */
  tail: string;
}

/** Index of the empty line that ends the header section (its first char), or -1. */
function headerEnd(s: string): number {
  const crlf = s.indexOf('\r\n\r\n');
  const lf = s.indexOf('\n\n');
  if (crlf === -1) return lf === -1 ? -1 : lf + 1;
  if (lf === -1) return crlf + 2;
  return Math.min(crlf + 2, lf + 1);
}

function dissect(s: string): Anatomy {
  const end = headerEnd(s);
  const head = end === -1 ? s : s.slice(0, end);
  const tail = end === -1 ? '' : s.slice(end);
  const lines: string[] = [];
  let pos = 0;
  while (pos < head.length) {
    let nl = head.indexOf('\n', pos);
    nl = nl === -1 ? head.length : nl + 1;
    lines.push(head.slice(pos, nl));
    pos = nl;
  }
  return { lines, tail };
}

function assemble(a: Anatomy): string {
  return a.lines.join('') + a.tail;
}

function eolOf(line: string): string {
  return line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '';
}

function stripEol(line: string): string {
  return line.slice(0, line.length - eolOf(line).length);
}

/** Length of the header section (where positional mutations mostly land). */
function headLength(s: string): number {
  const end = headerEnd(s);
  return end === -1 ? s.length : end;
}

/** A position to mutate: mostly inside the header section, sometimes anywhere. */
function position(rng: Rng, s: string, inclusiveEnd = false): number {
  const limit = rng.chance(0.85) ? headLength(s) : s.length;
  return rng.int(limit + (inclusiveEnd ? 1 : 0));
}

function insertAt(s: string, at: number, text: string): string {
  return s.slice(0, at) + text + s.slice(at);
}

function replaceAt(s: string, at: number, length: number, text: string): string {
  return s.slice(0, at) + text + s.slice(at + length);
}

/** Header line indexes (the start line excluded), or [] when there are none. */
function headerLineIndexes(a: Anatomy): number[] {
  const out: number[] = [];
  for (let i = 1; i < a.lines.length; i++) out.push(i);
  return out;
}

// ---------------------------------------------------------------------------------------
// Ingredients

const SPECIALS = '<>";,:%\\';
const MORE_SPECIALS = SPECIALS + '=?@&[]/ \t()*+!~\'`{}#$^|';

const INTERESTING_BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x25, 0x2c, 0x3a, 0x3b, 0x3c, 0x3e, 0x3d, 0x40, 0x5c, 0x7f, 0x80, 0xa0, 0xc3, 0xff];

/** Broken UTF-8 (lone continuation, truncated, overlong, surrogate, beyond U+10FFFF) and awkward valid UTF-8. */
const UTF8_SEQUENCES: readonly number[][] = [
  [0x80], [0xbf], [0xc3], [0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe], [0xff], [0xe2, 0x82], [0xf0, 0x9f, 0x98],
  // valid: é, NBSP, NEL, LINE SEPARATOR, BOM, IDEOGRAPHIC SPACE, €, an emoji, KELVIN SIGN, fullwidth colon
  [0xc3, 0xa9], [0xc2, 0xa0], [0xc2, 0x85], [0xe2, 0x80, 0xa8], [0xef, 0xbb, 0xbf], [0xe3, 0x80, 0x80],
  [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xe2, 0x84, 0xaa], [0xef, 0xbc, 0x9a],
];

const HUGE_NUMBERS = [
  '0', '00', '000000000000000000000070', '1', '-1', '+1', '255', '256', '65535', '65536', '2147483647', '2147483648',
  '4294967295', '4294967296', '9007199254740991', '9007199254740993', '99999999999999999999999999999999',
  '1e3', '0x10', '1.5', '١٢٣', '18446744073709551616', '65535000', '699', '700', '099', '1000',
];

const HEADER_NAMES = [
  'Via', 'v', 'From', 'f', 'To', 't', 'Call-ID', 'i', 'CSeq', 'Contact', 'm', 'Content-Length', 'l', 'Max-Forwards',
  'Expires', 'Date', 'Route', 'Record-Route', 'Refer-To', 'r', 'Referred-By', 'b', 'Refer-Sub', 'Replaces', 'Event', 'o',
  'Subscription-State', 'Content-Type', 'c', 'Supported', 'k', 'Require', 'Allow', 'Session-Expires', 'x', 'Min-SE',
  'Retry-After', 'Reason', 'P-Asserted-Identity', 'Diversion', 'X-Custom', 'Accept',
];

const START_LINES = [
  'INVITE sip:bob@biloxi.example SIP/2.0', 'invite sip:bob@biloxi.example sip/2.0', 'INVITE  sip:bob@biloxi.example SIP/2.0',
  'INVITE sip:bob@biloxi.example SIP/2.1', 'INVITE sip:bob@biloxi.example SIP/7.0', 'INVITE sip:bob@biloxi.example',
  'INVITE <sip:bob@biloxi.example> SIP/2.0', 'INVITE tel:+1-415-555-0100 SIP/2.0', 'INVITE tel:5550100 SIP/2.0',
  'OPTIONS * SIP/2.0', 'OPTIONS sip:[::1]:5060 SIP/2.0', 'MESSAGE im:user@host SIP/2.0', 'INV\u00c9TE sip:a@b SIP/2.0',
  'SIP/2.0 200 OK', 'SIP/2.0 200', 'SIP/2.0 200 ', 'SIP/2.0 099 Low', 'SIP/2.0 700 High', 'SIP/2.0 1000 Big', 'SIP/2.0  200 OK',
  'sip/2.0 180 Ringing', 'SIP/2.1 200 OK', 'SIP/2.0 2OO OK', 'SIP/2.0 1e2 Trying', 'SIP/2.0 200 \u00e9t\u00e9', 'SIP/2.0\t200 OK',
  'SIP/ 200 OK', 'SIP/2.0', 'SIP/', 'BYE', ' INVITE sip:a@b SIP/2.0', 'A B C', 'ACK sip:a@b;x=\u0000 SIP/2.0',
];

const FILLERS = ['a', 'x;', 'z9hG4bK', '<', '>', '"', '\\', '\\"', ',', ';', '%', '%2', 'sip:', '@', ' ', '\t', '9', ';a=b', '<sip:a@b>,', '=', '\u00e9'];

/** Some text of about `length` chars built from one filler (often near the parser's line limit). */
function filler(rng: Rng, length: number): string {
  const unit = rng.pick(FILLERS);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

function hugeLength(rng: Rng): number {
  switch (rng.int(4)) {
    case 0:
      return rng.range(8_150, 8_200); // around maxHeaderLineLength
    case 1:
      return rng.range(10_000, 40_000);
    case 2:
      return rng.range(60_000, 70_000); // around maxMessageBytes
    default:
      return rng.range(1_000, 8_000);
  }
}

// ---------------------------------------------------------------------------------------
// Operators

type Operator = (rng: Rng, s: string, donors: readonly string[]) => string;

const flipBits: Operator = (rng, s) => {
  if (s.length === 0) return s;
  for (let k = rng.range(1, 4); k > 0; k--) {
    const at = position(rng, s);
    s = replaceAt(s, at, 1, String.fromCharCode((s.charCodeAt(at) ^ (1 << rng.int(8))) & 0xff));
  }
  return s;
};

const overwriteBytes: Operator = (rng, s) => {
  if (s.length === 0) return s;
  for (let k = rng.range(1, 4); k > 0; k--) {
    const b = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
    s = replaceAt(s, position(rng, s), 1, String.fromCharCode(b));
  }
  return s;
};

const truncate: Operator = (rng, s) => s.slice(0, position(rng, s, true));

const duplicateHeader: Operator = (rng, s) => {
  const a = dissect(s);
  const idx = headerLineIndexes(a);
  if (idx.length === 0) return s;
  const line = a.lines[rng.pick(idx)] as string;
  // many copies (too-many-headers), but not of an already huge line
  const copies = rng.chance(0.1) ? Math.max(1, Math.min(rng.range(2, 300), Math.floor(200_000 / (line.length + 1)))) : 1;
  const at = rng.chance(0.5) ? rng.pick(idx) : rng.range(1, a.lines.length);
  a.lines.splice(at, 0, ...Array.from({ length: copies }, () => (eolOf(line) === '' ? line + '\r\n' : line)));
  return assemble(a);
};

const removeHeader: Operator = (rng, s) => {
  const a = dissect(s);
  const idx = headerLineIndexes(a);
  if (idx.length === 0) return s;
  const i = rng.pick(idx);
  if (rng.chance(0.3)) {
    // every line of that header, under any spelling
    const name = stripEol(a.lines[i] as string).split(':')[0]?.trim().toLowerCase() ?? '';
    a.lines = a.lines.filter((l, j) => j === 0 || stripEol(l).split(':')[0]?.trim().toLowerCase() !== name);
  } else a.lines.splice(i, 1);
  return assemble(a);
};

const hugeValue: Operator = (rng, s) => {
  const a = dissect(s);
  const idx = headerLineIndexes(a);
  const length = hugeLength(rng);
  const text = filler(rng, length);
  const choice = rng.int(4);
  if (choice === 0 || idx.length === 0) {
    // a new header with a huge value
    a.lines.splice(rng.range(1, a.lines.length), 0, `${rng.pick(HEADER_NAMES)}: ${text}\r\n`);
  } else if (choice === 1) {
    // an existing value grown (the parse of a huge Via/From/To/Contact is the interesting part)
    const i = rng.pick(idx);
    const line = a.lines[i] as string;
    const body = stripEol(line);
    const at = rng.range(body.indexOf(':') + 1, body.length);
    a.lines[i] = insertAt(body, at, text) + (eolOf(line) || '\r\n');
  } else if (choice === 2) {
    // many values on one line, or many folded continuation lines
    const i = rng.pick(idx);
    const line = a.lines[i] as string;
    const body = stripEol(line);
    const value = body.slice(body.indexOf(':') + 1);
    const sep = rng.pick([',', ', ', '\r\n ', '\r\n\t', ';', ',,']);
    const times = Math.max(1, Math.floor(length / (value.length + sep.length)));
    a.lines[i] = body + (sep + value).repeat(times) + (eolOf(line) || '\r\n');
  } else {
    // a huge body, with or without a matching Content-Length
    a.tail = (a.tail.startsWith('\r\n') ? '\r\n' : a.tail.startsWith('\n') ? '\n' : '\r\n') + text;
    if (rng.chance(0.5)) {
      for (let i = 1; i < a.lines.length; i++) {
        if (/^(content-length|l)[ \t]*:/i.test(a.lines[i] as string)) a.lines[i] = `Content-Length: ${text.length}\r\n`;
      }
    }
  }
  return assemble(a);
};

const insertNul: Operator = (rng, s) => {
  for (let k = rng.range(1, 3); k > 0; k--) {
    const at = position(rng, s, true);
    s = rng.chance(0.3) ? replaceAt(s, at, 1, '\u0000') : insertAt(s, at, rng.chance(0.3) ? '\\\u0000' : '\u0000');
  }
  return s;
};

const utf8: Operator = (rng, s) => {
  for (let k = rng.range(1, 3); k > 0; k--) {
    s = insertAt(s, position(rng, s, true), String.fromCharCode(...rng.pick(UTF8_SEQUENCES)));
  }
  return s;
};

const lineEnds: Operator = (rng, s) => {
  const crlfs: number[] = [];
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) crlfs.push(i);
  const at = crlfs.length === 0 ? position(rng, s, true) : rng.pick(crlfs);
  const cr = at > 0 && s.charCodeAt(at - 1) === 13;
  switch (rng.int(10)) {
    case 0:
      return rng.chance(0.5) ? s.replace(/\r\n/g, '\n') : s.replace(/\r?\n/g, '\r\n');
    case 1: // this line end to a bare LF, or a bare CR
      return cr ? replaceAt(s, at - 1, 2, rng.chance(0.7) ? '\n' : '\r') : replaceAt(s, at, 1, '\r\n');
    case 2: // an empty line
      return insertAt(s, at + 1, rng.chance(0.5) ? '\r\n' : '\n');
    case 3: // two lines joined
      return cr ? replaceAt(s, at - 1, 2, '') : replaceAt(s, at, 1, '');
    case 4: // CR and LF swapped
      return cr ? replaceAt(s, at - 1, 2, '\n\r') : insertAt(s, at + 1, '\r');
    case 5: // a bare CR
      return insertAt(s, position(rng, s, true), '\r');
    case 6: { // a fold: line end followed by whitespace, where a space was
      const sp = s.indexOf(' ', position(rng, s));
      return sp === -1 ? s : replaceAt(s, sp, 1, rng.pick(['\r\n ', '\r\n\t', '\n ', '\r\n  \t', '\r\n \r\n ', '\r\n']));
    }
    case 7: // leading line ends, or leading whitespace
      return rng.pick(['\r\n', '\r\n\r\n', '\n', ' ', '\t', '\r']) + s;
    case 8: // trailing bytes after the body
      return s + rng.pick(['\r\n', '\r\n\r\n', 'garbage', 'INVITE sip:a@b SIP/2.0\r\n\r\n', '\u0000']);
    default: // the empty line that ends the header section removed
      return s.replace(rng.chance(0.5) ? '\r\n\r\n' : '\n\n', rng.chance(0.5) ? '\r\n' : '');
  }
};

const specials: Operator = (rng, s) => {
  const set = rng.chance(0.7) ? SPECIALS : MORE_SPECIALS;
  for (let k = rng.range(1, 5); k > 0; k--) {
    const text = rng.chance(0.8) ? rng.pick([...set]) : rng.pick([...set]).repeat(rng.range(2, 6));
    s = rng.chance(0.8) ? insertAt(s, position(rng, s, true), text) : replaceAt(s, position(rng, s), 1, text);
  }
  return s;
};

const numbers: Operator = (rng, s) => {
  const head = headLength(s);
  const runs: [number, number][] = [];
  const re = /\d+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null && m.index < head) runs.push([m.index, m[0].length]);
  if (runs.length === 0) return s;
  const [at, length] = rng.pick(runs);
  return replaceAt(s, at, length, rng.pick(HUGE_NUMBERS));
};

const renameHeader: Operator = (rng, s) => {
  const a = dissect(s);
  const idx = headerLineIndexes(a);
  if (idx.length === 0) return s;
  const i = rng.pick(idx);
  const line = a.lines[i] as string;
  const colon = line.indexOf(':');
  if (colon === -1) return s;
  let name = rng.pick(HEADER_NAMES);
  if (rng.chance(0.3)) name = [...name].map((c) => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
  if (rng.chance(0.1)) name = name + rng.pick([' ', '\t', ' \t ']);
  a.lines[i] = name + line.slice(colon);
  return assemble(a);
};

const spliceFromDonor: Operator = (rng, s, donors) => {
  const donor = dissect(rng.pick(donors));
  const idx = headerLineIndexes(donor);
  if (idx.length === 0) return s;
  const a = dissect(s);
  const line = donor.lines[rng.pick(idx)] as string;
  const at = rng.range(1, a.lines.length);
  if (rng.chance(0.5) && at < a.lines.length) a.lines[at] = line;
  else a.lines.splice(at, 0, line);
  return assemble(a);
};

const startLine: Operator = (rng, s, donors) => {
  const a = dissect(s);
  const eol = eolOf(a.lines[0] ?? '') || '\r\n';
  const donorLine = stripEol(dissect(rng.pick(donors)).lines[0] ?? '');
  a.lines[0] = (rng.chance(0.5) ? rng.pick(START_LINES) : donorLine) + eol;
  return assemble(a);
};

const contentLength: Operator = (rng, s) => {
  const a = dissect(s);
  const bodyLength = Math.max(0, a.tail.length - (a.tail.startsWith('\r\n') ? 2 : 1));
  const value = rng.pick([
    String(bodyLength + rng.range(-3, 3)), String(rng.int(100_000)), '', ' ', '-0', `0${bodyLength}`, `${bodyLength} ${bodyLength}`,
    `${bodyLength}, ${bodyLength}`, '99999999999999999999', `\t${bodyLength}\t`, `${bodyLength};x`,
  ]);
  const name = rng.pick(['Content-Length', 'l', 'content-length', 'CONTENT-LENGTH']);
  const lines = headerLineIndexes(a).filter((i) => /^(content-length|l)[ \t]*:/i.test(a.lines[i] as string));
  const line = `${name}: ${value}\r\n`;
  if (lines.length > 0 && rng.chance(0.7)) a.lines[rng.pick(lines)] = line;
  else a.lines.splice(rng.range(1, a.lines.length), 0, line);
  return assemble(a);
};

const swapLines: Operator = (rng, s) => {
  const a = dissect(s);
  const idx = headerLineIndexes(a);
  if (idx.length < 2) return s;
  const i = rng.pick(idx);
  const j = rng.pick(idx);
  const li = a.lines[i] as string;
  a.lines[i] = a.lines[j] as string;
  a.lines[j] = li;
  return assemble(a);
};

const whitespace: Operator = (rng, s) => {
  const head = headLength(s);
  const spots: number[] = [];
  for (let i = 0; i < head; i++) {
    const c = s.charCodeAt(i);
    if (c === 58 || c === 59 || c === 61 || c === 47 || c === 44 || c === 60 || c === 62 || c === 64 || c === 32) spots.push(i);
  }
  if (spots.length === 0) return s;
  const at = rng.pick(spots) + (rng.chance(0.5) ? 1 : 0);
  return insertAt(s, at, rng.pick([' ', '\t', '  ', ' \t', '\r\n ']));
};

const changeCase: Operator = (rng, s) => {
  const at = position(rng, s);
  const length = rng.range(1, 40);
  const part = s.slice(at, at + length);
  return replaceAt(s, at, part.length, rng.chance(0.5) ? part.toUpperCase() : part.toLowerCase());
};

const deleteRange: Operator = (rng, s) => {
  const at = position(rng, s);
  return replaceAt(s, at, rng.range(1, 16), '');
};

/**
 * Characters whose Unicode case mapping lands on ASCII (ſ→S, ı→I, K→k, ﬀ→FF), as UTF-8 in
 * latin1: a parser that folds case with toUpperCase/toLowerCase rather than ASCII accepts `ſıp/2.0`.
 */
const CONFUSABLES = new Map<string, string>([
  ['s', '\u00c5\u00bf'], ['S', '\u00c5\u00bf'], ['i', '\u00c4\u00b1'], ['I', '\u00c4\u00b1'],
  ['k', '\u00e2\u0084\u00aa'], ['K', '\u00e2\u0084\u00aa'], ['f', '\u00ef\u00ac\u0080'], ['F', '\u00ef\u00ac\u0080'],
]);

const confusable: Operator = (rng, s) => {
  const head = headLength(s);
  const lineEnd = s.indexOf('\n');
  const all: number[] = [];
  const startLine: number[] = [];
  for (let i = 0; i < head; i++) {
    if (!CONFUSABLES.has(s[i] as string)) continue;
    all.push(i);
    if (i < lineEnd) startLine.push(i);
  }
  if (all.length === 0) return s;
  // mostly in the start line, where a version or a scheme is compared
  const at = rng.chance(0.6) && startLine.length > 0 ? rng.pick(startLine) : rng.pick(all);
  return replaceAt(s, at, 1, CONFUSABLES.get(s[at] as string) as string);
};

const duplicateRange: Operator = (rng, s) => {
  const at = position(rng, s);
  const part = s.slice(at, at + rng.range(1, 32));
  return insertAt(s, position(rng, s, true), part.repeat(rng.chance(0.9) ? 1 : rng.range(2, 200)));
};

/** The operators, with their weights. */
export const OPERATORS: readonly (readonly [name: string, weight: number, op: Operator])[] = [
  ['flip-bits', 8, flipBits],
  ['overwrite-bytes', 8, overwriteBytes],
  ['truncate', 4, truncate],
  ['duplicate-header', 6, duplicateHeader],
  ['remove-header', 6, removeHeader],
  ['huge-value', 3, hugeValue],
  ['insert-nul', 4, insertNul],
  ['utf8', 6, utf8],
  ['line-ends', 8, lineEnds],
  ['specials', 10, specials],
  ['numbers', 6, numbers],
  ['rename-header', 6, renameHeader],
  ['splice-donor', 6, spliceFromDonor],
  ['start-line', 3, startLine],
  ['content-length', 4, contentLength],
  ['swap-lines', 3, swapLines],
  ['whitespace', 6, whitespace],
  ['change-case', 3, changeCase],
  ['delete-range', 4, deleteRange],
  ['duplicate-range', 4, duplicateRange],
  ['confusable', 2, confusable],
];

const TOTAL_WEIGHT = OPERATORS.reduce((sum, [, w]) => sum + w, 0);

function pickOperator(rng: Rng): (typeof OPERATORS)[number] {
  let r = rng.int(TOTAL_WEIGHT);
  for (const entry of OPERATORS) {
    r -= entry[1];
    if (r < 0) return entry;
  }
  return OPERATORS[0] as (typeof OPERATORS)[number];
}

/** Above this size no more mutations are stacked (the parser refuses 64 KiB + anyway). */
const GROWTH_CAP = 160_000;

export interface Mutant {
  /** Which seed it came from. */
  seed: string;
  /** The operators applied, in order. */
  ops: string[];
  bytes: Buffer;
}

/** Applies 1 to 8 operators (mostly few) to `input`. */
export function mutate(rng: Rng, input: Buffer, donors: readonly string[]): { ops: string[]; bytes: Buffer } {
  let s = input.toString('latin1');
  const ops: string[] = [];
  // repeated mutations: 1 (50%), 2 (25%), ... up to 8
  let rounds = 1;
  while (rounds < 8 && rng.chance(0.5)) rounds++;
  for (let r = 0; r < rounds && s.length < GROWTH_CAP; r++) {
    const [name, , op] = pickOperator(rng);
    s = op(rng, s, donors);
    ops.push(name);
  }
  return { ops, bytes: Buffer.from(s, 'latin1') };
}

/** Mutant number `index` of the run seeded with `seed`; the first iterations are the seeds themselves. */
export class MutantSource {
  private readonly donors: readonly string[];
  constructor(readonly seeds: readonly Seed[]) {
    if (seeds.length === 0) throw new Error('no seeds');
    this.donors = seeds.map((s) => s.bytes.toString('latin1'));
  }

  generate(seed: number, index: number): Mutant {
    if (index < this.seeds.length) {
      const s = this.seeds[index] as Seed;
      return { seed: s.name, ops: [], bytes: s.bytes };
    }
    const rng = new Rng(iterationSeed(seed, index));
    const s = rng.pick(this.seeds);
    const { ops, bytes } = mutate(rng, s.bytes, this.donors);
    return { seed: s.name, ops, bytes };
  }
}
