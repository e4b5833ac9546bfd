import { HeaderValueError } from './errors.js';
import {
  isHost, isTelNumber, isUriHeaderText, isUriParamText, isUriPassword, isUriUser,
  lastIndexIn, parseBoundedInt, parseBoundedIntAt, unescapePercent,
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
  const params: Param[] = [];
  if (s.length === 0) return params;
  for (const part of s.split(';')) {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (!isUriParamText(name)) throw new HeaderValueError(`bad ${what} name`);
    if (eq === -1) params.push({ name, value: null });
    else {
      const value = part.slice(eq + 1);
      if (!check(value)) throw new HeaderValueError(`bad ${what} value`);
      params.push({ name, value });
    }
  }
  return params;
}

/** The SIP URI whose text after `scheme:` is text[from, ...): positions are found in place, the parts sliced once. */
function parseSipUri(scheme: 'sip' | 'sips', text: string, from: number, opts: UriParseOptions): SipUri {
  const n = text.length;
  let user: string | undefined;
  let password: string | undefined;
  let hostStart = from; // hostport, params and headers follow the first '@'
  const at = text.indexOf('@', from);
  if (at !== -1) {
    const colon = text.indexOf(':', from);
    const userEnd = colon !== -1 && colon < at ? colon : at;
    user = text.slice(from, userEnd);
    if (userEnd !== at) password = text.slice(userEnd + 1, at);
    if (!isUriUser(user)) throw new HeaderValueError('bad URI user');
    if (password !== undefined && !isUriPassword(password)) throw new HeaderValueError('bad URI password');
    hostStart = at + 1;
  }
  let headersText: string | undefined;
  let hostEnd = n; // before '?'
  const q = text.indexOf('?', hostStart);
  if (q !== -1) {
    headersText = text.slice(q + 1);
    hostEnd = q;
    if (!opts.allowHeaders) throw new HeaderValueError('URI headers not allowed here');
  }
  let paramsText = '';
  let semi = text.indexOf(';', hostStart);
  if (semi !== -1 && semi < hostEnd) paramsText = text.slice(semi + 1, hostEnd);
  else semi = hostEnd;
  // hostport = text[hostStart, semi): a port follows the first ':' after any IPv6 reference's ']'
  let hostTo = semi;
  let port: number | undefined;
  const close = lastIndexIn(text, ']', hostStart, semi);
  const colon = text.indexOf(':', close === -1 ? hostStart : close);
  if (colon !== -1 && colon < semi) {
    hostTo = colon;
    const p = parseBoundedIntAt(text, colon + 1, semi, 65535);
    if (p < 0) throw new HeaderValueError('bad URI port');
    port = p;
  }
  const host = text.slice(hostStart, hostTo);
  if (!isHost(host)) throw new HeaderValueError('bad URI host');
  const params = splitParams(paramsText, 'URI parameter', isUriParamText);
  const headers: Param[] = [];
  if (headersText !== undefined) {
    for (const part of headersText.split('&')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new HeaderValueError('bad URI header');
      const name = part.slice(0, eq);
      const value = part.slice(eq + 1);
      if (!isUriHeaderText(name) || !isUriHeaderText(value)) throw new HeaderValueError('bad URI header');
      headers.push({ name, value });
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

/** Parses a URI. Throws `HeaderValueError` (the caller names the header) when malformed. */
/** `sip` / `sips` when text[0, colon) is one of them (in any ASCII case), else undefined. */
function sipScheme(text: string, colon: number): 'sip' | 'sips' | undefined {
  if (colon !== 3 && colon !== 4) return undefined;
  if ((text.charCodeAt(0) | 0x20) !== 115 || (text.charCodeAt(1) | 0x20) !== 105 || (text.charCodeAt(2) | 0x20) !== 112) return undefined;
  if (colon === 3) return 'sip';
  return (text.charCodeAt(3) | 0x20) === 115 ? 'sips' : undefined;
}

export function parseUri(text: string, opts: UriParseOptions = {}): Uri {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new HeaderValueError('URI has no scheme');
  const sip = sipScheme(text, colon);
  if (sip !== undefined) {
    if (colon + 1 === text.length) throw new HeaderValueError('empty SIP URI');
    return parseSipUri(sip, text, colon + 1, opts);
  }
  const scheme = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  const lower = scheme.length <= 4 ? scheme.toLowerCase() : '';
  if (lower === 'tel') return parseTelUri(rest);
  if (!isScheme(scheme) || !ABSOLUTE_REST.test(rest)) throw new HeaderValueError('bad URI');
  return new AbsoluteUri(scheme, text);
}

export function isSipUri(u: Uri): u is SipUri {
  return u instanceof SipUri;
}

