// The address a transport on a Kubernetes node advertises (Via, Contact, Record-Route), from the
// node object: the operator's annotation first (the one place to say "this node is reached at
// 203.0.113.7" when the cloud does not know it: an elastic IP, a NAT, a DNS name), then the
// node's ExternalIP (what the cloud reports as its public address), then its private address
// (the pod's status.hostIP), which peers inside the network reach.
import { isWildcard } from './peer-address.js';

export const PUBLIC_ADDRESS_ANNOTATION = 'switchboard.io/public-address';

/** The part of a Kubernetes Node object (GET /api/v1/nodes/<name>) the choice reads. */
export interface NodeObject {
  metadata?: { name?: string; annotations?: Record<string, string> };
  status?: { addresses?: { type?: string; address?: string }[] };
}

export type AdvertiseSource = 'annotation' | 'external-ip' | 'host-ip';

export interface NodeAdvertise {
  address: string;
  source: AdvertiseSource;
}

/** Why an address read from the node cannot be advertised, or undefined when it can. */
function unusable(address: string): string | undefined {
  if (address === '' || /\s/.test(address)) return `${JSON.stringify(address)} is not one address`;
  if (isWildcard(address)) return `${address} is a wildcard address`;
  return undefined;
}

/**
 * Annotation `switchboard.io/public-address` > the first ExternalIP > `hostIP`. A malformed
 * annotation throws rather than being skipped: the operator meant a public address, and a
 * silent fall-back to the private one would advertise what carriers cannot reach.
 */
export function advertiseFromNode(node: NodeObject, hostIP: string): NodeAdvertise {
  const annotated = node.metadata?.annotations?.[PUBLIC_ADDRESS_ANNOTATION];
  if (annotated !== undefined) {
    const address = annotated.trim();
    const problem = unusable(address);
    if (problem !== undefined) throw new Error(`node ${node.metadata?.name ?? '?'}: annotation ${PUBLIC_ADDRESS_ANNOTATION}: ${problem}`);
    return { address, source: 'annotation' };
  }
  const external = node.status?.addresses?.find((a) => a.type === 'ExternalIP' && a.address !== undefined && unusable(a.address) === undefined)?.address;
  if (external !== undefined) return { address: external, source: 'external-ip' };
  const problem = unusable(hostIP.trim());
  if (problem !== undefined) throw new Error(`the pod's hostIP: ${problem}`);
  return { address: hostIP.trim(), source: 'host-ip' };
}
