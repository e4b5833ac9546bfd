import type { CallEvent, PartyNumber } from '@switchboard/cdr';
import { admitFor, hasLimits, limitReason, type Admission } from '@switchboard/limits';
import { NameAddr, SipUri, defaultReason, type SipRequest } from '@switchboard/sip';
import type { CallTarget, OriginationPlan, TerminationPlan, TrunkConfig, TrunkPolicy } from '@switchboard/trunking';
import type { Logger } from 'pino';
import type { EngineContext } from '../context.js';
import type { ActorRef } from '../kernel/actor-kernel.js';
import type { CallMessage, CallState, FailureCause, LegEvent, LegName, Prepared } from '../protocol/call-messages.js';
import type { Destination } from '../protocol/sip-link.js';
import type { CallSessions } from '../sdp/call-sessions.js';
import { OutboundAttempts, type AttemptOwner, type Exhausted, type Presentation } from './outbound-attempts.js';
import { anonymousIdentity, pstnCaller } from './presentation.js';

type CallPlan = TerminationPlan | OriginationPlan;

/** The call as its setup sees it: what the setup decides is written back into it. */
export interface SettingUpCall extends AttemptOwner {
  readonly self: ActorRef<CallMessage>;
  readonly policy: TrunkPolicy;
  readonly logContext: Record<string, unknown>;
  readonly sessions: CallSessions;
  state: CallState;
  pair: [LegName, LegName | undefined];
  trunkConfig: TrunkConfig | undefined;
  direction: 'termination' | 'origination' | undefined;
  parties: { customer: string | undefined; remote: string | undefined; remoteAnonymous: boolean };
  note(event: CallEvent): void;
  refuse(status: number, reason?: string, headers?: [string, string][]): void;
  tell(leg: LegName, message: { type: 'hangup'; status?: number; reason?: string }): void;
  /** Keeps the call's trunk slot until the call ends. */
  hold(hold: Extract<Admission, { admitted: true }>['hold']): void;
}

/**
 * How a call is set up, from its INVITE to the attempt that answers: the refusals that come
 * before the trunk policy (§8.2, RFC 4028), the policy's plan, the trunk's cluster-wide
 * limits, then the targets in order. Owned by the call and dropped once the call is bridged.
 */
export class CallSetup {
  private plan: CallPlan | undefined;
  private attempts: OutboundAttempts | undefined;
  /** Set when the call ends while its limits are asked: a slot granted then is given back at once. */
  private stopped = false;
  /** The limits' verdict, from when it arrives until the call reads its `admitted`. */
  private verdict: Admission | undefined;
  /** The cluster-wide nonce check's verdict (digest calls), read the same way, before the limits are asked. */
  private nonceVerdict: 'claimed' | 'replayed' | 'unavailable' | undefined;

  constructor(private readonly call: SettingUpCall) {}

  private get ctx(): EngineContext {
    return this.call.ctx;
  }

  private get log(): Logger {
    return this.call.log;
  }

