import { badHeader, HeaderValueError } from './errors.js';
import { endOfLws, indexIn, parseBoundedInt, parseBoundedIntAt, skipLws, trimLws } from './grammar.js';
import { parseCSeq, parseCSeqAt, type CSeq } from './cseq.js';
import { parseNameAddr, parseNameAddrAt, type NameAddr } from './name-addr.js';
import { parseVia, parseViaAt, type Via } from './via.js';
import {
  isCallIdAt, parseCallId, parseContentType, parseDeltaSeconds, parseReplaces, parseSipDate, parseTokenList, parseTokenParams, splitList,
  type DeltaSeconds, type ParamValue, type Replaces,
} from './values.js';

/** Compact forms (RFC 3261 §7.3.3 and the registrations since: r/b RFC 3515/3892, x RFC 4028, ...). */
const COMPACT: Readonly<Record<string, string>> = {
  a: 'accept-contact', b: 'referred-by', c: 'content-type', d: 'request-disposition', e: 'content-encoding',
  f: 'from', i: 'call-id', j: 'reject-contact', k: 'supported', l: 'content-length', m: 'contact',
  n: 'identity-info', o: 'event', r: 'refer-to', s: 'subject', t: 'to', u: 'allow-events', v: 'via',
  x: 'session-expires', y: 'identity',
};

const CANONICAL: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'min-se': 'Min-SE',
  'p-asserted-identity': 'P-Asserted-Identity', 'p-preferred-identity': 'P-Preferred-Identity', 'rseq': 'RSeq',
  'rack': 'RAck', 'mime-version': 'MIME-Version',
};

/** The lower-case long form of a header name: `i` → `call-id`, `Call-Id` → `call-id`. */
export function headerKey(name: string): string {
  // the usual argument is a key already (`h.has('expires')`): no lower-cased copy of it
  if (name.length > 1 && isLowerAscii(name)) return name;
  const lower = name.toLowerCase();
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
}

function isLowerAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return false;
    if (c > 127) return false;
  }
  return true;
}

/**
 * The headers every element reads, which the parser reads at once, in the order it reads them
 * (the first malformed one names the refusal). Each has a slot of its own for its parsed value:
 * a map entry costs more than the parse of a short value.
 */
export const EAGER_HEADERS: readonly string[] = ['via', 'cseq', 'call-id', 'from', 'to', 'max-forwards', 'contact', 'expires', 'date'];
const VIA = 0;
const CSEQ = 1;
const CALL_ID = 2;
const FROM = 3;
const TO = 4;
const MAX_FORWARDS = 5;
const CONTACT = 6;
const EXPIRES = 7;
const DATE = 8;
/** Expires and Date are read at once only when present. */
const READ_WHEN_PRESENT = (1 << EXPIRES) | (1 << DATE);

/** A header name the parser recognises in place: no lower-cased copy, and the same key string for every message. */
export interface KnownHeader {
  /** headerKey of the name. */
  readonly key: string;
  /** The name lower-cased as written: the key, or the compact form's letter. */
  readonly lower: string;
  /** The spelling whose string is reused when the name is written so. */
  readonly spelled: string;
  /** Its place in EAGER_HEADERS, or -1. */
  readonly slot: number;
}

// What trunk traffic carries most, and what the typed accessors read.
const COMMON_HEADERS = [
  'via', 'max-forwards', 'from', 'to', 'call-id', 'cseq', 'contact', 'allow', 'supported', 'require', 'user-agent', 'server',
  'content-type', 'content-length', 'content-disposition', 'record-route', 'route', 'expires', 'date', 'accept', 'allow-events',
  'refer-to', 'referred-by', 'replaces', 'event', 'subscription-state', 'refer-sub', 'session-expires', 'min-se', 'retry-after',
  'reason', 'p-asserted-identity', 'p-preferred-identity', 'privacy', 'diversion', 'unsupported', 'proxy-require', 'rseq', 'rack',
  'authorization', 'proxy-authorization', 'www-authenticate', 'proxy-authenticate', 'mime-version', 'organization', 'timestamp',
  'warning', 'subject', 'priority',
];

