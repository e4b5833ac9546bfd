// Header names: compact forms, canonical spelling, and the names the parser recognises in place
// (with a slot of their own for the eager ones) — split from headers.ts, which holds the values.

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
export const VIA = 0;
export const CSEQ = 1;
export const CALL_ID = 2;
export const FROM = 3;
export const TO = 4;
export const MAX_FORWARDS = 5;
export const CONTACT = 6;
export const EXPIRES = 7;
export const DATE = 8;
/** Expires and Date are read at once only when present. */
export const READ_WHEN_PRESENT = (1 << EXPIRES) | (1 << DATE);

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
