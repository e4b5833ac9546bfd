import { Packr } from 'msgpackr';
import type { RoutingFields } from '@switchboard/sip';

/** The envelope version this build writes and reads. */
export const ENVELOPE_VERSION = 1;

/** `tls`: SIP over TLS (RFC 3261 §26), framed as TCP. */
export type Protocol = 'udp' | 'tcp' | 'tls';

/** A transport node's listener as peers reach it: our Via sent-by and Contact on a hop over it. */
export interface ListenerAddress {
  address: string;
  port: number;
}

/** Where a message came from, as the transport node saw it. */
export interface TransportInfo {
  protocol: Protocol;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** The TCP connection it arrived on, so answers can go back on it (RFC 3261 §18.2.2). */
  connectionId?: string;
  /** The transport node that received it, and must send the answers. */
  nodeId: string;
  /**
   * That node's listener of each transport (advertised address, port): a call that came in over
   * one and leaves over another (a UDP carrier for a TCP PBX, a TLS carrier, a `sips:` target)
   * writes the other's in its Via and Contact — the ports differ.
   */
  udp?: ListenerAddress;
  tcp?: ListenerAddress;
  tls?: ListenerAddress;
}

/** Transport → worker: one SIP message, raw bytes as received, with what routing already read. */
export interface InboundSip {
  v: typeof ENVELOPE_VERSION;
  sip: Uint8Array;
  route: RoutingFields;
  transport: TransportInfo;
  /** Receive time, epoch milliseconds. */
  receivedAt: number;
  /**
   * Passed on by a worker that no longer owns the message's slot (a handover) to the one that
   * does: never forwarded again, whatever the receiver thinks of the slot.
   */
  forwarded?: true;
}

/** The PEM files of one outbound TLS peer: the CAs to verify it against, the client certificate shown to it. */
export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Worker → transport: SIP to send to a peer. */
export interface OutboundSip {
  v: typeof ENVELOPE_VERSION;
  sip: Uint8Array;
  protocol: Protocol;
  address: string;
  port: number;
  connectionId?: string;
  /**
   * Where to open a connection when `connectionId`'s is gone: an in-dialog request's remote
   * target (RFC 3261 §12.2.1.1), not the source port the peer's own connection came from.
   */
  fallback?: { address: string; port: number };
  /**
   * TLS: the name the peer's certificate must carry and the SNI sent (RFC 5922 §4: the host of
   * the URI we meant, not the address it resolved to); absent, the address itself is checked.
   */
  serverName?: string;
  /**
   * TLS: the peer's own PEM files (paths on the transport node), each over the node's
   * `tls.client` default; absent, the defaults alone.
   */
  tlsFiles?: TlsFiles;
  /** The worker to tell if sending fails. */
  workerId: string;
  /** Opaque to the transport: handed back in a SendFailure (e.g. the client transaction's branch). */
  ref?: string;
}

/** Transport → worker: `OutboundSip` could not be sent (RFC 3261 §17.1.4 transport error). */
export interface SendFailure {
  v: typeof ENVELOPE_VERSION;
  ref?: string;
  reason: string;
  protocol: Protocol;
  address: string;
  port: number;
}

export type WorkerState = 'active' | 'draining';

export interface Heartbeat {
  v: typeof ENVELOPE_VERSION;
  workerId: string;
  state: WorkerState;
  /** Calls in progress on the worker. */
  calls: number;
  startedAt: number;
  sentAt: number;
  version: string;
  /** The slots the worker owns, each with the epoch it owns it at (docs/architecture.md "Worker takeover"). */
  slots: [slot: number, epoch: number][];
}

export type EnvelopeErrorCode = 'undecodable' | 'unknown-version' | 'missing-field';

/** An envelope that cannot be used: log it, count it by `code`, drop it. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
    /** `unknown-version`: the version the envelope carried (a number, or how another value looked); absent when it had none. */
    readonly version?: number | string,
  ) {
    super(message);
  }
}

// Plain maps rather than msgpackr records: every process decodes without shared structures.
const packr = new Packr({ useRecords: false, moreTypes: false });

type FieldType = 'string' | 'number' | 'bytes' | 'object' | 'string?' | 'number?' | 'object?';
type Shape = Readonly<Record<string, FieldType>>;

function check(value: unknown, shape: Shape, what: string): void {
  if (typeof value !== 'object' || value === null) throw new EnvelopeError('missing-field', `${what}: not a map`);
  const o = value as Record<string, unknown>;
  for (const key in shape) {
    const type = shape[key] as FieldType;
    const v = o[key];
    const optional = type.endsWith('?');
    if (v === undefined && optional) continue;
    const base = optional ? type.slice(0, -1) : type;
    const ok =
      base === 'bytes' ? v instanceof Uint8Array : base === 'object' ? typeof v === 'object' && v !== null : typeof v === base;
    if (!ok) throw new EnvelopeError('missing-field', `${what}: ${key} missing or not a ${base}`);
  }
}