/** The known names; matchHeaderName answers with an index into it. */
export const KNOWN_HEADERS: readonly KnownHeader[] = [
  ...COMMON_HEADERS.map((key) => ({ key, lower: key, spelled: canonicalHeaderName(key), slot: EAGER_HEADERS.indexOf(key) })),
  ...Object.entries(COMPACT).map(([letter, key]) => ({ key, lower: letter, spelled: letter, slot: EAGER_HEADERS.indexOf(key) })),
];

/** Where a known name is read from, by its first two characters (lower-cased; the second of a compact name is its `:` or whitespace). */
function startOf(c0: number, c1: number): number {
  return ((c0 | 0x20) << 7) | (c1 | 0x20);
}

/** 1 + the index in KNOWN_BUCKETS of the known names that start so, by startOf; 0 for none. */
const KNOWN_STARTS = new Int16Array(128 * 128);
const KNOWN_BUCKETS: number[][] = [];
/**
 * The characters of every known name, spelled and lower-cased, at KNOWN_AT[id] and
 * KNOWN_AT[id] + its length: read from a typed array, a character costs less than charCodeAt.
 */
const KNOWN_CHARS = new Uint8Array(KNOWN_HEADERS.reduce((n, k) => n + 2 * k.spelled.length, 0));
const KNOWN_AT = new Int32Array(KNOWN_HEADERS.length);
{
  const addStart = (start: number, id: number) => {
    if (KNOWN_STARTS[start] === 0) KNOWN_STARTS[start] = KNOWN_BUCKETS.push([]);
    (KNOWN_BUCKETS[(KNOWN_STARTS[start] as number) - 1] as number[]).push(id);
  };
  let at = 0;
  KNOWN_HEADERS.forEach(({ lower, spelled }, id) => {
    const c0 = lower.charCodeAt(0);
    if (lower.length > 1) addStart(startOf(c0, lower.charCodeAt(1)), id);
    else for (const after of [58, 32, 9]) addStart(startOf(c0, after), id);
    KNOWN_AT[id] = at;
    for (let k = 0; k < spelled.length; k++) {
      KNOWN_CHARS[at + k] = spelled.charCodeAt(k);
      KNOWN_CHARS[at + spelled.length + k] = lower.charCodeAt(k);
    }
    at += 2 * spelled.length;
  });
}

/** Set by matchHeaderName: where the name it matched ends, and where its colon is when that follows at once (else -1). */
export let matchedNameEnd = 0;
export let matchedColon = -1;

/**
 * Which known header name, in any ASCII case, starts at s[from] and is followed by `:`, SP or
 * HTAB before `to`: 1 + its index in KNOWN_HEADERS when spelled as `spelled`, the negative of
 * that when spelled otherwise, 0 for none. A known name is a token: a match needs no other
 * check of its characters. The name ends at `matchedNameEnd`.
 */
export function matchHeaderName(s: string, from: number, to: number): number {
  if (to - from < 2) return 0;
  const c0 = s.charCodeAt(from);
  const c1 = s.charCodeAt(from + 1);
  if (c0 >= 128 || c1 >= 128) return 0;
  const bucket = KNOWN_STARTS[startOf(c0, c1)] as number;
  if (bucket === 0) return 0;
  const ids = KNOWN_BUCKETS[bucket - 1] as number[];
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k] as number;
    const length = (KNOWN_HEADERS[id] as KnownHeader).spelled.length;
    const end = from + length;
    if (end >= to) continue;
    const after = s.charCodeAt(end);
    if (after !== 58 && after !== 32 && after !== 9) continue;
    const spelled = KNOWN_AT[id] as number;
    let i = 0;
    while (i < length && s.charCodeAt(from + i) === KNOWN_CHARS[spelled + i]) i++;
    matchedNameEnd = end;
    matchedColon = after === 58 ? end : -1;
    if (i === length) return id + 1;
    // letters match in either case, anything else only as itself
    const lower = spelled + length;
    for (; i < length; i++) {
      const c = s.charCodeAt(from + i);
      const l = KNOWN_CHARS[lower + i] as number;
      if (c !== l && (l < 97 || (c | 0x20) !== l)) break;
    }
    if (i === length) return -(id + 1);
  }
  return 0;
}

