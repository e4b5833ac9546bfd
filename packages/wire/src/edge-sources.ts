import { decodeVersioned, encodeMap, ENVELOPE_VERSION, EnvelopeError } from './envelopes.js';

// What the transport nodes need to refuse strangers at the edge (README "Security", edge limits):
// the workers read the trunking configuration, the nodes have no JetStream, so the workers tell
// them. Input from another process: each decoder checks every field and copies only those.

/** How often each worker repeats the known networks (a node that starts meanwhile lets everything through until it hears them). */
export const EDGE_SOURCES_INTERVAL_MS = 5_000;

/** Worker → transport nodes: every network a request may come from without credentials. */
export interface EdgeSources {
  v: typeof ENVELOPE_VERSION;
  /** Addresses and CIDR blocks (`192.0.2.0/24`, `2001:db8::/32`, `198.51.100.7`): trunk ACLs and carrier sources. */
  networks: string[];
  /**
   * The domains of trunks with digest credentials: a stranger's request for one of them is let
   * through (at its source's rate) to be challenged, or no credentials could ever be presented.
   */
  domains: string[];
  /** The configuration revision they were read from (logs and stats; the last set heard wins). */
  revision: number;
  worker: string;
}

/** Worker → transport nodes: a source whose request passed digest authentication (RFC 3261 §22), known until `until`. */
export interface AuthenticatedSource {
  v: typeof ENVELOPE_VERSION;
  address: string;
  /** Epoch milliseconds. */
  until: number;
}

/** More (networks or domains) would be a misconfiguration or a hostile publisher: refused, the node keeps what it had. */
const MAX_NETWORKS = 100_000;

export function encodeEdgeSources(e: EdgeSources): Uint8Array {
  return encodeMap(e);
}

export function decodeEdgeSources(data: Uint8Array): EdgeSources {
  const o = decodeVersioned(data, 'edge sources');
  const { networks, domains, revision, worker } = o;
  if (!isStringList(networks)) throw new EnvelopeError('missing-field', 'edge sources: networks missing or not a list of strings');
  if (!isStringList(domains)) throw new EnvelopeError('missing-field', 'edge sources: domains missing or not a list of strings');
  if (typeof revision !== 'number') throw new EnvelopeError('missing-field', 'edge sources: revision missing or not a number');
  if (typeof worker !== 'string') throw new EnvelopeError('missing-field', 'edge sources: worker missing or not a string');
  return { v: ENVELOPE_VERSION, networks, domains, revision, worker };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_NETWORKS && value.every((n) => typeof n === 'string');
}

export function encodeAuthenticatedSource(e: AuthenticatedSource): Uint8Array {
  return encodeMap(e);
}

export function decodeAuthenticatedSource(data: Uint8Array): AuthenticatedSource {
  const o = decodeVersioned(data, 'authenticated source');
  const { address, until } = o;
  if (typeof address !== 'string' || address === '') throw new EnvelopeError('missing-field', 'authenticated source: address missing or not a string');
  if (typeof until !== 'number' || !Number.isFinite(until)) throw new EnvelopeError('missing-field', 'authenticated source: until missing or not a number');
  return { v: ENVELOPE_VERSION, address, until };
}