/** Unpacks a map and checks its `v` (for this package's decoders; not part of its face). */
export function decodeVersioned(data: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = packr.unpack(data);
  } catch (err) {
    throw new EnvelopeError('undecodable', `${what}: ${(err as Error).message}`);
  }
  // msgpack maps decode to plain objects; arrays and msgpackr's 0xc1 marker object are not envelopes
  const proto: unknown = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) throw new EnvelopeError('undecodable', `${what}: not a map`);
  const v = (value as { v?: unknown }).v;
  // String() of a decoded map can throw (a `toString` key that is not a function): describe it by type
  const shown = typeof v === 'object' && v !== null ? typeof v : String(v);
  if (v !== ENVELOPE_VERSION) {
    throw new EnvelopeError('unknown-version', `${what}: version ${v === undefined ? 'missing' : shown}`, typeof v === 'number' ? v : v === undefined ? undefined : shown);
  }
  return value as Record<string, unknown>;
}

const ROUTE: Shape = {
  kind: 'string', method: 'string', status: 'number', callId: 'string', branch: 'string', toTag: 'string',
  fromTag: 'string', cseq: 'number', cseqMethod: 'string',
};
const TRANSPORT: Shape = {
  protocol: 'string', localAddress: 'string', localPort: 'number', remoteAddress: 'string', remotePort: 'number',
  connectionId: 'string?', nodeId: 'string', udp: 'object?', tcp: 'object?', tls: 'object?',
};
const LISTENER: Shape = { address: 'string', port: 'number' };

export function encodeEnvelope(e: InboundSip | OutboundSip | SendFailure | Heartbeat): Uint8Array {
  return packr.pack(e);
}

export function decodeInbound(data: Uint8Array): InboundSip {
  const o = decodeVersioned(data, 'inbound SIP');
  check(o, { sip: 'bytes', route: 'object', transport: 'object', receivedAt: 'number' }, 'inbound SIP');
  check(o.route, ROUTE, 'inbound SIP route');
  check(o.transport, TRANSPORT, 'inbound SIP transport');
  if (o.forwarded !== undefined && o.forwarded !== true) throw new EnvelopeError('missing-field', 'inbound SIP: forwarded not true');
  const listeners = o.transport as { udp?: unknown; tcp?: unknown; tls?: unknown };
  for (const p of ['udp', 'tcp', 'tls'] as const) if (listeners[p] !== undefined) check(listeners[p], LISTENER, `inbound SIP ${p} listener`);
  return o as unknown as InboundSip;
}

export function decodeOutbound(data: Uint8Array): OutboundSip {
  const o = decodeVersioned(data, 'outbound SIP');
  check(o, { sip: 'bytes', protocol: 'string', address: 'string', port: 'number', connectionId: 'string?', serverName: 'string?', tlsFiles: 'object?', fallback: 'object?', workerId: 'string', ref: 'string?' }, 'outbound SIP');
  if (o.fallback !== undefined) check(o.fallback, { address: 'string', port: 'number' }, 'outbound SIP fallback');
  if (o.tlsFiles !== undefined) check(o.tlsFiles, { caFile: 'string?', certFile: 'string?', keyFile: 'string?' }, 'outbound SIP tlsFiles');
  if (o.protocol !== 'udp' && o.protocol !== 'tcp' && o.protocol !== 'tls') throw new EnvelopeError('missing-field', `outbound SIP: protocol ${String(o.protocol)}`);
  return o as unknown as OutboundSip;
}

export function decodeSendFailure(data: Uint8Array): SendFailure {
  const o = decodeVersioned(data, 'send failure');
  check(o, { reason: 'string', protocol: 'string', address: 'string', port: 'number', ref: 'string?' }, 'send failure');
  return o as unknown as SendFailure;
}

export function decodeHeartbeat(data: Uint8Array): Heartbeat {
  const o = decodeVersioned(data, 'heartbeat');
  check(o, { workerId: 'string', state: 'string', calls: 'number', startedAt: 'number', sentAt: 'number', version: 'string' }, 'heartbeat');
  if (o.state !== 'active' && o.state !== 'draining') throw new EnvelopeError('missing-field', `heartbeat: state ${String(o.state)}`);
  checkSlots(o.slots);
  return o as unknown as Heartbeat;
}

function checkSlots(slots: unknown): void {
  if (!Array.isArray(slots)) throw new EnvelopeError('missing-field', 'heartbeat: slots missing or not a list');
  for (const entry of slots as unknown[]) {
    const ok = Array.isArray(entry) && entry.length === 2 && Number.isInteger(entry[0]) && Number.isInteger(entry[1]);
    if (!ok) throw new EnvelopeError('missing-field', 'heartbeat: slots: expected [slot, epoch] pairs of integers');
  }
}

/** Any msgpack payload (stats replies and the like), decoded without a schema. */
export function encodeMap(value: unknown): Uint8Array {
  return packr.pack(value);
}
export function decodeMap(data: Uint8Array): unknown {
  try {
    return packr.unpack(data);
  } catch (err) {
    throw new EnvelopeError('undecodable', (err as Error).message);
  }
}
