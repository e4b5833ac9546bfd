// Address ranges (CIDR) for the NetworkPolicy checks: whether an ipBlock lets in any address of a
// range, IPv4 and IPv6 alike (node's BlockList does the parsing and the matching).
import { BlockList, isIPv6 } from 'node:net';

interface Range {
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function range(cidr: string): Range {
  const [network = '', prefix = ''] = cidr.split('/');
  const family = isIPv6(network) ? 'ipv6' : 'ipv4';
  const bits = Number(prefix === '' ? (family === 'ipv6' ? 128 : 32) : prefix);
  if (!Number.isInteger(bits)) throw new Error(`not a CIDR: ${cidr}`);
  return { network, prefix: bits, family };
}

/** Every address of `inner` is in `outer`. */
export function contains(outer: string, inner: string): boolean {
  const o = range(outer);
  const i = range(inner);
  if (o.family !== i.family || o.prefix > i.prefix) return false;
  const list = new BlockList();
  list.addSubnet(o.network, o.prefix, o.family);
  return list.check(i.network, i.family);
}

/** Two ranges share an address (CIDRs either nest or are disjoint). */
export function overlaps(a: string, b: string): boolean {
  return contains(a, b) || contains(b, a);
}

/**
 * An ipBlock (`cidr` minus `except`) lets in some address of `cidr`. Conservative: only an
 * `except` holding the whole range keeps it out (excepts that tile it together count as a gap).
 */
export function admitsAnyOf(block: { cidr: string; except?: string[] | undefined }, cidr: string): boolean {
  return overlaps(block.cidr, cidr) && !(block.except ?? []).some((e) => contains(e, cidr));
}
