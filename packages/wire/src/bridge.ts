import { decodeVersioned, encodeMap, ENVELOPE_VERSION, EnvelopeError } from './envelopes.js';

// Attended transfer across workers (RFC 3891): the worker holding the REFER (the master call)
// asks the worker owning the replaced dialog to hand over that dialog's far party, then the two
// halves talk over `sb.worker.<id>.bridge`. What one worker sends another is input like any
// other: each decoder checks every field and builds its result from the checked fields only.

/** A call actor on a worker (maybe the sender's own). */
export interface CallAddress {
  worker: string;
  call: string;
}

/** Master → owner of the replaced dialog, named by our tag in the Replaces header. */
export interface JoinRequest {
  v: typeof ENVELOPE_VERSION;
  /** The replaced dialog's leg, as the scope in its tag. */
  legScope: string;
  callId: string;
  tags: string[];
  master: CallAddress;
}

/** `relay`: the call that now relays the far party; `sdp`: the far party's session; `saw`: what it last saw (the transferor's). */
export type JoinReply =
  | { v: typeof ENVELOPE_VERSION; ok: true; relay: CallAddress; sdp?: Uint8Array; sdpType?: string; saw?: Uint8Array }
  | { v: typeof ENVELOPE_VERSION; ok: false; status: number; reason: string };

/** Why a placed leg failed: an answer of the far end, or something that stood for one. */
export type FailureCause = 'response' | 'timeout' | 'transport-error' | 'no-answer' | 'no-ack';
const FAILURE_CAUSES: ReadonlySet<string> = new Set<FailureCause>(['response', 'timeout', 'transport-error', 'no-answer', 'no-ack']);

/**
 * Who asked a leg to send an in-dialog request, and which request it was: handed back with
 * the answer (across workers too, for the far party of a joined call).
 */
export type RequestToken =
  /** An in-dialog request of the other party, relayed by the call (`id`: the call's relay number). */
  | { readonly kind: 'relay'; readonly id: number }
  /** A transfer's re-INVITE: of the remaining party (to the new party's session), or of the new party. */
  | { readonly kind: 'reinvite'; readonly party: 'remaining' | 'new' }
  /** A NOTIFY of a transfer's subscription (RFC 3515 §2.4.4), answered straight to the transfer. */
  | { readonly kind: 'notify'; readonly seq: number };

/** The far party's events, relay → master (where that party is the leg `remote`). */
export type RelayedEvent =
  | { type: 'provisional'; status: number; reason: string; body: Uint8Array; contentType?: string }
  | { type: 'failed'; status: number; reason: string; cause: FailureCause; reasonHeader?: string }
  /** `at`: when the far party's transport received the BYE (Unix ms): the time the call ends in its records. */
  | { type: 'bye'; reason?: string; reasonHeader?: string; at?: number }
  | { type: 'request'; token: string; method: string; body: Uint8Array; contentType?: string }
  | { type: 'request-answered'; token: RequestToken; status: number; reason: string; body?: Uint8Array; contentType?: string }
  | { type: 'ended'; cause: string };

/** The master's commands for the far party, master → relay. */
export type RelayedCommand =
  | { type: 'send-request'; token: RequestToken; method: string; body?: Uint8Array; contentType?: string; headers?: [string, string][] }
  | { type: 'answer-request'; token: string; status: number; reason?: string; body?: Uint8Array; contentType?: string; headers?: [string, string][] }
  /** `reasonHeader`: the Reason (RFC 3326) of the BYE when we end the call ourselves. */
  | { type: 'hangup'; status?: number; reason?: string; reasonHeader?: string };

/** `attached`: the master took the far party over (until then the relay may not assume anyone listens). */
export type BridgedMessage = { to: 'master'; event: RelayedEvent } | { to: 'relay'; command: RelayedCommand } | { to: 'relay'; attached: true };

/** One message between the halves of a joined call, for the call actor `call` on the receiving worker. */
export interface Bridged {
  v: typeof ENVELOPE_VERSION;
  call: string;
  message: BridgedMessage;
}

