import net from 'node:net';
import { SipUri, type SipRequest, type Uri } from '@switchboard/sip';
import type { SipTransport } from './options.js';

/** Where a message came from or goes: for TCP and TLS, the connection when known. */
export interface Flow {
  transport: SipTransport;
  host: string;
  port: number;
  socket?: net.Socket | undefined;
  /** TCP: where to connect when `socket` is closed (a request's Via sent-by, RFC 3261 §18.2.2). */
  alt?: { host: string; port: number } | undefined;
}

/**
 * A flow for a SIP URI whose host is an IP literal (or localhost): RFC 3263 without DNS.
 * `localHost` is the UA's own address, which picks the family of localhost.
 */
export function resolveFlow(uri: Uri, transport: SipTransport, localHost: string): Flow | undefined {
  if (!(uri instanceof SipUri)) return undefined;
  let host = uri.host;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.toLowerCase() === 'localhost') host = net.isIPv6(localHost) ? '::1' : '127.0.0.1';
  if (net.isIP(host) === 0) return undefined;
  return { transport, host, port: uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060) };
}

/** Where a response to `req`, received on `source`, goes (RFC 3261 §18.2.2; RFC 3581 with 'source'). */
export function responseFlow(req: SipRequest, source: Flow, respondTo: 'source' | 'via'): Flow {
  const via = req.headers.topVia;
  if (via === undefined) return source;
  const sentBy = { host: via.host.startsWith('[') ? via.host.slice(1, -1) : via.host, port: via.port ?? 5060 };
  // over TCP the connection the request came on; when it is gone, a new one to the sent-by
  if (source.transport !== 'udp') return { ...source, alt: sentBy };
  if (respondTo === 'source') return source;
  const rport = via.rport;
  let host = via.received ?? sentBy.host;
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { ...source, host, port: typeof rport === 'number' ? rport : sentBy.port };
}
