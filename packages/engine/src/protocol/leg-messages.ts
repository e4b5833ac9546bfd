import type { SipRequest, SipResponse, Uri } from '@switchboard/sip';
import type { TimerName } from '@switchboard/transactions';
import type { SessionTimerName } from '../dialog/session-timer.js';
import type { ActorRef } from '../kernel/actor-kernel.js';
import type { CallAddress, JoinReply } from './bridge-messages.js';
import type { RequestAnswered, RequestToken } from './requests.js';
import type { Destination } from './sip-link.js';

/** The leg's own timers (not a transaction's): the ringing bound, §9.1's wait after CANCEL, RFC 4028's two, the bound of a CSeq hold (takeover). */
export type LegTimerName = 'no-answer' | 'cancel-wait' | 'cseq-hold' | SessionTimerName;

/** Messages a leg actor handles: SIP from the wire, its timers, and the commands of its call (or of a transfer). */
export type LegMessage =
  /** `receivedAt`: when the transport first received it (Unix ms): the time of a BYE or CANCEL for the records. */
  | { type: 'request'; request: SipRequest; from: Destination; receivedAt?: number }
  | { type: 'response'; response: SipResponse }
  /** A transaction's timer (RFC 3261 §17 letters). */
  | { type: 'timer'; key: string; timer: TimerName }
  | { type: 'leg-timer'; name: LegTimerName }
  | { type: 'send-failure'; ref: string }
  /** UAS leg, its first step: the INVITE that created the call (the INVITE server transaction starts, 100 at once). */
  | { type: 'accept-invite'; invite: SipRequest }
  /** UAC leg, its first step: send the INVITE that opens it; `ackOffer`: delayed offer, our SDP goes in the ACK (§13.2.1). */
  | { type: 'place-invite'; uri: Uri; body?: Uint8Array; contentType?: string; headers: [string, string][]; maxForwards: number; ackOffer?: { body: Uint8Array; contentType: string | undefined } }
  /** UAS leg: answer the INVITE that created the call (provisional or final). */
  | { type: 'answer'; status: number; reason?: string; body?: Uint8Array; contentType?: string; headers?: [string, string][] }
  /**
   * Send a request inside this leg's dialog (a relayed re-INVITE, UPDATE, INFO, a NOTIFY…); its
   * answer goes to `replyTo` (default: the call) as `request-answered` with the same `token`.
   */
  | { type: 'send-request'; token: RequestToken; method: string; body?: Uint8Array; contentType?: string; headers?: [string, string][]; replyTo?: ActorRef<RequestAnswered> }
  /** Answer a request this leg passed to the call as `request` with `token`. */
  | { type: 'answer-request'; token: string; status: number; reason?: string; body?: Uint8Array; contentType?: string; headers?: [string, string][] }
  /** Attended transfer: is this the dialog a Replaces header names (RFC 3891 §3)? If so the call hands its far party over. */
  | { type: 'join'; callId: string; tags: string[]; master: CallAddress; replyTo: ActorRef<JoinReply> }
  /** End this leg: BYE when confirmed (with `reasonHeader` as its Reason, RFC 3326), CANCEL when an early UAC, a final error when an early UAS. */
  | { type: 'hangup'; status?: number; reason?: string; reasonHeader?: string };
