import { networkInterfaces } from 'node:os';

/** A listener once bound: `port` is the one bound (for port 0, the system's choice). */
export interface BoundListener {
  protocol: 'udp' | 'tcp' | 'tls';
  address: string;
  port: number;
  /** What peers reach it at: our Via sent-by and Contact for hops over it. */
  advertise: string;
}

/** 0.0.0.0 and ::, which a socket may listen on but no peer can send to. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** What peers can reach a listener at: `advertise`, the host, or for a wildcard host this machine's first address. */
export function advertisedAddress(host: string, advertise: string | undefined): string {
  if (advertise !== undefined) return advertise;
  if (!isWildcard(host)) return host;
  const family = host === '::' ? 'IPv6' : 'IPv4';
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === family && !a.internal) return a.address;
  }
  return host === '::' ? '::1' : '127.0.0.1';
}

/** `::ffff:192.0.2.1` (a dual-stack socket's view of an IPv4 peer) → `192.0.2.1`. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** A listener whose advertised address was guessed: a wildcard host and no `advertise`. */
export interface GuessedAdvertisement {
  protocol: string;
  host: string;
  port: number;
  /** The machine's first non-internal address of the family, or loopback when there is none. */
  advertised: string;
}

/**
 * The listeners whose Via/Contact address is this machine's first interface, a guess that is
 * wrong on a multi-homed host or behind NAT (a Kubernetes node's pod network, a cloud's public
 * IP): the process says so at start rather than sending unreachable addresses silently.
 */
export function guessedAdvertisements(listen: readonly { protocol: string; host: string; port: number; advertise?: string | undefined }[]): GuessedAdvertisement[] {
  return listen
    .filter((l) => l.advertise === undefined && isWildcard(l.host))
    .map((l) => ({ protocol: l.protocol, host: l.host, port: l.port, advertised: advertisedAddress(l.host, undefined) }));
}
