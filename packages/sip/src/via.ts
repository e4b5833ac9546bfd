import { HeaderValueError } from './errors.js';
import { isHost, isToken, parseBoundedInt, trimLws, trimLwsEnd, trimLwsStart } from './grammar.js';
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

// SLASH = SWS "/" SWS, COLON = SWS ":" SWS (RFC 3261 §25.1): whitespace may surround both
const SENT_PROTOCOL = /^[ \t]*([^ \t/]+)[ \t]*\/[ \t]*([^ \t/]+)[ \t]*\/[ \t]*([^ \t/;]+)[ \t]+/;

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

/** Parses one Via value. Throws `HeaderValueError` when malformed. */
export function parseVia(text: string): Via {
  const m = SENT_PROTOCOL.exec(text);
  if (m === null) throw new HeaderValueError('bad sent-protocol');
  const [, protocol = '', version = '', transport = ''] = m;
  if (!isToken(protocol) || !isToken(version) || !isToken(transport)) throw new HeaderValueError('bad sent-protocol');
  let i = m[0].length;
  const n = text.length;
  let end = text.indexOf(';', i);
  if (end === -1) end = n;
  const sentBy = trimLws(text.slice(i, end));
  let host = sentBy;
  let port: number | undefined;
  const close = sentBy.lastIndexOf(']');
  const colon = sentBy.indexOf(':', close === -1 ? 0 : close);
  if (colon !== -1) {
    host = trimLwsEnd(sentBy.slice(0, colon));
    port = parseBoundedInt(trimLwsStart(sentBy.slice(colon + 1)), 65535);
    if (port < 0) throw new HeaderValueError('bad Via port');
  }
  if (!isHost(host)) throw new HeaderValueError('bad Via host');
  i = end;
  const params = parseParams(text.slice(i), isViaValue);
  for (const p of params) if (!checkViaParam(p.name, p.value)) throw new HeaderValueError(`bad Via ${p.name}`);
  return new Via(transport.toUpperCase(), host, port, params, protocol, version);
}
