import type { SipRequest } from '@switchboard/sip';
import type { LimitHold } from '@switchboard/limits';
import type { ActorRef } from '../kernel/actor-kernel.js';
import type { CallAddress, JoinReply, JoinRequest } from './bridge-messages.js';
import type { LegMessage } from './leg-messages.js';
import type { FailureCause, LegName, Prepared, RequestAnswered } from './requests.js';
import type { Destination } from './sip-link.js';

export type { AttemptPrefix, FailureCause, LegName, Prepared, RequestAnswered, RequestToken } from './requests.js';

/**
 * admitting: waiting for the trunk's cluster-wide limits; routing: making the next target
 * ready (carrier rate, DNS); early: an attempt is placed and unanswered; answered/confirmed:
 * bridged; relaying: its far party was handed to another call (attended transfer); ending: one
 * side is gone or refused, the rest is being released.
 */
export type CallState = 'admitting' | 'routing' | 'early' | 'answered' | 'confirmed' | 'relaying' | 'ending' | 'ended';
/** What the call knows of each of its legs, for operators (`calls show`): plain data, no actor. */
export interface LegInfo {
  readonly name: LegName;
  readonly sipCallId: string;
  readonly role: 'uas' | 'uac';
  /** Where the party is: the leg's own peer (shared between calls), shown as `protocol:address:port`. */
  readonly peer: Pick<Destination, 'protocol' | 'address' | 'port'>;
}

/** What legs tell their call. */
export type LegEvent =
  | { type: 'provisional'; leg: LegName; status: number; reason: string; body: Uint8Array; contentType: string | undefined }
  | { type: 'answered'; leg: LegName; body: Uint8Array; contentType: string | undefined }
  | { type: 'failed'; leg: LegName; status: number; reason: string; cause: FailureCause; reasonHeader?: string }
  | { type: 'confirmed'; leg: LegName }
  /** `reasonHeader`: the request's or answer's Reason header (RFC 3326), for the records; `at`: when the transport received the CANCEL. */
  | { type: 'cancelled'; leg: LegName; reasonHeader?: string; at?: number }
  /** `reason`: set when the leg ended the session itself (its timer expired), not its party; `at`: when the transport received the BYE. */
  | { type: 'bye'; leg: LegName; reason?: string; reasonHeader?: string; at?: number }
  /** An in-dialog request to relay or decide on (`token`: the leg's key, for the answer); a REFER carries the whole request. */
  | { type: 'request'; leg: LegName; token: string; method: string; body: Uint8Array; contentType: string | undefined; request?: SipRequest }
  | RequestAnswered
  | { type: 'ended'; leg: LegName; cause: string }
  /** Attended transfer: this leg is the dialog a Replaces header names; its call hands the far party to `master`. */
  | { type: 'join-away'; leg: LegName; master: CallAddress; replyTo: ActorRef<JoinReply> };

/** A transfer's progress, told to its call (the transfer actor decides; the call bridges). */
export type TransferEvent =
  /** A leg the transfer placed: the call registers it before the leg's first event arrives. */
  /**
   * `actor`: the leg's actor object, which only the call's snapshots read (takeover/); typed as
   * an object so that protocol/ does not depend on dialog/ (the call narrows it with instanceof).
   */
  | { type: 'adopt'; transfer: string; info: LegInfo; ref: ActorRef<LegMessage>; actor?: object }
  /** The new party answered: bridge the remaining party to `leg`; the call holds `hold` (the new call's limit slot) until it ends. */
  | { type: 'transfer-answered'; transfer: string; newLeg: LegName; body: Uint8Array; contentType: string | undefined; hold?: LimitHold }
  /** Attended transfer: the far party of the replaced dialog is the call's now, through `relay`. */
  | { type: 'transfer-joined'; transfer: string; relay: CallAddress; body: Uint8Array; contentType: string | undefined; saw: Uint8Array | undefined }
  /** `refused`: by the trunk's policy or a limit, before any leg was placed. */
  | { type: 'transfer-failed'; transfer: string; status: number; reason: string; refused?: boolean }
  /** The transfer actor is gone (its subscription is over). */
  | { type: 'transfer-done'; transfer: string };

const LEG_EVENTS: ReadonlySet<string> = new Set<LegEvent['type']>([
  'provisional', 'answered', 'failed', 'confirmed', 'cancelled', 'bye', 'request', 'request-answered', 'ended', 'join-away',
]);

/** Whether a call's message is an event of one of its legs. */
export const isLegEvent = (m: CallMessage): m is LegEvent => LEG_EVENTS.has(m.type);

/** Everything a call actor handles. */
export type CallMessage =
  | LegEvent
  | TransferEvent
  /** The first step: the INVITE that created the call, received from `from`. */
  | { type: 'start'; invite: SipRequest; from: Destination }
  /** The call's own steps that waited on I/O: the trunk limit's verdict, the next target made ready. */
  | { type: 'admitted' }
  | Prepared
  /** The transferor did not send its BYE in time after a successful transfer (RFC 5589 §6): release it. */
  | { type: 'release-transferor'; transferor: LegName }
  /** The call reached its trunk's maximum duration (`restrictions.maxCallSeconds`). */
  | { type: 'max-duration' }
  /** A relaying call's master did not attach in time (see JOIN_ATTACH_MS). */
  | { type: 'join-unattached' }
  /** From the other half of a call joined across workers. */
  | { type: 'bridged'; message: BridgedMessage }
  // ---- from an operator (admin API) ----
  /** End every leg: BYE to parties that are up, a final answer or CANCEL to the others. */
  | { type: 'operator-hangup' }
  /** Adopted from an early record (worker takeover): the call cannot be set up here, so it ends cleanly. */
  | { type: 'taken-over-ringing' }
  /** Transfer the call's remote party to `target`, as the customer's REFER would (without NOTIFYs). */
  | { type: 'operator-transfer'; target: string; replyTo: ActorRef<OperatorTransferAnswer> };

export type OperatorTransferAnswer = { ok: true; transfer: string; kind: 'pstn' | 'sip' } | { ok: false; status: number; reason: string };

/** The events of the far party, sent by the relay to the master (the leg is called `remote` there). */
export type RelayedEvent = Extract<CallMessage, { type: 'provisional' | 'failed' | 'bye' | 'request' | 'request-answered' | 'ended' }>;
/** The master's commands for the far party, sent to the relay. */
export type RelayedCommand = Extract<LegMessage, { type: 'send-request' | 'answer-request' | 'hangup' }>;

/** `attached`: the master took the far party over (until then the relay may not assume anyone listens). */
export type BridgedMessage = { to: 'master'; event: RelayedEvent } | { to: 'relay'; command: RelayedCommand } | { to: 'relay'; attached: true };

/** How calls on different workers (or the same one) reach each other. */
export interface CallBridge {
  join(worker: string, request: JoinRequest): Promise<JoinReply>;
  send(to: CallAddress, message: BridgedMessage): void;
}

/** What a call keeps of each transfer it took (operators, decideRefer's count, snapshots). */
export interface TransferRecord {
  id: string;
  transferor: LegName;
  target: string;
  kind: 'pstn' | 'sip';
  billable: boolean;
  outcome: 'in-progress' | 'answered' | 'failed';
  status?: number;
}