/** The conventional spelling of a header name, e.g. `call-id` → `Call-ID`, `refer-to` → `Refer-To`. */
export function canonicalHeaderName(name: string): string {
  const key = headerKey(name);
  return CANONICAL[key] ?? key.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

export type HeaderInput = string | { toString(): string };

/** The cache key of the Replaces embedded in Refer-To: dropped whenever Refer-To changes. */
const REFER_TO_REPLACES = 'refer-to;replaces';

/** A HeaderValueError met reading `key`, as the SipParseError naming its header (a derived key, `refer-to;replaces`, after the header it reads). */
function namedError(err: unknown, key: string): unknown {
  return err instanceof HeaderValueError ? badHeader(canonicalHeaderName(key.split(';', 1)[0] as string)) : err;
}

// The eager accessors' parsers, declared once rather than as a closure per call.
function parseContact(s: string): NameAddr {
  return parseNameAddr(s);
}

/** The LWS-trimmed decimal s[from, to), no greater than `max`. */
function parseBoundedAt(s: string, from: number, to: number, max: number, what: string): number {
  const a = skipLws(s, from, to);
  const n = parseBoundedIntAt(s, a, endOfLws(s, a, to), max);
  if (n < 0) throw new HeaderValueError(`bad ${what}`);
  return n;
}

function parseMaxForwards(s: string): number {
  const n = parseBoundedInt(trimLws(s), 255);
  if (n < 0) throw new HeaderValueError('bad Max-Forwards');
  return n;
}

function parseExpires(s: string): number {
  const n = parseBoundedInt(trimLws(s), 0xffff_ffff);
  if (n < 0) throw new HeaderValueError('bad Expires');
  return n;
}

/** Every value of the lines of `key` among keys[from, to), in order. */
function parseLines<T>(keys: readonly string[], values: readonly string[], key: string, from: number, to: number, parse: (s: string) => T): T[] {
  const out: T[] = [];
  for (let i = from; i < to; i++) {
    if (keys[i] !== key) continue;
    for (const part of splitList(values[i] as string)) out.push(parse(part));
  }
  return out;
}

/** The first of the lines of `key` among keys[from, to), each of which must parse. */
function parseSingle<T>(keys: readonly string[], values: readonly string[], key: string, from: number, to: number, parse: (s: string) => T): T | undefined {
  let first: T | undefined;
  let found = false;
  for (let i = from; i < to; i++) {
    if (keys[i] !== key) continue;
    const value = parse(values[i] as string);
    if (!found) {
      first = value;
      found = true;
    }
  }
  return first;
}

/** A slot for each of EAGER_HEADERS (a literal: Array#fill is a call into the runtime). */
function emptySlots(): unknown[] {
  return [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
}

/** The parsers of the single-valued EAGER_HEADERS, by slot. */
const SINGLE_PARSERS: readonly (((s: string) => unknown) | undefined)[] = [
  undefined, parseCSeq, parseCallId, parseNameAddr, parseNameAddr, parseMaxForwards, undefined, parseExpires, parseSipDate,
];

/**
 * Typed accessors return the cached parse: list values are `readonly` so no caller can
 * change what every later read returns (copy before reordering, e.g. a route set).
 *
 * The header fields of a message in the order received, names as written, folded lines
 * joined. Typed accessors parse on first use and cache; a malformed value throws a
 * `SipParseError` naming the header (`400 Bad Refer-To`).
 */
export class Headers {
  private names: string[];
  private keys: string[];
  private values: string[];
  private cache: Map<string, unknown> | undefined;
  /** The parsed values of EAGER_HEADERS by slot, valid where `slotsRead` has the slot's bit. */
  private slots: unknown[] | undefined;
  private slotsRead = 0;

  constructor(entries?: Iterable<readonly [string, HeaderInput]>) {
    this.names = [];
    this.keys = [];
    this.values = [];
    if (entries !== undefined) for (const [name, value] of entries) this.add(name, value);
  }

  /** @internal Adopts arrays built by the parser without copying. */
  static adopt(names: string[], keys: string[], values: string[]): Headers {
    const h = new Headers();
    h.names = names;
    h.keys = keys;
    h.values = values;
    return h;
  }

  get size(): number {
    return this.names.length;
  }

  /** `[name as written, value]` pairs in order. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (let i = 0; i < this.names.length; i++) yield [this.names[i] as string, this.values[i] as string];
  }

  /** Calls `fn` for every header in order, without the iterator's allocations. */
  forEachEntry(fn: (name: string, value: string, key: string) => void): void {
    for (let i = 0; i < this.names.length; i++) fn(this.names[i] as string, this.values[i] as string, this.keys[i] as string);
  }

  has(name: string): boolean {
    return this.keys.indexOf(headerKey(name)) !== -1;
  }

  /** The first value of `name` as written. */
  get(name: string): string | undefined {
    const i = this.keys.indexOf(headerKey(name));
    return i === -1 ? undefined : this.values[i];
  }

  /** Every line of `name` as written (a line may hold several comma-separated values). */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === key) out.push(this.values[i] as string);
    return out;
  }

  count(name: string): number {
    const key = headerKey(name);
    let n = 0;
    for (const k of this.keys) if (k === key) n++;
    return n;
  }

  add(name: string, value: HeaderInput): this {
    const key = headerKey(name);
    this.names.push(name.length === 1 || name === key ? canonicalHeaderName(name) : name);
    this.keys.push(key);
    this.values.push(String(value));
    this.forget(key);
    return this;
  }

  /** Inserts before every other header of the same name, or first when there is none (Via, Record-Route). */
  prepend(name: string, value: HeaderInput): this {
    const key = headerKey(name);
    let i = this.keys.indexOf(key);
    if (i === -1) i = 0;
    this.names.splice(i, 0, name.length === 1 || name === key ? canonicalHeaderName(name) : name);
    this.keys.splice(i, 0, key);
    this.values.splice(i, 0, String(value));
    this.forget(key);
    return this;
  }

  /** Replaces every line of `name` by `values`, where the first one stood (or at the end). */
  set(name: string, value: HeaderInput | readonly HeaderInput[]): this {
    const key = headerKey(name);
    const list = Array.isArray(value) ? (value as readonly HeaderInput[]) : [value as HeaderInput];
    let at = this.keys.indexOf(key);
    this.remove(name);
    if (at === -1 || at > this.keys.length) at = this.keys.length;
    const spelled = name.length === 1 || name === key ? canonicalHeaderName(name) : name;
    this.names.splice(at, 0, ...list.map(() => spelled));
    this.keys.splice(at, 0, ...list.map(() => key));
    this.values.splice(at, 0, ...list.map(String));
    this.forget(key);
    return this;
  }

  /** Removes every line of `name`; returns how many there were. */
  remove(name: string): number {
    const key = headerKey(name);
    let removed = 0;
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (this.keys[i] === key) {
        this.names.splice(i, 1);
        this.keys.splice(i, 1);
        this.values.splice(i, 1);
        removed++;
      }
    }
    if (removed > 0) this.forget(key);
    return removed;
  }

  /** Removes the first value of a list header (the top Via, say), keeping the rest of its line. */
  removeFirstValue(name: string): void {
    const key = headerKey(name);
    const i = this.keys.indexOf(key);
    if (i === -1) return;
    const parts = splitList(this.values[i] as string);
    if (parts.length <= 1) {
      this.names.splice(i, 1);
      this.keys.splice(i, 1);
      this.values.splice(i, 1);
    } else this.values[i] = parts.slice(1).map((p) => p.trim()).join(', ');
    this.forget(key);
  }

  /** Drops the values parsed from `key`, and those derived from it (the Replaces inside a Refer-To). */
  private forget(key: string): void {
    if (this.slotsRead !== 0) {
      const slot = EAGER_HEADERS.indexOf(key);
      if (slot !== -1) this.slotsRead &= ~(1 << slot);
    }
    if (this.cache === undefined) return;
    this.cache.delete(key);
    if (key === 'refer-to') this.cache.delete(REFER_TO_REPLACES);
  }

  clone(): Headers {
    return Headers.adopt(this.names.slice(), this.keys.slice(), this.values.slice());
  }

  /** Parses (once) the value of `key` with `parse`, naming the header in the error. */
  typed<T>(key: string, parse: (lines: string[]) => T): T {
    const cached = this.cache?.get(key);
    if (cached !== undefined || this.cache?.has(key)) return cached as T;
    const lines: string[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === key) lines.push(this.values[i] as string);
    let value: T;
    try {
      value = parse(lines);
    } catch (err) {
      // a derived key (`refer-to;replaces`) is named after the header it reads
      if (err instanceof HeaderValueError) throw badHeader(canonicalHeaderName(key.split(';', 1)[0] as string));
      throw err;
    }
    (this.cache ??= new Map()).set(key, value);
    return value;
  }

  /**
   * @internal The parser's read of EAGER_HEADERS, in their order: `first[slot]` is the index
   * of the slot's first line and `count[slot]` how many lines it has, so no line is looked up by
   * name. A header of one line is read where the parser found its value, head[from[slot],
   * to[slot]) (-1 when that is not its value: a folded line), rather than from its copy: the
   * header section is one flat string, read faster than the slices of it.
   */
  readEager(first: Int32Array, count: Int32Array, head: string, from: Int32Array, to: Int32Array): void {
    for (let slot = 0; slot < EAGER_HEADERS.length; slot++) {
      const lines = count[slot] as number;
      if (lines === 0 && ((READ_WHEN_PRESENT >> slot) & 1) === 1) continue;
      const at = from[slot] as number;
      if (lines === 1 && at !== -1) this.readSlotAt(slot, first[slot] as number, head, at, to[slot] as number);
      else this.readSlot(slot, first[slot] as number, lines);
    }
  }

  /** readSlot of the one line `line` of EAGER_HEADERS[slot], whose value is s[from, to). */
  private readSlotAt(slot: number, line: number, s: string, from: number, to: number): void {
    let value: unknown;
    try {
      switch (slot) {
        case VIA:
        case CONTACT: {
          // Several values: splitList reads the copy. Without a comma, splitList would refuse only
          // an unterminated quoted string, which parseViaAt and parseNameAddrAt refuse too.
          if (indexIn(s, ',', from, to) !== -1) {
            this.readSlot(slot, line, 1);
            return;
          }
          const a = skipLws(s, from, to);
          const b = endOfLws(s, a, to);
          // `Contact: *` (a REGISTER's) stands for no contact
          if (a === b || (slot === CONTACT && b - a === 1 && s.charCodeAt(a) === 42)) value = [];
          else value = [slot === VIA ? parseViaAt(s, from, to) : parseNameAddrAt(s, from, to, false)];
          break;
        }
        case CSEQ:
          value = parseCSeqAt(s, from, to);
          break;
        case CALL_ID: {
          const a = skipLws(s, from, to);
          const b = endOfLws(s, a, to);
          if (!isCallIdAt(s, a, b)) throw new HeaderValueError('bad Call-ID');
          // the line's own string when the value needs no trimming
          value = a === from && b === to ? this.values[line] : s.slice(a, b);
          break;
        }
        case FROM:
        case TO:
          value = parseNameAddrAt(s, from, to, false);
          break;
        case MAX_FORWARDS:
          value = parseBoundedAt(s, from, to, 255, 'Max-Forwards');
          break;
        case EXPIRES:
          value = parseBoundedAt(s, from, to, 0xffff_ffff, 'Expires');
          break;
        default:
          value = parseSipDate(this.values[line] as string);
      }
    } catch (err) {
      throw namedError(err, EAGER_HEADERS[slot] as string);
    }
    (this.slots ??= emptySlots())[slot] = value;
    this.slotsRead |= 1 << slot;
  }

  /** The value of an eager header's slot, parsed on first use. */
  private slot(slot: number): unknown {
    if (((this.slotsRead >> slot) & 1) === 1) return (this.slots as unknown[])[slot];
    return this.readSlot(slot, 0, -1);
  }

  /**
   * Parses the lines of EAGER_HEADERS[slot] into its slot: `lines` of them from index `first`
   * on, or (when `lines` is -1) wherever they are. A single-valued header: every line must parse
   * (a repeat is validateMessage's to refuse), the first wins. A list header: every value, in order.
   */
  private readSlot(slot: number, first: number, lines: number): unknown {
    const key = EAGER_HEADERS[slot] as string;
    const keys = this.keys;
    const values = this.values;
    let end = keys.length;
    if (lines === 0) end = first = 0;
    else if (lines === 1) end = first + 1;
    let value: unknown;
    try {
      switch (slot) {
        case VIA:
          value = parseLines(keys, values, key, first, end, parseVia);
          break;
        case CONTACT: {
          // `Contact: *` (a REGISTER's) stands for no contact
          const only = lines === -1 ? this.onlyLine(key) : lines === 1 ? first : -1;
          value = only !== -1 && trimLws(values[only] as string) === '*' ? [] : parseLines(keys, values, key, first, end, parseContact);
          break;
        }
        default:
          value = parseSingle(keys, values, key, first, end, SINGLE_PARSERS[slot] as (s: string) => unknown);
      }
    } catch (err) {
      throw namedError(err, key);
    }
    (this.slots ??= emptySlots())[slot] = value;
    this.slotsRead |= 1 << slot;
    return value;
  }

  /** The index of the only line of `key`, or -1 when it has none or several. */
  private onlyLine(key: string): number {
    let at = -1;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] !== key) continue;
      if (at !== -1) return -1;
      at = i;
    }
    return at;
  }

  /**
   * A single-valued header: every line must parse (a repeat is validateMessage's to refuse); the first wins.
   * What `typed(key, ...)` does, without a closure and a list of lines per call.
   */
  private single<T>(key: string, parse: (s: string) => T): T | undefined {
    const cache = this.cache;
    if (cache !== undefined) {
      const cached = cache.get(key);
      if (cached !== undefined || cache.has(key)) return cached as T | undefined;
    }
    let first: T | undefined;
    try {
      first = parseSingle(this.keys, this.values, key, 0, this.keys.length, parse);
    } catch (err) {
      throw namedError(err, key);
    }
    (this.cache ??= new Map()).set(key, first);
    return first;
  }

  /** Every value of a list header, in order (as `typed(key, (lines) => listOf(lines, parse))`). */
  private list<T>(key: string, parse: (s: string) => T): T[] {
    const cache = this.cache;
    if (cache !== undefined) {
      const cached = cache.get(key);
      if (cached !== undefined || cache.has(key)) return cached as T[];
    }
    let out: T[];
    try {
      out = parseLines(this.keys, this.values, key, 0, this.keys.length, parse);
    } catch (err) {
      throw namedError(err, key);
    }
    (this.cache ??= new Map()).set(key, out);
    return out;
  }

  get via(): readonly Via[] {
    return this.slot(VIA) as readonly Via[];
  }
  get topVia(): Via | undefined {
    return this.via[0];
  }
  get from(): NameAddr | undefined {
    return this.slot(FROM) as NameAddr | undefined;
  }
  get to(): NameAddr | undefined {
    return this.slot(TO) as NameAddr | undefined;
  }
  get callId(): string | undefined {
    return this.slot(CALL_ID) as string | undefined;
  }
  get cseq(): CSeq | undefined {
    return this.slot(CSEQ) as CSeq | undefined;
  }
  /** Contact values; empty for none and for the `*` of a REGISTER (see `isWildcardContact`). */
  get contact(): readonly NameAddr[] {
    return this.slot(CONTACT) as readonly NameAddr[];
  }
  get isWildcardContact(): boolean {
    const all = this.getAll('contact');
    return all.length === 1 && trimLws(all[0] as string) === '*';
  }
  get maxForwards(): number | undefined {
    return this.slot(MAX_FORWARDS) as number | undefined;
  }
  get expires(): number | undefined {
    return this.slot(EXPIRES) as number | undefined;
  }
  /** Date (RFC 3261 §20.17) as epoch milliseconds; only GMT dates are well formed. */
  get date(): number | undefined {
    return this.slot(DATE) as number | undefined;
  }
  get route(): readonly NameAddr[] {
    return this.list('route', (s) => parseNameAddr(s, true));
  }
  get recordRoute(): readonly NameAddr[] {
    return this.list('record-route', (s) => parseNameAddr(s, true));
  }
  get contentType(): ParamValue | undefined {
    return this.single('content-type', parseContentType);
  }
  get contentLength(): number | undefined {
    return this.single('content-length', (s) => {
      const n = parseBoundedInt(trimLws(s), Number.MAX_SAFE_INTEGER);
      if (n < 0) throw new HeaderValueError('bad Content-Length');
      return n;
    });
  }
  /** Refer-To (RFC 3515 §2.1); an embedded Replaces is `referTo.uri.header('Replaces')`, see `referToReplaces`. */
  get referTo(): NameAddr | undefined {
    return this.single('refer-to', parseNameAddr);
  }
  /** The Replaces carried in the Refer-To URI's headers (RFC 3891 §7), if any. */
  get referToReplaces(): Replaces | undefined {
    return this.typed(REFER_TO_REPLACES, () => {
      const uri = this.referTo?.uri;
      const text = uri !== undefined && 'header' in uri ? uri.header('Replaces') : undefined;
      return text === undefined ? undefined : parseReplaces(text);
    });
  }
  get referredBy(): NameAddr | undefined {
    return this.single('referred-by', parseNameAddr);
  }
  get replaces(): Replaces | undefined {
    return this.single('replaces', parseReplaces);
  }
  get event(): ParamValue | undefined {
    return this.single('event', parseTokenParams);
  }
  get subscriptionState(): ParamValue | undefined {
    return this.single('subscription-state', parseTokenParams);
  }
  /** Refer-Sub (RFC 4488 §4): `false` asks for no implicit subscription. */
  get referSub(): boolean | undefined {
    return this.single('refer-sub', (s) => {
      const v = parseTokenParams(s).value.toLowerCase();
      if (v !== 'true' && v !== 'false') throw new HeaderValueError('bad Refer-Sub');
      return v === 'true';
    });
  }
  get supported(): readonly string[] {
    return this.typed('supported', (lines) => lines.flatMap(parseTokenList));
  }
  get require(): readonly string[] {
    return this.typed('require', (lines) => lines.flatMap(parseTokenList));
  }
  get allow(): readonly string[] {
    return this.typed('allow', (lines) => lines.flatMap(parseTokenList));
  }
  get sessionExpires(): DeltaSeconds | undefined {
    return this.single('session-expires', parseDeltaSeconds);
  }
  get minSE(): DeltaSeconds | undefined {
    return this.single('min-se', parseDeltaSeconds);
  }
  get retryAfter(): DeltaSeconds | undefined {
    return this.single('retry-after', parseDeltaSeconds);
  }
  get reason(): readonly ParamValue[] {
    return this.list('reason', parseTokenParams);
  }
  get pAssertedIdentity(): readonly NameAddr[] {
    return this.list('p-asserted-identity', (s) => parseNameAddr(s));
  }
  /** Diversion (RFC 5806), newest first. */
  get diversion(): readonly NameAddr[] {
    return this.list('diversion', (s) => parseNameAddr(s));
  }
}

