import type { Logger } from 'pino';
import type { SipUri } from '@switchboard/sip';
import type { TrunkPolicy } from '@switchboard/trunking';
import type { SipHop } from './locate/sip-locator.js';
import type { CallBridge } from './transfer/call-bridge.js';
import type { CdrMessage } from './records/cdr-actor.js';
import type { CallActor } from './call/call-actor.js';
import type { RoutingIds } from '@switchboard/wire';
import type { ActorKernel, ActorRef } from './kernel/actor-kernel.js';
import type { CallLimiter } from '@switchboard/limits';
import type { SipLink } from './protocol/sip-link.js';
import type { TimerSettings } from '@switchboard/transactions';
import type { CallSpan, CallTracer } from './tracing/call-tracer.js';
import type { Counters } from './metrics/counters.js';

export interface SessionTimerSettings {
  /** Smallest Session-Expires accepted (RFC 4028 §5: 90 s at least); below it → 422. */
  minSE: number;
}

/** What every actor of a worker shares. */
export interface EngineContext {
  workerId: string;
  ids: RoutingIds;
  link: SipLink;
  kernel: ActorKernel;
  timers: TimerSettings;
  sessionTimers: SessionTimerSettings;
  /** Who may call, and where calls go (issue 6): replaced as a whole when the configuration changes. */
  policy: TrunkPolicy;
  /** Cluster-wide concurrency and calls-per-second limits of trunks and carriers. */
  limiter: CallLimiter;
  /** Resolves a host name of a carrier or customer URI to an address. */
  resolve: (host: string) => Promise<string>;
  /** RFC 3263 location of SIP destinations on other domains (transfers), overrides first. */
  locator: { locate(uri: SipUri): Promise<SipHop[]> };
  /** How long after a successful transfer the engine waits for the transferor's BYE before sending its own (RFC 5589 §6). */
  transferorByeMs: number;
  /** Attended transfer: calls reaching calls, on this worker or another (NATS). */
  bridge: CallBridge;
  /** How long a relaying call waits for its master to attach (JOIN_ATTACH_MS). */
  joinAttachMs: number;
  /** The worker's CDR actor: every call tells it what happened, it emits the records. */
  cdr: ActorRef<CdrMessage>;
  /** Counters the stats subject reports (refusals by cause, failovers, limit refusals). */
  counters: Counters;
  /** How long a placed leg may ring (provisional, no final) before the engine cancels it. */
  noAnswerMs: number;
  log: Logger;
  /** Index of INVITE server transactions by key, for retransmissions and CANCEL (§9.2, §17.2.3). */
  invites: Map<string, string>;
  /** Calls in progress by call id (what heartbeats report, drain waits for and stats break down by state). */
  calls: Map<string, CallActor>;
  /** Call and transfer spans (issue 9): absent when tracing is off, and in unit tests. */
  tracer?: CallTracer;
  /** On a traced call's or transfer's own context (`tracedContext`): its span. */
  trace?: CallSpan;
}
