import { HeaderValueError } from './errors.js';
import {
  DIGIT_CHAR, endOfLws, HOST_CHAR, indexIn, isHost, isHostAt, isTokenAt, lastIndexIn, parseBoundedInt, parseBoundedIntAt, skipLws, spanOf, TOKEN_CHAR,
} from './grammar.js';
import { formatParams, getParam, isGenValue, parseParams, withParam, type Param } from './params.js';

/** The RFC 3261 §8.1.1.7 magic cookie that marks a branch as globally unique. */
export const BRANCH_COOKIE = 'z9hG4bK';

/** One Via value (RFC 3261 §20.42): `SIP/2.0/<transport> <sent-by> *(;params)`. */
export class Via {
  constructor(
    readonly transport: string,
    readonly host: string,
    readonly port: number | undefined,
    readonly params: readonly Param[] = [],
    readonly protocol: string = 'SIP',
    readonly version: string = '2.0',
  ) {}

  get branch(): string | undefined {
    return this.param('branch') ?? undefined;
  }
  get received(): string | undefined {
    return this.param('received') ?? undefined;
  }
  /** `null` when `rport` is present without a value (RFC 3581 §3 request form). */
  get rport(): number | null | undefined {
    const v = this.param('rport');
    return v === undefined || v === null ? v : Number(v);
  }

  param(name: string): string | null | undefined {
    return getParam(this.params, name);
  }

  withParam(name: string, value: string | null | undefined): Via {
    return new Via(this.transport, this.host, this.port, withParam(this.params, name, value), this.protocol, this.version);
  }

  toString(): string {
    const port = this.port === undefined ? '' : ':' + this.port;
    return `${this.protocol}/${this.version}/${this.transport} ${this.host}${port}${formatParams(this.params)}`;
  }
}

// SLASH = SWS "/" SWS, COLON = SWS ":" SWS (RFC 3261 §25.1): whitespace may surround both.
// sent-protocol is read by hand as /^[ \t]*([^ \t/]+)[ \t]*\/[ \t]*([^ \t/]+)[ \t]*\/[ \t]*([^ \t/;]+)[ \t]+/
// would read it (each part stops at the first character it cannot hold, so no backtracking is needed).

function isWspAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c === 32 || c === 9;
}

function skipWsp(s: string, i: number, to: number): number {
  while (i < to && isWspAt(s, i)) i++;
  return i;
}

/** End of the run from `i` of characters other than SP, HTAB, `/` (and `;` when `semi`), within `to`. */
function protocolPart(s: string, i: number, to: number, semi: boolean): number {
  for (; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 47 || (semi && c === 59)) break;
  }
  return i;
}

const IPV6_ADDRESS = /^[0-9A-Fa-f:.]+$/;

/** What parseParams lets through: a gen-value, or the bare IPv6address of `received` (checked by name below). */
function isViaValue(v: string): boolean {
  return isGenValue(v) || IPV6_ADDRESS.test(v);
}

/** Whether `name` is `lower` (lower case, letters only) in any ASCII case. */
function nameIs(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * The rules of the parameters that have them, on values parseParams let through (isViaValue).
 * Of those, only a bare IPv6 address (with a ':') is no gen-value: a value without one is
 * not looked at again.
 */
function checkViaParam(name: string, value: string | null): boolean {
  switch (name.length) {
    case 3:
      if (nameIs(name, 'ttl')) return value !== null && parseBoundedInt(value, 255) >= 0;
      break;
    case 8:
      // IPv4address / IPv6address, the latter without brackets (RFC 3261 §25.1 via-received)
      if (nameIs(name, 'received')) return value !== null && (isHost(value) || IPV6_ADDRESS.test(value));
      break;
    case 5:
      if (nameIs(name, 'rport')) return value === null || parseBoundedInt(value, 65535) >= 0;
      if (nameIs(name, 'maddr')) return value !== null && (value.indexOf(':') === -1 || isGenValue(value));
      break;
    case 6:
      if (nameIs(name, 'branch')) return value !== null && (value.indexOf(':') === -1 || isGenValue(value));
      break;
  }
  return value === null || value.indexOf(':') === -1 || isGenValue(value);
}

/** `token` in capitals: the token itself when it has no lower-case letter (toUpperCase copies regardless). */
function asciiUpper(token: string): string {
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c >= 97 && c <= 122) return token.toUpperCase();
  }
  return token;
}

/** Parses one Via value. Throws `HeaderValueError` when malformed. */
export function parseVia(text: string): Via {
  return parseViaAt(text, 0, text.length);
}

/**
 * The usual sent-protocol and sent-by, `SIP/2.0/<transport> <host>[:<port>]` up to the first
 * `;` or the end, read in one pass: where the host starts (`usualHostFrom`, its end and port
 * in the other two), or -1 for parseViaAt's general reading. The characters met exclude every
 * separator that reading looks for, so it would find the same parts.
 */
