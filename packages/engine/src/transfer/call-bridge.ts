import {
  ENVELOPE_VERSION, type Bridged, type CallAddress as WireCallAddress, type JoinReply as WireJoinReply, type JoinRequest as WireJoinRequest,
  type RelayedCommand as WireRelayedCommand, type RelayedEvent as WireRelayedEvent,
} from '@switchboard/wire';
import { REMOTE_LEG, type JoinReply, type JoinRequest } from '../protocol/bridge-messages.js';
import type { BridgedMessage, CallBridge, RelayedCommand, RelayedEvent } from '../protocol/call-messages.js';

// The engine's side of @switchboard/wire's join and bridge envelopes: what the actors build and
// receive, and the explicit mapping at the NATS edge (the version; the master's name for the far party).

/** A bridge inside one worker: joins and messages go straight to its engine. */
export function localBridge(engine: () => { onJoin(r: JoinRequest, respond: (reply: JoinReply) => void): void; onBridged(call: string, m: BridgedMessage): void }): CallBridge {
  return {
    join: (_worker, request) => new Promise((resolve) => engine().onJoin(request, resolve)),
    send: (to, message) => engine().onBridged(to.call, message),
  };
}

export function toWireJoinRequest(r: JoinRequest): WireJoinRequest {
  return { v: ENVELOPE_VERSION, legScope: r.legScope, callId: r.callId, tags: r.tags, master: { worker: r.master.worker, call: r.master.call } };
}

export function fromWireJoinRequest(r: WireJoinRequest): JoinRequest {
  return { legScope: r.legScope, callId: r.callId, tags: r.tags, master: r.master };
}

export function toWireJoinReply(r: JoinReply): WireJoinReply {
  if (!r.ok) return { v: ENVELOPE_VERSION, ok: false, status: r.status, reason: r.reason };
  return {
    v: ENVELOPE_VERSION, ok: true, relay: { worker: r.relay.worker, call: r.relay.call },
    ...(r.sdp === undefined ? {} : { sdp: r.sdp }), ...(r.sdpType === undefined ? {} : { sdpType: r.sdpType }), ...(r.saw === undefined ? {} : { saw: r.saw }),
  };
}

export function fromWireJoinReply(r: WireJoinReply): JoinReply {
  if (!r.ok) return { ok: false, status: r.status, reason: r.reason };
  return { ok: true, relay: r.relay, ...(r.sdp === undefined ? {} : { sdp: r.sdp }), ...(r.sdpType === undefined ? {} : { sdpType: r.sdpType }), ...(r.saw === undefined ? {} : { saw: r.saw }) };
}

/**
 * The envelope of `message` for call `call` on another worker; undefined for a command that is
 * not relayed (the call actor tells its `remote` leg whatever it tells a leg).
 */
export function toWireBridged(call: string, message: BridgedMessage): Bridged | undefined {
  if (message.to === 'master') return { v: ENVELOPE_VERSION, call, message: { to: 'master', event: toWireEvent(message.event) } };
  if ('attached' in message) return { v: ENVELOPE_VERSION, call, message: { to: 'relay', attached: true } };
  const command = toWireCommand(message.command);
  return command === undefined ? undefined : { v: ENVELOPE_VERSION, call, message: { to: 'relay', command } };
}

export function fromWireBridged(b: Bridged): { call: string; message: BridgedMessage } {
  const m = b.message;
  if (m.to === 'master') return { call: b.call, message: { to: 'master', event: fromWireEvent(m.event) } };
  if ('attached' in m) return { call: b.call, message: { to: 'relay', attached: true } };
  return { call: b.call, message: { to: 'relay', command: fromWireCommand(m.command) } };
}

/** Drops the relay's leg name (and a REFER's parsed request): the master knows the party as `remote`. */
function toWireEvent(e: RelayedEvent): WireRelayedEvent {
  switch (e.type) {
    case 'provisional':
      return { type: e.type, status: e.status, reason: e.reason, body: e.body, ...(e.contentType === undefined ? {} : { contentType: e.contentType }) };
    case 'failed':
      return { type: e.type, status: e.status, reason: e.reason, cause: e.cause, ...(e.reasonHeader === undefined ? {} : { reasonHeader: e.reasonHeader }) };
    case 'bye':
      return {
        type: e.type, ...(e.reason === undefined ? {} : { reason: e.reason }), ...(e.reasonHeader === undefined ? {} : { reasonHeader: e.reasonHeader }),
        ...(e.at === undefined ? {} : { at: e.at }),
      };
    case 'request':
      return { type: e.type, token: e.token, method: e.method, body: e.body, ...(e.contentType === undefined ? {} : { contentType: e.contentType }) };
    case 'request-answered':
      return {
        type: e.type, token: e.token, status: e.status, reason: e.reason,
        ...(e.body === undefined ? {} : { body: e.body }), ...(e.contentType === undefined ? {} : { contentType: e.contentType }),
      };
    case 'ended':
      return { type: e.type, cause: e.cause };
  }
}

function fromWireEvent(e: WireRelayedEvent): RelayedEvent {
  const leg = REMOTE_LEG;
  switch (e.type) {
    case 'provisional':
      return { type: e.type, leg, status: e.status, reason: e.reason, body: e.body, contentType: e.contentType };
    case 'failed':
      return { type: e.type, leg, status: e.status, reason: e.reason, cause: e.cause, ...(e.reasonHeader === undefined ? {} : { reasonHeader: e.reasonHeader }) };
    case 'bye':
      return {
        type: e.type, leg, ...(e.reason === undefined ? {} : { reason: e.reason }), ...(e.reasonHeader === undefined ? {} : { reasonHeader: e.reasonHeader }),
        ...(e.at === undefined ? {} : { at: e.at }),
      };
    case 'request':
      return { type: e.type, leg, token: e.token, method: e.method, body: e.body, contentType: e.contentType };
    case 'request-answered':
      return { type: e.type, leg, token: e.token, status: e.status, reason: e.reason, ...(e.body === undefined ? {} : { body: e.body }), contentType: e.contentType };
    case 'ended':
      return { type: e.type, leg, cause: e.cause };
  }
}

function toWireCommand(c: RelayedCommand): WireRelayedCommand | undefined {
  switch (c.type) {
    case 'send-request':
      return { type: c.type, token: c.token, method: c.method, ...content(c) };
    case 'answer-request':
      return { type: c.type, token: c.token, status: c.status, ...(c.reason === undefined ? {} : { reason: c.reason }), ...content(c) };
    case 'hangup':
      return {
        type: c.type, ...(c.status === undefined ? {} : { status: c.status }), ...(c.reason === undefined ? {} : { reason: c.reason }),
        ...(c.reasonHeader === undefined ? {} : { reasonHeader: c.reasonHeader }),
      };
    default:
      // defensive: `remoteLeg` passes only these three, but what reaches a NATS edge is checked there
      return undefined;
  }
}

function content(c: { body?: Uint8Array; contentType?: string; headers?: [string, string][] }): { body?: Uint8Array; contentType?: string; headers?: [string, string][] } {
  return {
    ...(c.body === undefined ? {} : { body: c.body }), ...(c.contentType === undefined ? {} : { contentType: c.contentType }),
    ...(c.headers === undefined ? {} : { headers: c.headers }),
  };
}

/** The wire's commands are the legs' own: the compiler holds the two shapes together. */
function fromWireCommand(c: WireRelayedCommand): RelayedCommand {
  return c;
}
