import { HeaderValueError } from './errors.js';
import {
  DIGIT_CHAR, HOST_CHAR, PARAM_CHAR, spanOf, USER_CHAR,
  indexIn, isHostAt, isTelNumber, isUriHeaderTextAt, isUriParamText, isUriParamTextAt, isUriPasswordAt, isUriUserAt,
  lastIndexIn, parseBoundedIntAt, unescapePercent,
} from './grammar.js';
import { formatParams, getParam, type Param } from './params.js';

/** `sip:` / `sips:` URI (RFC 3261 §19.1). Text fields are kept as written, escapes included. */
export class SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly params: readonly Param[];
  readonly headers: readonly Param[];

  constructor(init: {
    scheme?: 'sip' | 'sips';
    user?: string | undefined;
    password?: string | undefined;
    host: string;
    port?: number | undefined;
    params?: readonly Param[];
    headers?: readonly Param[];
  }) {
    this.scheme = init.scheme ?? 'sip';
    this.user = init.user;
    this.password = init.password;
    this.host = init.host;
    this.port = init.port;
    this.params = init.params ?? [];
    this.headers = init.headers ?? [];
  }

  /** The user part with `%HH` escapes undone (RFC 3261 §19.1.4 compares this form). */
  get decodedUser(): string | undefined {
    return this.user === undefined ? undefined : unescapePercent(this.user);
  }

  /** A URI parameter by name, both unescaped (RFC 3261 §19.1.4 compares them so: `n%61me` is `name`). */
  param(name: string): string | null | undefined {
    const lower = name.toLowerCase();
    for (const p of this.params) {
      const n = p.name.indexOf('%') === -1 ? p.name : unescapePercent(p.name);
      if (n.toLowerCase() === lower) return p.value === null ? null : unescapePercent(p.value);
    }
    return undefined;
  }

  /** A URI header (`?name=value`), unescaped: e.g. the `Replaces` embedded in a Refer-To. */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    const h = this.headers.find((p) => p.name.toLowerCase() === lower);
    return h?.value == null ? undefined : unescapePercent(h.value);
  }

  with(changes: Partial<ConstructorParameters<typeof SipUri>[0]>): SipUri {
    return new SipUri({ ...this, ...changes });
  }

  toString(): string {
    let s = this.scheme + ':';
    if (this.user !== undefined) {
      s += this.user;
      if (this.password !== undefined) s += ':' + this.password;
      s += '@';
    }
    s += this.host;
    if (this.port !== undefined) s += ':' + this.port;
    s += formatParams(this.params);
    if (this.headers.length > 0) {
      s += '?' + this.headers.map((h) => (h.value === null ? h.name : `${h.name}=${h.value}`)).join('&');
    }
    return s;
  }
}

/** `tel:` URI (RFC 3966). `number` keeps its visual separators; `digits` drops them. */
export class TelUri {
  readonly scheme = 'tel' as const;
  constructor(
    readonly number: string,
    readonly params: readonly Param[] = [],
  ) {}

  get isGlobal(): boolean {
    return this.number.charCodeAt(0) === 43;
  }

  /** The number without visual separators (`-`, `.`, `(`, `)`). */
  get digits(): string {
    return this.number.replace(/[-.()]/g, '');
  }

  param(name: string): string | null | undefined {
    return getParam(this.params, name);
  }

  toString(): string {
    return 'tel:' + this.number + formatParams(this.params);
  }
}

/** Any other absoluteURI (RFC 3261 §25.1), kept opaque. */
export class AbsoluteUri {
  constructor(
    readonly scheme: string,
    readonly text: string,
  ) {}
  toString(): string {
    return this.text;
  }
}

export type Uri = SipUri | TelUri | AbsoluteUri;

export interface UriParseOptions {
  /** A Request-URI must not carry `?headers` (RFC 3261 §19.1.1 table: "headers ... not allowed"). */
  allowHeaders?: boolean;
}

function isScheme(s: string): boolean {
  if (s.length === 0) return false;
  const c0 = s.charCodeAt(0) | 0x20;
  if (c0 < 97 || c0 > 122) return false;
  return /^[A-Za-z][A-Za-z0-9+.-]*$/.test(s);
}