  decide(invite: SipRequest, from: Destination): void {
    const call = this.call;
    const early = refusalBeforePolicy(invite, this.ctx.sessionTimers.minSE);
    const received = receivedNumbers(invite);
    if (early !== undefined) {
      call.note({ type: 'refused', ...received });
      return this.refuse(early.status, early.reason, early.headers);
    }
    const plan = call.policy.plan(invite, { address: from.address, protocol: from.protocol });
    switch (plan.kind) {
      case 'refused':
        // a stranger is counted, not recorded: scans must not fill the CDR stream
        call.note(plan.cause === 'unknown-source' ? { type: 'unrecorded' } : { type: 'refused', ...received, ...(plan.trunk === undefined ? {} : { trunk: plan.trunk }) });
        this.ctx.counters.add(`refused.${plan.cause}`);
        this.log.info({ event: 'refused', cause: plan.cause, trunk: plan.trunk, detail: plan.detail, source: from.address }, `call refused: ${plan.status} ${plan.reason}`);
        return this.refuse(plan.status, plan.reason);
      case 'challenge':
        // the retry with credentials is the call (and gets the record)
        call.note({ type: 'unrecorded' });
        this.ctx.counters.add('challenged');
        return this.refuse(407, 'Proxy Authentication Required', plan.headers);
    }
    this.plan = plan;
    call.trunkConfig = plan.trunk;
    this.ctx.counters.add(`calls.trunk.${plan.trunk.id}`);
    call.direction = plan.kind;
    call.parties = plan.kind === 'termination'
      ? { customer: plan.caller.number, remote: plan.called, remoteAnonymous: false }
      : { customer: plan.called, remote: plan.caller, remoteAnonymous: plan.anonymous };
    Object.assign(call.logContext, { trunk: plan.trunk.id, direction: plan.kind }); // the legs share this object
    const caller = plan.kind === 'termination' ? plan.caller.number : plan.caller;
    call.note({
      type: 'planned', trunk: plan.trunk.id, direction: plan.kind,
      from: caller === undefined ? received.from : partyNumber(received.from.received, caller),
      to: { received: plan.dialled, normalised: plan.called },
    });
    if (this.ctx.log.isLevelEnabled('debug')) this.log.debug({ event: 'call-started', called: plan.called, targets: plan.targets.length }, 'call started');
    const contentType = invite.headers.get('content-type');
    const offer = {
      body: invite.body, contentType,
      maxForwards: Math.max(0, (invite.headers.maxForwards ?? 70) - 1),
      displayName: invite.headers.from?.displayName,
    };
    if (invite.body.length > 0) call.sessions.remember('a', invite.body, contentType);
    this.attempts = new OutboundAttempts(call, plan.targets, offer, presentCall(plan, offer.displayName), 'b',
      // when no answer was worth relaying: a termination call is our failure; an origination call finds the customer unreachable
      plan.kind === 'origination' ? { status: 480, reason: 'Temporarily Unavailable' } : { status: 503, reason: 'All Routes Failed' });
    const digest = plan.kind === 'termination' ? plan.digest : undefined;
    const edge = this.ctx.edge;
    if (digest === undefined || edge === undefined) return this.admit(plan);
    edge.authenticated(from.address);
    // RFC 7616 §3.4: a nonce count is used once; the local check in DigestAuthenticator cannot see
    // a captured request replayed to another worker, the cluster-wide claim can
    edge.claimNonce(digest.nonce, digest.nc).then((claimed) => (claimed ? 'claimed' : 'replayed'), () => 'unavailable' as const).then((v) => {
      if (this.stopped) return;
      this.nonceVerdict = v;
      call.self.tell({ type: 'admitted' });
    });
  }

  private admit(plan: CallPlan): void {
    const call = this.call;
    if (!hasLimits(plan.limit)) return this.route();
    // the call may end while it waits (the caller cancels): then nothing may hold its slot
    // kept here at once, not only in the message: a call stopped before it reads its mailbox still gives the slot back (stop)
    admitFor(this.ctx.limiter, plan.limit, () => this.stopped, (admission) => {
      this.verdict = admission;
      call.self.tell({ type: 'admitted' });
    });
  }

  onAdmitted(): void {
    const call = this.call;
    const nonce = this.nonceVerdict;
    this.nonceVerdict = undefined;
    if (nonce !== undefined) return this.onNonceChecked(nonce);
    const admission = this.verdict;
    this.verdict = undefined;
    if (admission === undefined) return;
    if (call.state !== 'admitting' || this.plan === undefined || this.stopped) {
      if (admission.admitted) admission.release();
      return;
    }
    if (admission.admitted) {
      call.hold(admission.hold);
      return this.route();
    }
    this.ctx.counters.add(`limit.${admission.limit}`);
    call.note({ type: 'refused' });
    this.log.info({ event: 'limit', limit: admission.limit, key: admission.key }, 'call refused by a limit');
    // Over its rate the customer should retry shortly (503 + Retry-After); over its channels a
    // termination call is refused as a capacity problem of ours (503, so the PBX may use another
    // trunk) and an origination call as the customer being busy (486, so the carrier stops).
    const reason = limitReason(admission.limit);
    if (admission.limit !== 'concurrency') this.refuse(503, reason, [['Retry-After', '1']]);
    else this.refuse(this.plan.kind === 'origination' ? 486 : 503, reason);
  }