export function encodeJoinRequest(r: JoinRequest): Uint8Array {
  return encodeMap(r);
}

export function encodeJoinReply(r: JoinReply): Uint8Array {
  return encodeMap(r);
}

export function encodeBridged(b: Bridged): Uint8Array {
  return encodeMap(b);
}

export function decodeJoinRequest(data: Uint8Array): JoinRequest {
  const o = new Fields(decodeVersioned(data, 'join request'), 'join request');
  return { v: ENVELOPE_VERSION, legScope: o.string('legScope'), callId: o.string('callId'), tags: o.strings('tags'), master: readAddress(o.map('master')) };
}

export function decodeJoinReply(data: Uint8Array): JoinReply {
  const o = new Fields(decodeVersioned(data, 'join reply'), 'join reply');
  const ok = o.boolean('ok');
  if (!ok) return { v: ENVELOPE_VERSION, ok, status: o.number('status'), reason: o.string('reason') };
  const sdp = o.optionalBytes('sdp');
  const sdpType = o.optionalString('sdpType');
  const saw = o.optionalBytes('saw');
  return {
    v: ENVELOPE_VERSION, ok, relay: readAddress(o.map('relay')),
    ...(sdp === undefined ? {} : { sdp }), ...(sdpType === undefined ? {} : { sdpType }), ...(saw === undefined ? {} : { saw }),
  };
}

export function decodeBridged(data: Uint8Array): Bridged {
  const o = new Fields(decodeVersioned(data, 'bridge message'), 'bridge message');
  const call = o.string('call');
  const m = o.map('message');
  const to = m.string('to');
  if (to === 'master') return { v: ENVELOPE_VERSION, call, message: { to, event: readEvent(m.map('event')) } };
  if (to !== 'relay') throw m.invalid('to', to);
  if (m.has('command')) return { v: ENVELOPE_VERSION, call, message: { to, command: readCommand(m.map('command')) } };
  if (m.boolean('attached')) return { v: ENVELOPE_VERSION, call, message: { to, attached: true } };
  throw m.invalid('attached', false);
}

function readAddress(o: Fields): CallAddress {
  return { worker: o.string('worker'), call: o.string('call') };
}

function readEvent(o: Fields): RelayedEvent {
  const type = o.string('type');
  // optional fields are read only for the types that have them
  const withContentType = () => {
    const contentType = o.optionalString('contentType');
    return contentType === undefined ? {} : { contentType };
  };
  const withReasonHeader = () => {
    const reasonHeader = o.optionalString('reasonHeader');
    return reasonHeader === undefined ? {} : { reasonHeader };
  };
  switch (type) {
    case 'provisional':
      return { type, status: o.number('status'), reason: o.string('reason'), body: o.bytes('body'), ...withContentType() };
    case 'failed': {
      const cause = o.string('cause');
      if (!isFailureCause(cause)) throw o.invalid('cause', cause);
      return { type, status: o.number('status'), reason: o.string('reason'), cause, ...withReasonHeader() };
    }
    case 'bye': {
      const reason = o.optionalString('reason');
      const at = o.optionalNumber('at');
      return { type, ...(reason === undefined ? {} : { reason }), ...withReasonHeader(), ...(at === undefined ? {} : { at }) };
    }
    case 'request':
      return { type, token: o.string('token'), method: o.string('method'), body: o.bytes('body'), ...withContentType() };
    case 'request-answered': {
      const body = o.optionalBytes('body');
      return { type, token: readToken(o.map('token')), status: o.number('status'), reason: o.string('reason'), ...(body === undefined ? {} : { body }), ...withContentType() };
    }
    case 'ended':
      return { type, cause: o.string('cause') };
    default:
      throw o.invalid('type', type);
  }
}