// uric of RFC 2396 plus the escapes; no space, no <>, no quotes
const ABSOLUTE_REST = /^[A-Za-z0-9\-_.!~*'();/?:@&=+$,%[\]#]+$/;

function splitParams(s: string, what: string, check: (v: string) => boolean): Param[] {
  return splitParamsAt(s, 0, s.length, what, check);
}

/** The `;`-separated parameters of s[from, to) (none when it is empty), checked as splitParams does. */
function splitParamsAt(s: string, from: number, to: number, what: string, check: (v: string) => boolean): Param[] {
  const params: Param[] = [];
  if (from === to) return params;
  for (let a = from; ; ) {
    let b = indexIn(s, ';', a, to);
    if (b === -1) b = to;
    const eq = indexIn(s, '=', a, b);
    if (!isUriParamTextAt(s, a, eq === -1 ? b : eq)) throw new HeaderValueError(`bad ${what} name`);
    if (eq === -1) params.push({ name: s.slice(a, b), value: null });
    else {
      const value = s.slice(eq + 1, b);
      if (!check(value)) throw new HeaderValueError(`bad ${what} value`);
      params.push({ name: s.slice(a, eq), value });
    }
    if (b === to) return params;
    a = b + 1;
  }
}

/**
 * The usual SIP URI, `[user@]host[:port][;name[=value]]...` with no escapes, IPv6 reference,
 * password or headers, read in one pass; undefined for any other, which parseSipUri reads as
 * it reads them all (and refuses as it refuses them). What this one accepts, that one reads
 * the same: the characters met exclude every separator it would look for further on.
 */
function parseUsualSipUri(scheme: 'sip' | 'sips', s: string, from: number, to: number): SipUri | undefined {
  let user: string | undefined;
  let hostStart = from;
  const userEnd = spanOf(s, from, to, USER_CHAR);
  if (userEnd < to) {
    if (s.charCodeAt(userEnd) === 64 /* @ */) {
      if (userEnd === from) return undefined;
      user = s.slice(from, userEnd);
      hostStart = userEnd + 1;
    } else if (indexIn(s, '@', userEnd, to) !== -1) return undefined;
  }
  const hostEnd = spanOf(s, hostStart, to, HOST_CHAR);
  if (hostEnd === hostStart) return undefined;
  let i = hostEnd;
  let port: number | undefined;
  if (i < to && s.charCodeAt(i) === 58 /* : */) {
    const portEnd = spanOf(s, i + 1, to, DIGIT_CHAR);
    port = parseBoundedIntAt(s, i + 1, portEnd, 65535);
    if (port < 0) return undefined;
    i = portEnd;
  }
  const params: Param[] = [];
  while (i < to) {
    if (s.charCodeAt(i) !== 59 /* ; */) return undefined;
    const nameFrom = i + 1;
    const nameEnd = spanOf(s, nameFrom, to, PARAM_CHAR);
    if (nameEnd === nameFrom) return undefined;
    if (nameEnd < to && s.charCodeAt(nameEnd) === 61 /* = */) {
      const valueEnd = spanOf(s, nameEnd + 1, to, PARAM_CHAR);
      if (valueEnd === nameEnd + 1) return undefined;
      params[params.length] = { name: s.slice(nameFrom, nameEnd), value: s.slice(nameEnd + 1, valueEnd) };
      i = valueEnd;
    } else {
      params[params.length] = { name: s.slice(nameFrom, nameEnd), value: null };
      i = nameEnd;
    }
  }
  return new SipUri({ scheme, user, password: undefined, host: s.slice(hostStart, hostEnd), port, params, headers: [] });
}

/** The SIP URI whose text after `scheme:` is s[from, to): positions are found in place, the parts sliced once. */
function parseSipUri(scheme: 'sip' | 'sips', s: string, from: number, to: number, opts: UriParseOptions): SipUri {
  const usual = parseUsualSipUri(scheme, s, from, to);
  if (usual !== undefined) return usual;
  let user: string | undefined;
  let password: string | undefined;
  let hostStart = from; // hostport, params and headers follow the first '@'
  const at = indexIn(s, '@', from, to);
  if (at !== -1) {
    const colon = indexIn(s, ':', from, at);
    const userEnd = colon !== -1 ? colon : at;
    if (!isUriUserAt(s, from, userEnd)) throw new HeaderValueError('bad URI user');
    if (userEnd !== at && !isUriPasswordAt(s, userEnd + 1, at)) throw new HeaderValueError('bad URI password');
    user = s.slice(from, userEnd);
    if (userEnd !== at) password = s.slice(userEnd + 1, at);
    hostStart = at + 1;
  }
  let hostEnd = to; // before '?'
  const q = indexIn(s, '?', hostStart, to);
  if (q !== -1) {
    hostEnd = q;
    if (!opts.allowHeaders) throw new HeaderValueError('URI headers not allowed here');
  }
  let paramsFrom = hostEnd;
  let semi = indexIn(s, ';', hostStart, hostEnd);
  if (semi !== -1) paramsFrom = semi + 1;
  else semi = hostEnd;
  // hostport = s[hostStart, semi): a port follows the first ':' after any IPv6 reference's ']'
  let hostTo = semi;
  let port: number | undefined;
  const close = lastIndexIn(s, ']', hostStart, semi);
  const colon = indexIn(s, ':', close === -1 ? hostStart : close, semi);
  if (colon !== -1) {
    hostTo = colon;
    const p = parseBoundedIntAt(s, colon + 1, semi, 65535);
    if (p < 0) throw new HeaderValueError('bad URI port');
    port = p;
  }
  if (!isHostAt(s, hostStart, hostTo)) throw new HeaderValueError('bad URI host');
  const host = s.slice(hostStart, hostTo);
  const params = splitParamsAt(s, paramsFrom, hostEnd, 'URI parameter', isUriParamText);
  const headers: Param[] = [];
  if (q !== -1) {
    for (let a = q + 1; ; ) {
      let b = indexIn(s, '&', a, to);
      if (b === -1) b = to;
      const eq = indexIn(s, '=', a, b);
      if (eq <= a) throw new HeaderValueError('bad URI header');
      if (!isUriHeaderTextAt(s, a, eq) || !isUriHeaderTextAt(s, eq + 1, b)) throw new HeaderValueError('bad URI header');
      headers.push({ name: s.slice(a, eq), value: s.slice(eq + 1, b) });
      if (b === to) break;
      a = b + 1;
    }
  }
  return new SipUri({ scheme, user, password, host, port, params, headers });
}

function parseTelUri(rest: string): TelUri {
  const semi = rest.indexOf(';');
  const number = semi === -1 ? rest : rest.slice(0, semi);
  if (!isTelNumber(number) || !/[0-9A-Fa-f*#]/.test(number)) throw new HeaderValueError('bad tel number');
  const params = semi === -1 ? [] : splitParams(rest.slice(semi + 1), 'tel parameter', (v) => v.length > 0 && isUriParamText(v));
  if (number.charCodeAt(0) !== 43 && getParam(params, 'phone-context') == null) {
    // RFC 3966 §5.1.5: a local number is only meaningful with its phone-context
    throw new HeaderValueError('local tel number without phone-context');
  }
  return new TelUri(number, params);
}

/** `sip` / `sips` when s[from, colon) is one of them (in any ASCII case), else undefined. */
function sipScheme(s: string, from: number, colon: number): 'sip' | 'sips' | undefined {
  const length = colon - from;
  if (length !== 3 && length !== 4) return undefined;
  if ((s.charCodeAt(from) | 0x20) !== 115 || (s.charCodeAt(from + 1) | 0x20) !== 105 || (s.charCodeAt(from + 2) | 0x20) !== 112) return undefined;
  if (length === 3) return 'sip';
  return (s.charCodeAt(from + 3) | 0x20) === 115 ? 'sips' : undefined;
}

/** Parses a URI. Throws `HeaderValueError` (the caller names the header) when malformed. */
export function parseUri(text: string, opts: UriParseOptions = {}): Uri {
  return parseUriAt(text, 0, text.length, opts);
}

/** parseUri of s[from, to), read in place. */
export function parseUriAt(s: string, from: number, to: number, opts: UriParseOptions): Uri {
  const colon = indexIn(s, ':', from, to);
  if (colon <= from) throw new HeaderValueError('URI has no scheme');
  const sip = sipScheme(s, from, colon);
  if (sip !== undefined) {
    if (colon + 1 === to) throw new HeaderValueError('empty SIP URI');
    return parseSipUri(sip, s, colon + 1, to, opts);
  }
  const text = from === 0 && to === s.length ? s : s.slice(from, to);
  const scheme = text.slice(0, colon - from);
  const rest = text.slice(colon - from + 1);
  const lower = scheme.length <= 4 ? scheme.toLowerCase() : '';
  if (lower === 'tel') return parseTelUri(rest);
  if (!isScheme(scheme) || !ABSOLUTE_REST.test(rest)) throw new HeaderValueError('bad URI');
  return new AbsoluteUri(scheme, text);
}

export function isSipUri(u: Uri): u is SipUri {
  return u instanceof SipUri;
}

