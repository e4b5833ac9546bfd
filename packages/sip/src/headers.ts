import { badHeader, HeaderValueError } from './errors.js';
import { parseBoundedInt, trimLws } from './grammar.js';
import { parseCSeq, type CSeq } from './cseq.js';
import { parseNameAddr, type NameAddr } from './name-addr.js';
import { parseVia, type Via } from './via.js';
import {
  parseCallId, parseContentType, parseDeltaSeconds, parseReplaces, parseSipDate, parseTokenList, parseTokenParams, splitList,
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
  const lower = name.toLowerCase();
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
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

function readContacts(lines: string[]): NameAddr[] {
  return lines.length === 1 && trimLws(lines[0] as string) === '*' ? [] : listOf(lines, parseContact);
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

function listOf<T>(values: readonly string[], parse: (s: string) => T): T[] {
  const out: T[] = [];
  for (const line of values) for (const part of splitList(line)) out.push(parse(part));
  return out;
}

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
   * A single-valued header: every line must parse (a repeat is validateMessage's to refuse); the first wins.
   * What `typed(key, ...)` does, without a closure and a list of lines per call: the parser reads these eagerly.
   */
  private single<T>(key: string, parse: (s: string) => T): T | undefined {
    const cache = this.cache;
    if (cache !== undefined) {
      const cached = cache.get(key);
      if (cached !== undefined || cache.has(key)) return cached as T | undefined;
    }
    const keys = this.keys;
    let first: T | undefined;
    let found = false;
    try {
      for (let i = 0; i < keys.length; i++) {
        if (keys[i] !== key) continue;
        const value = parse(this.values[i] as string);
        if (!found) {
          first = value;
          found = true;
        }
      }
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
    const keys = this.keys;
    const out: T[] = [];
    try {
      for (let i = 0; i < keys.length; i++) {
        if (keys[i] !== key) continue;
        for (const part of splitList(this.values[i] as string)) out.push(parse(part));
      }
    } catch (err) {
      throw namedError(err, key);
    }
    (this.cache ??= new Map()).set(key, out);
    return out;
  }

  get via(): readonly Via[] {
    return this.list('via', parseVia);
  }
  get topVia(): Via | undefined {
    return this.via[0];
  }
  get from(): NameAddr | undefined {
    return this.single('from', parseNameAddr);
  }
  get to(): NameAddr | undefined {
    return this.single('to', parseNameAddr);
  }
  get callId(): string | undefined {
    return this.single('call-id', parseCallId);
  }
  get cseq(): CSeq | undefined {
    return this.single('cseq', parseCSeq);
  }
  /** Contact values; empty for none and for the `*` of a REGISTER (see `isWildcardContact`). */
  get contact(): readonly NameAddr[] {
    return this.typed('contact', readContacts);
  }
  get isWildcardContact(): boolean {
    const all = this.getAll('contact');
    return all.length === 1 && trimLws(all[0] as string) === '*';
  }
  get maxForwards(): number | undefined {
    return this.single('max-forwards', parseMaxForwards);
  }
  get expires(): number | undefined {
    return this.single('expires', parseExpires);
  }
  /** Date (RFC 3261 §20.17) as epoch milliseconds; only GMT dates are well formed. */
  get date(): number | undefined {
    return this.single('date', parseSipDate);
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

