// Readers of header values shared by Headers: bounded numbers, the lines of one header, errors named by header.
import { badHeader, HeaderValueError } from './errors.js';
import { endOfLws, parseBoundedInt, parseBoundedIntAt, skipLws, trimLws } from './grammar.js';
import { parseNameAddr, type NameAddr } from './name-addr.js';
import { splitList } from './values.js';
import { canonicalHeaderName } from './header-names.js';

/** A HeaderValueError met reading `key`, as the SipParseError naming its header (a derived key, `refer-to;replaces`, after the header it reads). */
export function namedError(err: unknown, key: string): unknown {
  return err instanceof HeaderValueError ? badHeader(canonicalHeaderName(key.split(';', 1)[0] as string)) : err;
}

// The eager accessors' parsers, declared once rather than as a closure per call.
export function parseContact(s: string): NameAddr {
  return parseNameAddr(s);
}

/** The LWS-trimmed decimal s[from, to), no greater than `max`. */
export function parseBoundedAt(s: string, from: number, to: number, max: number, what: string): number {
  const a = skipLws(s, from, to);
  const n = parseBoundedIntAt(s, a, endOfLws(s, a, to), max);
  if (n < 0) throw new HeaderValueError(`bad ${what}`);
  return n;
}

export function parseMaxForwards(s: string): number {
  const n = parseBoundedInt(trimLws(s), 255);
  if (n < 0) throw new HeaderValueError('bad Max-Forwards');
  return n;
}

export function parseExpires(s: string): number {
  const n = parseBoundedInt(trimLws(s), 0xffff_ffff);
  if (n < 0) throw new HeaderValueError('bad Expires');
  return n;
}

/** Every value of the lines of `key` among keys[from, to), in order. */
export function parseLines<T>(keys: readonly string[], values: readonly string[], key: string, from: number, to: number, parse: (s: string) => T): T[] {
  const out: T[] = [];
  for (let i = from; i < to; i++) {
    if (keys[i] !== key) continue;
    for (const part of splitList(values[i] as string)) out.push(parse(part));
  }
  return out;
}

/** The first of the lines of `key` among keys[from, to), each of which must parse. */
export function parseSingle<T>(keys: readonly string[], values: readonly string[], key: string, from: number, to: number, parse: (s: string) => T): T | undefined {
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
export function emptySlots(): unknown[] {
  return [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
}
