import type { SipRequest } from '@switchboard/sip';
import type { ActorRef } from '../kernel/actor-kernel.js';
import type { LegActor, LegMessage } from '../dialog/leg-actor.js';
import type { BridgedMessage, CallAddress, JoinReply } from '../transfer/call-bridge.js';

/** `a`: the leg that brought the call in (UAS); `b1`, `b2`…: the attempts the engine placed (UAC), one per target tried. */
export type LegName = string;

/** Why a placed leg failed: an answer of the far end, or something that stood for one. */
export type FailureCause = 'response' | 'timeout' | 'transport-error' | 'no-answer' | 'no-ack';

/** What legs tell their call. */
export type CallMessage =
  | { type: 'provisional'; leg: LegName; status: number; reason: string; body: Uint8Array; contentType: string | undefined }
  | { type: 'answered'; leg: LegName; body: Uint8Array; contentType: string | undefined }
  | { type: 'failed'; leg: LegName; status: number; reason: string; cause: FailureCause; reasonHeader?: string }
  | { type: 'confirmed'; leg: LegName }
  /** `reasonHeader`: the request's or answer's Reason header (RFC 3326), for the records. */
  | { type: 'cancelled'; leg: LegName; reasonHeader?: string }
  /** `reason`: set when the leg ended the session itself (its timer expired), not its party. */
  | { type: 'bye'; leg: LegName; reason?: string; reasonHeader?: string }
  /** An in-dialog request to relay or decide on; a REFER carries the whole request. */
  | { type: 'request'; leg: LegName; token: string; method: string; body: Uint8Array; contentType: string | undefined; request?: SipRequest }
  | { type: 'request-answered'; leg: LegName; token: string; status: number; reason: string; body?: Uint8Array; contentType?: string | undefined }
  | { type: 'ended'; leg: LegName; cause: string }
  /** The call's own steps that waited on I/O: the trunk limit's verdict, the next target made ready. */
  | { type: 'admitted' }
  | { type: 'prepared'; attempt: number; address?: string; status?: number; reason?: string }
  // ---- from a transfer actor (issue 7) ----
  /** A leg the transfer placed: the call registers it before the leg's first event arrives. */
  | { type: 'adopt'; transfer: string; name: LegName; actor: LegActor; ref: ActorRef<LegMessage> }
  /** Send this NOTIFY in the transferor's dialog; its answer goes back as `notify-answered`. */
  | { type: 'notify'; transfer: string; seq: number; headers: [string, string][]; body: string; contentType: string }
  /** The new party answered: bridge the remaining party to `leg` (and hold `release` until the call ends). */
  | { type: 'transfer-answered'; transfer: string; leg: LegName; body: Uint8Array; contentType: string | undefined; release: () => void }
  /** `refused`: by the trunk's policy or a limit, before any leg was placed. */
  | { type: 'transfer-failed'; transfer: string; status: number; reason: string; refused?: boolean }
  /** The transferor did not send its BYE in time after a successful transfer (RFC 5589 §6): release it. */
  | { type: 'release-transferor'; leg: LegName }
  /** Attended transfer, on the call that holds the replaced dialog `leg`: hand its far party to `master`. */
  | { type: 'join-away'; leg: LegName; master: CallAddress; respond: (reply: JoinReply) => void }
  /** Attended transfer, on the master: the far party of the replaced dialog is ours now, through `relay`. */
  | { type: 'transfer-joined'; transfer: string; relay: CallAddress; body: Uint8Array; contentType: string | undefined; saw: Uint8Array | undefined }
  /** A relaying call's master did not attach in time (see JOIN_ATTACH_MS). */
  | { type: 'join-unattached' }
  /** From the other half of a call joined across workers. */
  | { type: 'bridged'; message: BridgedMessage }
  /** The transfer actor is gone (its subscription is over). */
  | { type: 'transfer-done'; transfer: string }
  // ---- from an operator (admin API, issue 9) ----
  /** End every leg: BYE to parties that are up, a final answer or CANCEL to the others. */
  | { type: 'operator-hangup' }
  /** Transfer the call's remote party to `target`, as the customer's REFER would (without NOTIFYs). */
  | { type: 'operator-transfer'; target: string; respond: (answer: OperatorTransferAnswer) => void };

export type OperatorTransferAnswer = { ok: true; transfer: string; kind: 'pstn' | 'sip' } | { ok: false; status: number; reason: string };
