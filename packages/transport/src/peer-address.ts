import { networkInterfaces } from 'node:os';

/** What peers can reach a listener at: `advertise`, the host, or for a wildcard host this machine's first address. */
export function advertisedAddress(host: string, advertise: string | undefined): string {
  if (advertise !== undefined) return advertise;
  if (host !== '0.0.0.0' && host !== '::') return host;
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
