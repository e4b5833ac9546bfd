import type { Logger } from 'pino';
import type { RoutingIds } from '@switchboard/wire';
import type { ActorKernel } from './kernel/actor-kernel.js';
import type { SipLink } from './sip-link.js';
import type { TimerSettings } from './transactions/timers.js';

/** Where new calls go until trunk routing exists: one SIP next hop. */
export interface NextHop {
  protocol: 'udp' | 'tcp';
  host: string;
  port: number;
}

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
  nextHop: NextHop;
  /** How long a placed leg may ring (provisional, no final) before the engine cancels it. */
  noAnswerMs: number;
  log: Logger;
  /** Index of INVITE server transactions by key, for retransmissions and CANCEL (§9.2, §17.2.3). */
  invites: Map<string, string>;
  /** Calls in progress, by call id (what heartbeats report and drain waits for). */
  calls: Set<string>;
}
