import { badHeader, HeaderValueError } from './errors.js';
import { endOfLws, indexIn, parseBoundedInt, skipLws, trimLws } from './grammar.js';
import { parseCSeq, parseCSeqAt, type CSeq } from './cseq.js';
import { parseNameAddr, parseNameAddrAt, type NameAddr } from './name-addr.js';
import { parseVia, parseViaAt, type Via } from './via.js';
import { isCallIdAt, parseCallId, parseContentType, parseDeltaSeconds, parseReplaces, parseSipDate, parseTokenList, parseTokenParams, splitList, type DeltaSeconds, type ParamValue, type Replaces } from './values.js';
import { VIA, CSEQ, CALL_ID, FROM, TO, MAX_FORWARDS, CONTACT, EXPIRES, DATE, READ_WHEN_PRESENT, headerKey, EAGER_HEADERS, canonicalHeaderName } from './header-names.js';
export { headerKey, EAGER_HEADERS, KNOWN_HEADERS, matchedNameEnd, matchedColon, matchHeaderName, canonicalHeaderName, type KnownHeader } from './header-names.js';

export type HeaderInput = string | { toString(): string };

/** The cache key of the Replaces embedded in Refer-To: dropped whenever Refer-To changes. */
const REFER_TO_REPLACES = 'refer-to;replaces';
import { namedError, parseContact, parseBoundedAt, parseMaxForwards, parseExpires, parseLines, parseSingle, emptySlots } from './header-readers.js';

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