function readCommand(o: Fields): RelayedCommand {
  const type = o.string('type');
  const withReason = () => {
    const reason = o.optionalString('reason');
    return reason === undefined ? {} : { reason };
  };
  const content = () => {
    const body = o.optionalBytes('body');
    const contentType = o.optionalString('contentType');
    const headers = o.optionalHeaders('headers');
    return { ...(body === undefined ? {} : { body }), ...(contentType === undefined ? {} : { contentType }), ...(headers === undefined ? {} : { headers }) };
  };
  switch (type) {
    case 'send-request':
      return { type, token: readToken(o.map('token')), method: o.string('method'), ...content() };
    case 'answer-request':
      return { type, token: o.string('token'), status: o.number('status'), ...withReason(), ...content() };
    case 'hangup': {
      const status = o.optionalNumber('status');
      const reasonHeader = o.optionalString('reasonHeader');
      return { type, ...(status === undefined ? {} : { status }), ...withReason(), ...(reasonHeader === undefined ? {} : { reasonHeader }) };
    }
    default:
      throw o.invalid('type', type);
  }
}

/** msgpack maps decode to plain objects; arrays and bytes are not maps. */
function isMap(v: unknown): v is Record<string, unknown> {
  const proto: unknown = typeof v === 'object' && v !== null ? Object.getPrototypeOf(v) : undefined;
  return proto === Object.prototype || proto === null;
}

function readToken(o: Fields): RequestToken {
  const kind = o.string('kind');
  switch (kind) {
    case 'relay':
      return { kind, id: o.number('id') };
    case 'notify':
      return { kind, seq: o.number('seq') };
    case 'reinvite': {
      const party = o.string('party');
      if (party !== 'remaining' && party !== 'new') throw o.invalid('party', party);
      return { kind, party };
    }
    default:
      throw o.invalid('kind', kind);
  }
}

function isFailureCause(cause: string): cause is FailureCause {
  return FAILURE_CAUSES.has(cause);
}

/** Typed reads of a decoded map's fields: each one missing or of another type is an EnvelopeError. */
class Fields {
  constructor(
    private readonly o: Record<string, unknown>,
    private readonly what: string,
  ) {}

  has(key: string): boolean {
    return this.o[key] !== undefined;
  }

  string(key: string): string {
    const v = this.o[key];
    if (typeof v !== 'string') throw this.missing(key, 'string');
    return v;
  }

  number(key: string): number {
    const v = this.o[key];
    if (typeof v !== 'number') throw this.missing(key, 'number');
    return v;
  }

  boolean(key: string): boolean {
    const v = this.o[key];
    if (typeof v !== 'boolean') throw this.missing(key, 'boolean');
    return v;
  }

  bytes(key: string): Uint8Array {
    const v = this.o[key];
    if (!(v instanceof Uint8Array)) throw this.missing(key, 'bytes');
    return v;
  }

  strings(key: string): string[] {
    const v = this.o[key];
    if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string')) throw this.missing(key, 'list of strings');
    return v;
  }

  map(key: string): Fields {
    const v = this.o[key];
    if (!isMap(v)) throw this.missing(key, 'map');
    return new Fields(v, `${this.what} ${key}`);
  }

  optionalString(key: string): string | undefined {
    return this.o[key] === undefined ? undefined : this.string(key);
  }

  optionalNumber(key: string): number | undefined {
    return this.o[key] === undefined ? undefined : this.number(key);
  }

  optionalBytes(key: string): Uint8Array | undefined {
    return this.o[key] === undefined ? undefined : this.bytes(key);
  }

  /** SIP header fields as [name, value] pairs. */
  optionalHeaders(key: string): [string, string][] | undefined {
    const v = this.o[key];
    if (v === undefined) return undefined;
    const pair = (h: unknown): h is [string, string] => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string';
    if (!Array.isArray(v) || !v.every(pair)) throw this.missing(key, 'list of [name, value]');
    return v;
  }

  /** A field of the right type whose value the contract does not have. */
  invalid(key: string, value: unknown): EnvelopeError {
    const shown = typeof value === 'string' ? `'${value}'` : typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
    return new EnvelopeError('missing-field', `${this.what}: ${key} ${shown} is not one this version knows`);
  }

  private missing(key: string, type: string): EnvelopeError {
    return new EnvelopeError('missing-field', `${this.what}: ${key} missing or not a ${type}`);
  }
}
