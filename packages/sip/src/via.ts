import { HeaderValueError } from './errors.js';
import { endOfLws, isHost, isToken, lastIndexIn, parseBoundedInt, parseBoundedIntAt, skipLws } from './grammar.js';
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

function skipWsp(s: string, i: number): number {
  while (i < s.length && isWspAt(s, i)) i++;
  return i;
}

/** End of the run from `i` of characters other than SP, HTAB, `/` (and `;` when `semi`). */
function protocolPart(s: string, i: number, semi: boolean): number {
  for (; i < s.length; i++) {
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

function checkViaParam(name: string, value: string | null): boolean {
  switch (name.toLowerCase()) {
    case 'ttl':
      return value !== null && parseBoundedInt(value, 255) >= 0;
    case 'received':
      // IPv4address / IPv6address, the latter without brackets (RFC 3261 §25.1 via-received)
      return value !== null && (isHost(value) || IPV6_ADDRESS.test(value));
    case 'rport':
      return value === null || parseBoundedInt(value, 65535) >= 0;
    case 'branch':
    case 'maddr':
      return value !== null && isGenValue(value);
    default:
      return value === null || isGenValue(value);
  }
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
  const n = text.length;
  const p0 = skipWsp(text, 0);
  const p1 = protocolPart(text, p0, false);
  let v0 = skipWsp(text, p1);
  if (p1 === p0 || text.charCodeAt(v0) !== 47) throw new HeaderValueError('bad sent-protocol');
  v0 = skipWsp(text, v0 + 1);
  const v1 = protocolPart(text, v0, false);
  let t0 = skipWsp(text, v1);
  if (v1 === v0 || text.charCodeAt(t0) !== 47) throw new HeaderValueError('bad sent-protocol');
  t0 = skipWsp(text, t0 + 1);
  const t1 = protocolPart(text, t0, true);
  let i = skipWsp(text, t1);
  if (t1 === t0 || i === t1) throw new HeaderValueError('bad sent-protocol');
  // the usual SIP/2.0 without copies
  const protocol = p1 - p0 === 3 && text.startsWith('SIP', p0) ? 'SIP' : text.slice(p0, p1);
  const version = v1 - v0 === 3 && text.startsWith('2.0', v0) ? '2.0' : text.slice(v0, v1);
  const transport = text.slice(t0, t1);
  if (!isToken(protocol) || !isToken(version) || !isToken(transport)) throw new HeaderValueError('bad sent-protocol');
  let end = text.indexOf(';', i);
  if (end === -1) end = n;
  // sent-by = text[a, b), LWS-trimmed; a port follows the first ':' after any IPv6 reference's ']'
  const a = skipLws(text, i, end);
  const b = endOfLws(text, a, end);
  let hostEnd = b;
  let port: number | undefined;
  const close = lastIndexIn(text, ']', a, b);
  const colon = text.indexOf(':', close === -1 ? a : close);
  if (colon !== -1 && colon < b) {
    hostEnd = endOfLws(text, a, colon);
    port = parseBoundedIntAt(text, skipLws(text, colon + 1, b), b, 65535);
    if (port < 0) throw new HeaderValueError('bad Via port');
  }
  const host = text.slice(a, hostEnd);
  if (!isHost(host)) throw new HeaderValueError('bad Via host');
  const params = parseParams(text, isViaValue, end);
  for (const p of params) if (!checkViaParam(p.name, p.value)) throw new HeaderValueError(`bad Via ${p.name}`);
  return new Via(asciiUpper(transport), host, port, params, protocol, version);
}