function readUsualViaStart(s: string, from: number, to: number): number {
  if (
    to - from < 10 || s.charCodeAt(from) !== 83 || s.charCodeAt(from + 1) !== 73 || s.charCodeAt(from + 2) !== 80 ||
    s.charCodeAt(from + 3) !== 47 || s.charCodeAt(from + 4) !== 50 || s.charCodeAt(from + 5) !== 46 ||
    s.charCodeAt(from + 6) !== 48 || s.charCodeAt(from + 7) !== 47
  ) return -1;
  const t1 = spanOf(s, from + 8, to, TOKEN_CHAR);
  if (t1 === from + 8 || t1 === to || !isWspAt(s, t1)) return -1;
  const hostFrom = skipWsp(s, t1 + 1, to);
  const hostEnd = spanOf(s, hostFrom, to, HOST_CHAR);
  if (hostEnd === hostFrom) return -1;
  let i = hostEnd;
  let port = -1;
  if (i < to && s.charCodeAt(i) === 58 /* : */) {
    const portEnd = spanOf(s, i + 1, to, DIGIT_CHAR);
    port = parseBoundedIntAt(s, i + 1, portEnd, 65535);
    if (port < 0) return -1;
    i = portEnd;
  }
  if (i < to && s.charCodeAt(i) !== 59 /* ; */) return -1;
  usualTransportEnd = t1;
  usualHostEnd = hostEnd;
  usualPort = port;
  usualEnd = i;
  return hostFrom;
}

// What readUsualViaStart read besides where the host starts (the transport starts at from + 8).
let usualTransportEnd = 0;
let usualHostEnd = 0;
/** -1 for none. */
let usualPort = -1;
/** Where the parameters start: the first `;`, or the end. */
let usualEnd = 0;

/** parseVia of s[from, to), read in place. */
export function parseViaAt(s: string, from: number, to: number): Via {
  let protocol = 'SIP';
  let version = '2.0';
  let transport: string;
  let host: string;
  let port: number | undefined;
  let end: number;
  const hostFrom = readUsualViaStart(s, from, to);
  if (hostFrom !== -1) {
    transport = s.slice(from + 8, usualTransportEnd);
    host = s.slice(hostFrom, usualHostEnd);
    port = usualPort === -1 ? undefined : usualPort;
    end = usualEnd;
  } else {
    const p0 = skipWsp(s, from, to);
    const p1 = protocolPart(s, p0, to, false);
    let v0 = skipWsp(s, p1, to);
    if (p1 === p0 || v0 === to || s.charCodeAt(v0) !== 47) throw new HeaderValueError('bad sent-protocol');
    v0 = skipWsp(s, v0 + 1, to);
    const v1 = protocolPart(s, v0, to, false);
    let t0 = skipWsp(s, v1, to);
    if (v1 === v0 || t0 === to || s.charCodeAt(t0) !== 47) throw new HeaderValueError('bad sent-protocol');
    t0 = skipWsp(s, t0 + 1, to);
    const t1 = protocolPart(s, t0, to, true);
    const i = skipWsp(s, t1, to);
    if (t1 === t0 || i === t1) throw new HeaderValueError('bad sent-protocol');
    // the usual SIP/2.0 without copies or checks
    const sip = p1 - p0 === 3 && s.startsWith('SIP', p0);
    const two = v1 - v0 === 3 && s.startsWith('2.0', v0);
    if ((!sip && !isTokenAt(s, p0, p1)) || (!two && !isTokenAt(s, v0, v1)) || !isTokenAt(s, t0, t1)) throw new HeaderValueError('bad sent-protocol');
    if (!sip) protocol = s.slice(p0, p1);
    if (!two) version = s.slice(v0, v1);
    transport = s.slice(t0, t1);
    end = indexIn(s, ';', i, to);
    if (end === -1) end = to;
    // sent-by = s[a, b), LWS-trimmed; a port follows the first ':' after any IPv6 reference's ']'
    const a = skipLws(s, i, end);
    const b = endOfLws(s, a, end);
    let hostEnd = b;
    const close = lastIndexIn(s, ']', a, b);
    const colon = indexIn(s, ':', close === -1 ? a : close, b);
    if (colon !== -1) {
      hostEnd = endOfLws(s, a, colon);
      port = parseBoundedIntAt(s, skipLws(s, colon + 1, b), b, 65535);
      if (port < 0) throw new HeaderValueError('bad Via port');
    }
    if (!isHostAt(s, a, hostEnd)) throw new HeaderValueError('bad Via host');
    host = s.slice(a, hostEnd);
  }
  const params = parseParams(s, isViaValue, end, to);
  for (const p of params) if (!checkViaParam(p.name, p.value)) throw new HeaderValueError(`bad Via ${p.name}`);
  return new Via(asciiUpper(transport), host, port, params, protocol, version);
}