  private onNonceChecked(verdict: 'claimed' | 'replayed' | 'unavailable'): void {
    const plan = this.plan;
    if (this.call.state !== 'admitting' || plan === undefined || this.stopped) return;
    if (verdict === 'claimed') return this.admit(plan);
    this.ctx.counters.add(verdict === 'replayed' ? 'refused.nonce-replayed' : 'digest.replay-check-unavailable');
    this.call.note({ type: 'refused' });
    this.log.info({ event: 'refused', cause: verdict === 'replayed' ? 'nonce-replayed' : 'replay-check-unavailable' }, 'digest nonce not accepted');
    // a replay is refused like a wrong password; an unanswered check (JetStream out) like a limit
    // that cannot be decided: the customer retries, nothing is let through unchecked
    if (verdict === 'replayed') this.refuse(403, 'Forbidden');
    else this.refuse(503, 'Service Unavailable', [['Retry-After', '1']]);
  }

  onPrepared(m: Prepared): void {
    if (this.call.state === 'routing') this.afterAttempt(this.attempts?.onPrepared(m));
  }

  /** The attempt being waited for failed: the next target, or the end of the call. */
  onFailed(m: Extract<LegEvent, { type: 'failed' }> & { cause: FailureCause }): void {
    this.call.state = 'routing';
    this.afterAttempt(this.attempts?.onFailed(m.status, m.reason, m.cause));
  }

  stop(): void {
    this.stopped = true;
    if (this.verdict?.admitted === true) this.verdict.release();
    this.verdict = undefined;
  }

  private route(): void {
    this.call.state = 'routing';
    this.afterAttempt(this.attempts?.next());
  }

  /** After the attempts moved on: the leg now ringing is the pair's other side; none left ends the call. */
  private afterAttempt(exhausted: Exhausted | undefined): void {
    const call = this.call;
    if (exhausted !== undefined) {
      call.note({ type: 'final', at: Date.now(), status: exhausted.status, statusText: exhausted.reason });
      call.state = 'ending';
      call.tell('a', { type: 'hangup', status: exhausted.status, reason: exhausted.reason });
      return;
    }
    const current = this.attempts?.current;
    call.pair[1] = current;
    call.state = current === undefined ? 'routing' : 'early';
  }

  private refuse(status: number, reason?: string, headers?: [string, string][]): void {
    this.call.note({ type: 'final', at: Date.now(), status, statusText: reason ?? defaultReason(status) });
    this.call.refuse(status, reason, headers);
  }
}

/** What refuses the INVITE before the trunk policy is asked. */
function refusalBeforePolicy(invite: SipRequest, minSE: number): { status: number; reason?: string; headers?: [string, string][] } | undefined {
  if (invite.headers.maxForwards === 0) return { status: 483 }; // §16.3 / §8.2: no hops left
  const se = invite.headers.sessionExpires;
  // RFC 4028 §8.1: a Session-Expires below our minimum is refused with 422 and our Min-SE
  if (se !== undefined && se.seconds < minSE) return { status: 422, headers: [['Min-SE', String(minSE)]] };
  return undefined;
}

/** How the call's attempts present the caller: From, P-Asserted-Identity, Privacy (see README "What the carrier sees"). */
function presentCall(plan: CallPlan, displayName: string | undefined): Presentation {
  return (target: CallTarget, ourHost: string) => {
    if (plan.kind === 'termination') return pstnCaller(target, ourHost, plan.caller, displayName);
    const from = plan.anonymous || plan.caller === undefined ? anonymousIdentity() : new NameAddr(new SipUri({ user: plan.caller, host: ourHost }), displayName);
    return { from, headers: [] };
  };
}

/**
 * A number as received and as normalised, as one of two object literals: `{ ...received, normalised }`
 * gave every call's record an object with a hidden class of its own (~300 bytes a held call).
 */
function partyNumber(received: string | undefined, normalised: string): PartyNumber {
  return received === undefined ? { normalised } : { received, normalised };
}

/** The caller's and the called numbers as they came: the user parts of From and of the Request-URI. */
function receivedNumbers(invite: SipRequest): { from: PartyNumber; to: PartyNumber } {
  const fromUser = invite.headers.from?.uri instanceof SipUri ? invite.headers.from.uri.user : undefined;
  const toUser = invite.uri instanceof SipUri ? invite.uri.user : undefined;
  return { from: fromUser === undefined ? {} : { received: fromUser }, to: toUser === undefined ? {} : { received: toUser } };
}
