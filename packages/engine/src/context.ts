import type { Logger } from 'pino';
import type { SipUri } from '@switchboard/sip';
import type { TrunkPolicy } from '@switchboard/trunking';
import type { SipHop } from './locate/sip-locator.js';
import type { CallBridge, CallMessage } from './protocol/call-messages.js';
import type { CdrMessage } from './records/cdr-actor.js';
import type { CallDetail, CallSummary } from '@switchboard/admin';
import type { RoutingIds } from '@switchboard/wire';
import type { ActorKernel, ActorRef } from './kernel/actor-kernel.js';
import type { CallLimiter } from '@switchboard/limits';
import type { SipLink } from './protocol/sip-link.js';
import type { TimerSettings } from '@switchboard/transactions';
import type { CallSpan, CallTracer } from './tracing/call-tracer.js';
import type { Counters } from './metrics/counters.js';
import type { SettledTransactions } from './dialog/settled-transactions.js';
import type { CallDeadlines } from './call/call-deadlines.js';

/**
 * The routing slots this worker owns (docs/architecture.md "Worker takeover"): every id a call
 * mints (tags, branches) names its slot, so the call can move with the slot to another worker.
 */
export interface WorkerSlots {
  /** The slot for a new call: a random one among those owned and ready; undefined when there is none. */
  pickSlot(): number | undefined;
  /** Which worker owns `slot`, as this worker's view of the slot bucket says; undefined when none does. */
  ownerOf(slot: number): string | undefined;
}

export interface SessionTimerSettings {
  /** Smallest Session-Expires accepted (RFC 4028 §5: 90 s at least); below it → 422. */
  minSE: number;
}

/** RFC 3263 location of SIP destinations on other domains (transfers), overrides first. */
export interface SipLocate {
  locate(uri: SipUri): Promise<SipHop[]>;
}

/** Made from one revision of the trunking configuration, so a call never mixes two. */
export interface TrunkingInForce {
  /** Who may call, and where calls go (issue 6). */
  readonly policy: TrunkPolicy;
  readonly locator: SipLocate;
}

/** The edge's side of authentication (README "Security", edge limits): absent in unit tests. */
export interface EdgeAuthentication {
  /** A request from `address` passed digest authentication: the transport nodes stop treating it as a stranger. */
  authenticated(address: string): void;
  /** Claims one use of a digest nonce and count across the cluster: false when another request used it (a replay). */
  claimNonce(nonce: string, nc: string): Promise<boolean>;
}

/**
 * The trunking configuration in force: `current` is replaced as a whole when the cluster's
 * configuration changes (worker/live-trunking.ts). A call reads it once, as it starts, and
 * keeps what it read: a change applies to later calls only.
 */
export interface LiveTrunkingView {
  readonly current: TrunkingInForce;
}

/**
 * What every actor of a worker shares: wiring made once, before the first call, and never
 * reassigned. What changes while the worker runs lives behind `trunking`.
 */
export interface EngineContext {
  readonly workerId: string;
  readonly ids: RoutingIds;
  readonly slots: WorkerSlots;
  readonly link: SipLink;
  readonly kernel: ActorKernel;
  readonly timers: TimerSettings;
  readonly sessionTimers: SessionTimerSettings;
  /** The trunk policy and SIP locator in force. */
  readonly trunking: LiveTrunkingView;
  /** Cluster-wide concurrency and calls-per-second limits of trunks and carriers. */
  readonly limiter: CallLimiter;
  /** Resolves a host name of a carrier or customer URI to an address. */
  readonly resolve: (host: string) => Promise<string>;
  /** How long after a successful transfer the engine waits for the transferor's BYE before sending its own (RFC 5589 §6). */
  readonly transferorByeMs: number;
  /** Attended transfer: calls reaching calls, on this worker or another (NATS). */
  readonly bridge: CallBridge;
  /** How long a relaying call waits for its master to attach (JOIN_ATTACH_MS). */
  readonly joinAttachMs: number;
  /** The worker's CDR actor: every call tells it what happened, it emits the records. */
  readonly cdr: ActorRef<CdrMessage>;
  /** Counters the stats subject reports (refusals by cause, failovers, limit refusals). */
  readonly counters: Counters;
  /** How long a placed leg may ring (provisional, no final) before the engine cancels it. */
  readonly noAnswerMs: number;
  readonly log: Logger;
  /** Index of INVITE server transactions by key, for retransmissions and CANCEL (§9.2, §17.2.3). */
  readonly invites: Map<string, string>;
  /** Ended legs' transactions that still answer retransmissions (§17), so the legs could stop. */
  readonly settled: SettledTransactions;
  /** Calls in progress by call id (what heartbeats report, drain waits for and stats break down by state). */
  readonly calls: Map<string, LiveCall>;
  /** The calls' maximum durations, on one timer. */
  readonly deadlines: CallDeadlines;
  /** Digest-authenticated sources told to the edge, and nonces claimed cluster-wide. */
  readonly edge?: EdgeAuthentication;
  /** Call and transfer spans (issue 9): absent when tracing is off, and in unit tests. */
  readonly tracer?: CallTracer;
  /** On a traced call's or transfer's own context (`tracedContext`): its span. */
  readonly trace?: CallSpan;
  /** Worker takeover (issue 16): what confirmed calls tell their snapshots; absent, nothing is snapshotted. */
  readonly snapshots?: CallSnapshotting;
}

/** A call in progress as the worker sees it: for operators, stats and drain; the call actor is one. */
export interface LiveCall {
  readonly state: string;
  /** The routing slot the call's ids are minted in. */
  readonly routingSlot: number;
  readonly self: ActorRef<CallMessage>;
  summary(): CallSummary;
  detail(): CallDetail;
}

/**
 * What a call tells its snapshots (takeover/), from its own actor's turn: each is a flag or a
 * table entry, never I/O (the writer captures and writes on a later turn). Declared here, not in
 * takeover/, because the snapshots read the call actor and the call actor reads this context.
 */
export interface CallSnapshotting {
  /** The call is confirmed (answered and ACKed): from now on it is snapshotted. */
  confirmed(call: LiveCall): void;
  /**
   * The caller heard the call ring (its first relayed 18x): an early record is written if it still
   * rings worker.snapshots.earlyAfterMs later (or at a handover), so an adopter can end it cleanly.
   */
  ringing(call: LiveCall): void;
  /** Something the snapshot holds may have changed (an in-dialog transaction started or ended, the pair, a transfer). */
  changed(callId: string): void;
  /** The call is over: its snapshot is deleted. */
  ended(callId: string): void;
}
