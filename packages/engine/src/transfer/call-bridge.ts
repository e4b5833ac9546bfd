import type { CallMessage } from '../protocol/call-messages.js';
import type { LegMessage } from '../dialog/leg-actor.js';

/** Who a joined call's other half is: a call actor on a worker (maybe this one). */
export interface CallAddress {
  worker: string;
  call: string;
}

/**
 * Attended transfer (RFC 3891): the call holding the REFER (the master) asks the worker that
 * owns the replaced dialog — named by our tag in the Replaces header — to hand over that
 * dialog's far party. Ownership needs no table: the tag carries the worker id (MAC-checked)
 * and the leg's scope.
 */
export interface JoinRequest {
  legScope: string;
  callId: string;
  tags: string[];
  master: CallAddress;
}

export type JoinReply =
  | { ok: true; relay: CallAddress; sdp?: Uint8Array; sdpType?: string; saw?: Uint8Array }
  | { ok: false; status: number; reason: string };

/** The events of the far party, sent by the relay to the master (the leg is called `remote` there). */
export type RelayedEvent = Extract<CallMessage, { type: 'provisional' | 'failed' | 'bye' | 'request' | 'request-answered' | 'ended' }>;
/** The master's commands for the far party, sent to the relay. */
export type RelayedCommand = Extract<LegMessage, { type: 'send-request' | 'answer-request' | 'hangup' }>;

/** `attached`: the master took the far party over (until then the relay may not assume anyone listens). */
export type BridgedMessage = { to: 'master'; event: RelayedEvent } | { to: 'relay'; command: RelayedCommand } | { to: 'relay'; attached: true };

/** How long a relay waits for its master to attach before it hangs up the far party it holds for nobody. */
export const JOIN_ATTACH_MS = 5_000;

/** How calls on different workers (or the same one) reach each other. */
export interface CallBridge {
  join(worker: string, request: JoinRequest): Promise<JoinReply>;
  send(to: CallAddress, message: BridgedMessage): void;
}

/** A bridge inside one worker: joins and messages go straight to its engine. */
export function localBridge(engine: () => { onJoin(r: JoinRequest, respond: (reply: JoinReply) => void): void; onBridged(call: string, m: BridgedMessage): void }): CallBridge {
  return {
    join: (_worker, request) => new Promise((resolve) => engine().onJoin(request, resolve)),
    send: (to, message) => engine().onBridged(to.call, message),
  };
}

const EVENTS = new Set(['provisional', 'failed', 'bye', 'request', 'request-answered', 'ended']);
const COMMANDS = new Set(['send-request', 'answer-request', 'hangup']);

/** Checks a decoded bridge message: what another worker sends is input like any other. */
export function readBridgedMessage(x: unknown): { call: string; message: BridgedMessage } | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const { call, message } = x as { call?: unknown; message?: { to?: unknown; event?: { type?: unknown }; command?: { type?: unknown } } };
  if (typeof call !== 'string' || typeof message !== 'object' || message === null) return undefined;
  if (message.to === 'master' && typeof message.event?.type === 'string' && EVENTS.has(message.event.type)) return { call, message: message as BridgedMessage };
  if (message.to === 'relay' && typeof message.command?.type === 'string' && COMMANDS.has(message.command.type)) return { call, message: message as BridgedMessage };
  if (message.to === 'relay' && (message as { attached?: unknown }).attached === true) return { call, message: { to: 'relay', attached: true } };
  return undefined;
}

export function readJoinRequest(x: unknown): JoinRequest | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = x as Partial<JoinRequest>;
  const okMaster = typeof r.master === 'object' && r.master !== null && typeof r.master.worker === 'string' && typeof r.master.call === 'string';
  if (typeof r.legScope !== 'string' || typeof r.callId !== 'string' || !Array.isArray(r.tags) || !r.tags.every((t) => typeof t === 'string') || !okMaster) return undefined;
  return r as JoinRequest;
}
