import { isIP } from 'node:net';
import { NameAddr, SipUri, type SipRequest } from '@switchboard/sip';
import { failsOver, formatNumber, type CallTarget, type OriginationPlan, type TerminationPlan } from '@switchboard/trunking';
import { newRoutingScope } from '@switchboard/wire';
import type { Logger } from 'pino';
import type { ActorBehaviour, ActorRef } from '../kernel/actor-kernel.js';
import type { EngineContext } from '../engine-context.js';
import type { Admission } from '../limits/mod.js';
import type { Destination } from '../sip-link.js';
import type { CallMessage, FailureCause, LegName } from './call-messages.js';
import { LegActor, type LegMessage } from './leg-actor.js';

/**
 * admitting: waiting for the trunk's cluster-wide limits; routing: making the next target
 * ready (carrier rate, DNS); early: an attempt is placed and unanswered; answered/confirmed:
 * bridged; ending: one side is gone or refused, the rest is being released.
 */
type CallState = 'admitting' | 'routing' | 'early' | 'answered' | 'confirmed' | 'ending' | 'ended';

type CallPlan = TerminationPlan | OriginationPlan;

/** What the caller's INVITE contributes to every attempt. */
interface Offer {
  body: Uint8Array;
  contentType: string | undefined;
  maxForwards: number;
  displayName: string | undefined;
}

/**
 * A call: the B2BUA bridge between the leg that came in (a, UAS) and the leg the engine placed
 * (b, UAC), under the trunk's plan: limits first, then the plan's targets in order, failing
 * over on the answers the target's configuration names. Each leg has its own Call-ID, tags,
 * CSeq and Via, and the outgoing INVITE is built afresh (no header of the caller is copied),
 * so neither side sees the other's addresses (topology hiding); SDP is relayed unchanged.
 */
export class CallActor implements ActorBehaviour<CallMessage> {
  readonly actorId: string;
  /** Read by the worker's stats (calls by state); changed only by the actor. */
  state: CallState = 'admitting';
  private readonly legs = new Map<LegName, { actor: LegActor; ref: ActorRef<LegMessage> }>();
  /** The attempt leg now bridged or ringing; earlier attempts only finish their transactions. */
  private b: LegName | undefined;
  private attempts = 0;
  private nextTarget = 0;
  /** The best answer seen from targets that failed over (RFC 3261 §16.7 picks among them). */
  private best: { status: number; reason: string } | undefined;
  private plan: CallPlan | undefined;
  private offer: Offer | undefined;
  private admission: Admission | undefined;
  /** Relayed in-dialog requests: token on the receiving leg → the leg that waits for the answer. */
  private relaysTable: Map<string, { from: LegName; token: string }> | undefined;
  private get relays(): Map<string, { from: LegName; token: string }> {
    return (this.relaysTable ??= new Map());
  }
  private relayCount = 0;
  private self!: ActorRef<CallMessage>;
  private logContext: Record<string, unknown>;
  private logger: Logger | undefined;
  /** The transport node and listener the call came in on: attempts leave through it too. */
  private via!: Destination;

  constructor(
    private readonly ctx: EngineContext,
    readonly callId: string,
  ) {
    this.actorId = `call-${callId}`;
    this.logContext = { call: callId };
  }

  /** Created on first use, like the legs' (see LegActor.log). */
  private get log(): Logger {
    return (this.logger ??= this.ctx.log.child(this.logContext));
  }

  /** Spawns the call and its incoming leg for `invite`, received from `from`, and applies the trunk policy. */
  static start(ctx: EngineContext, invite: SipRequest, from: Destination): CallActor {
    const callId = newRoutingScope();
    const call = new CallActor(ctx, callId);
    call.self = ctx.kernel.spawn(call.actorId, call);
    call.via = from;
    ctx.calls.set(callId, call);
    const h = invite.headers;
    call.logContext = { call: callId, callId: h.callId };
    const a = new LegActor(ctx, newRoutingScope(), 'a', 'uas', call.self, h.callId ?? '', h.to ?? new NameAddr(invite.uri), h.from ?? new NameAddr(invite.uri), from, invite.uri);
    call.attach(a);
    a.acceptInvite(invite);
    call.decide(invite, from);
    return call;
  }

  private decide(invite: SipRequest, from: Destination): void {
    const early = this.refusal(invite);
    if (early !== undefined) return this.refuse(early.status, early.reason, early.headers);
    const plan = this.ctx.policy.plan(invite, { address: from.address });
    switch (plan.kind) {
      case 'refused':
        this.ctx.counters.add(`refused.${plan.cause}`);
        this.log.info({ event: 'refused', cause: plan.cause, trunk: plan.trunk, detail: plan.detail, source: from.address }, `call refused: ${plan.status} ${plan.reason}`);
        return this.refuse(plan.status, plan.reason);
      case 'challenge':
        this.ctx.counters.add('challenged');
        return this.refuse(407, 'Proxy Authentication Required', plan.headers);
    }
    this.plan = plan;
    Object.assign(this.logContext, { trunk: plan.trunk.id, direction: plan.kind }); // the legs share this object
    if (this.ctx.log.isLevelEnabled('debug')) this.log.debug({ event: 'call-started', called: plan.called, targets: plan.targets.length }, 'call started');
    this.offer = {
      body: invite.body, contentType: invite.headers.get('content-type'),
      maxForwards: Math.max(0, (invite.headers.maxForwards ?? 70) - 1),
      displayName: invite.headers.from?.displayName,
    };
    const limit = plan.limit;
    if (limit.maxConcurrent === undefined && limit.maxPerSecond === undefined) {
      this.state = 'routing';
      this.tryNextTarget();
      return;
    }
    this.ctx.limiter.admit(limit).then((admission) => {
      // the call may have ended while it waited (the caller cancelled): nothing must hold its slot
      if (this.state === 'ended') {
        if (admission.admitted) admission.release();
        return;
      }
      this.admission = admission;
      this.self.tell({ type: 'admitted' });
    }, (err: unknown) => {
      this.admission = { admitted: false, limit: 'unavailable', key: limit.key };
      this.log.error({ err }, 'limiter failed');
      this.self.tell({ type: 'admitted' });
    });
  }

  /** What refuses the INVITE before the trunk policy is asked. */
  private refusal(invite: SipRequest): { status: number; reason?: string; headers?: [string, string][] } | undefined {
    if (invite.headers.maxForwards === 0) return { status: 483 }; // §16.3 / §8.2: no hops left
    const se = invite.headers.sessionExpires;
    const minSE = this.ctx.sessionTimers.minSE;
    // RFC 4028 §8.1: a Session-Expires below our minimum is refused with 422 and our Min-SE
    if (se !== undefined && se.seconds < minSE) return { status: 422, headers: [['Min-SE', String(minSE)]] };
    return undefined;
  }

  private refuse(status: number, reason?: string, headers?: [string, string][]): void {
    this.state = 'ending';
    this.tell('a', { type: 'answer', status, ...(reason === undefined ? {} : { reason }), ...(headers === undefined ? {} : { headers }) });
  }

  private attach(leg: LegActor): void {
    leg.callContext = this.logContext;
    const ref = this.ctx.kernel.spawn(leg.actorId, leg);
    leg.self = ref;
    this.legs.set(leg.name, { actor: leg, ref });
  }

  // ---- limits and targets -----------------------------------------------------------------------

  private onAdmitted(): void {
    const admission = this.admission;
    if (this.state !== 'admitting' || admission === undefined || this.plan === undefined) return;
    if (admission.admitted) {
      this.state = 'routing';
      this.tryNextTarget();
      return;
    }
    this.ctx.counters.add(`limit.${admission.limit}`);
    this.log.info({ event: 'limit', limit: admission.limit, key: admission.key }, 'call refused by a limit');
    // Over its rate the customer should retry shortly (503 + Retry-After); over its channels a
    // termination call is refused as a capacity problem of ours (503, so the PBX may use another
    // trunk) and an origination call as the customer being busy (486, so the carrier stops).
    if (admission.limit === 'rate') this.refuse(503, 'Call Rate Exceeded', [['Retry-After', '1']]);
    else if (admission.limit === 'unavailable') this.refuse(503, 'Limits Unavailable', [['Retry-After', '1']]);
    else if (this.plan.kind === 'origination') this.refuse(486, 'Concurrent Call Limit');
    else this.refuse(503, 'Concurrent Call Limit');
  }

  /** Makes the next target ready (its carrier's rate, its address) and places it, or ends the call. */
  private tryNextTarget(): void {
    const plan = this.plan;
    if (plan === undefined) return;
    const index = this.nextTarget++;
    const target = plan.targets[index];
    if (target === undefined) return this.allTargetsFailed();
    const maxPerSecond = target.carrier?.maxCps;
    if (maxPerSecond === undefined && isIP(target.host) !== 0) return this.place(target, target.host);
    void this.prepare(target, maxPerSecond).then((ready) => this.self.tell({ type: 'prepared', attempt: index, ...ready }));
  }

  private async prepare(target: CallTarget, maxPerSecond: number | undefined): Promise<{ address?: string; status?: number; reason?: string }> {
    if (maxPerSecond !== undefined && target.carrier !== undefined) {
      const admission = await this.ctx.limiter.admit({ key: `carrier.${target.carrier.id}`, maxPerSecond });
      if (!admission.admitted) return { status: 503, reason: admission.limit === 'rate' ? 'Carrier Rate Exceeded' : 'Limits Unavailable' };
    }
    if (isIP(target.host) !== 0) return { address: target.host };
    try {
      return { address: await this.ctx.resolve(target.host) };
    } catch {
      return { status: 503, reason: 'Target Not Resolved' };
    }
  }

  private onPrepared(m: Extract<CallMessage, { type: 'prepared' }>): void {
    const target = this.plan?.targets[m.attempt];
    if (this.state !== 'routing' || target === undefined || m.attempt !== this.nextTarget - 1) return;
    if (m.address !== undefined) return this.place(target, m.address);
    this.log.info({ event: 'target-skipped', carrier: target.carrier?.id, host: target.host, reason: m.reason }, 'target skipped');
    this.ctx.counters.add('failover');
    this.tryNextTarget();
  }

  /** Places one attempt: a new UAC leg whose INVITE is built from the plan, not from the caller's headers. */
  private place(target: CallTarget, address: string): void {
    const plan = this.plan;
    const offer = this.offer;
    if (plan === undefined || offer === undefined) return;
    const peer: Destination = {
      protocol: target.transport, address, port: target.port, nodeId: this.via.nodeId, localAddress: this.via.localAddress, localPort: this.via.localPort,
    };
    const ourHost = this.via.localAddress;
    const headers: [string, string][] = [];
    let from: NameAddr;
    if (plan.kind === 'termination') {
      const number = target.carrier === undefined ? plan.caller.number : formatNumber(plan.caller.number, target.carrier.numberFormat);
      const identity = new NameAddr(new SipUri({ user: number, host: ourHost, params: [{ name: 'user', value: 'phone' }] }));
      // RFC 3325: the carrier is trusted with the verified identity even when it is withheld
      headers.push(['P-Asserted-Identity', identity.toString()]);
      if (plan.caller.anonymous) {
        from = new NameAddr(new SipUri({ user: 'anonymous', host: 'anonymous.invalid' }), 'Anonymous');
        headers.push(['Privacy', 'id']);
      } else from = new NameAddr(identity.uri, offer.displayName);
    } else {
      from = plan.anonymous || plan.caller === undefined
        ? new NameAddr(new SipUri({ user: 'anonymous', host: 'anonymous.invalid' }), 'Anonymous')
        : new NameAddr(new SipUri({ user: plan.caller, host: ourHost }), offer.displayName);
    }
    const to = new NameAddr(target.uri.with({ params: [], port: undefined }));
    const name = `b${++this.attempts}`;
    const leg = new LegActor(this.ctx, newRoutingScope(), name, 'uac', this.self, `${newRoutingScope()}${newRoutingScope()}@${this.ctx.workerId}`, from, to, peer, target.uri);
    this.attach(leg);
    this.b = name;
    this.state = 'early';
    const hasSdp = offer.body.length > 0;
    if (target.offer === 'delayed' && hasSdp) {
      leg.placeInvite(target.uri, undefined, undefined, headers, offer.maxForwards, { body: offer.body, contentType: offer.contentType });
    } else leg.placeInvite(target.uri, hasSdp ? offer.body : undefined, offer.contentType, headers, offer.maxForwards);
  }

  /** A placed attempt failed: the next target when its configuration says so, else the answer goes to the caller. */
  private onAttemptFailed(status: number, reason: string, cause: FailureCause): void {
    const plan = this.plan;
    const target = plan?.targets[this.nextTarget - 1];
    const failover = target !== undefined && (cause === 'timeout' || cause === 'transport-error' || (cause === 'response' && failsOver(status, target.failoverOn)));
    if (!failover) {
      this.state = 'ending';
      this.tell('a', { type: 'hangup', status, reason });
      return;
    }
    this.ctx.counters.add('failover');
    this.log.info({ event: 'failover', carrier: target.carrier?.id, host: target.host, status, cause }, `attempt failed (${status} ${reason}): next target`);
    if (cause === 'response' && status !== 503 && (this.best === undefined || betterFinal(status, this.best.status))) this.best = { status, reason };
    this.b = undefined;
    this.state = 'routing';
    this.tryNextTarget();
  }

  private allTargetsFailed(): void {
    this.ctx.counters.add('all-targets-failed');
    // §16.7 would relay the best answer; when there was none (timeouts, 503s) a termination call
    // is our failure (503) and an origination call finds the customer unreachable (480)
    if (this.best !== undefined) this.refuseFromAttempts(this.best.status, this.best.reason);
    else if (this.plan?.kind === 'origination') this.refuseFromAttempts(480, 'Temporarily Unavailable');
    else this.refuseFromAttempts(503, 'All Routes Failed');
  }

  private refuseFromAttempts(status: number, reason: string): void {
    this.state = 'ending';
    this.tell('a', { type: 'hangup', status, reason });
  }

  // ---- the actor ------------------------------------------------------------------------------------

  receive(m: CallMessage): void {
    switch (m.type) {
      case 'admitted':
        return this.onAdmitted();
      case 'prepared':
        return this.onPrepared(m);
      case 'provisional':
        if (m.leg === this.b && this.state === 'early') {
          this.tell('a', { type: 'answer', status: m.status, reason: m.reason, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
        }
        return;
      case 'answered':
        if (m.leg === 'a') return;
        if (m.leg !== this.b || this.state === 'ending') {
          this.tell(m.leg, { type: 'hangup' }); // answered after the caller gave up: release it
          return;
        }
        this.state = 'answered';
        // a bridged call needs neither the targets nor the caller's offer: a call that is up holds little
        this.plan = undefined;
        this.offer = undefined;
        this.tell('a', { type: 'answer', status: 200, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
        return;
      case 'confirmed':
        if (m.leg === 'a' && this.state === 'answered') this.state = 'confirmed';
        return;
      case 'failed':
        if (m.leg !== 'a' && m.leg === this.b && this.state === 'early') return this.onAttemptFailed(m.status, m.reason, m.cause);
        if (m.leg === 'a' || m.leg === this.b) this.endBoth(this.otherOf(m.leg));
        return;
      case 'cancelled':
        this.state = 'ending';
        if (this.b !== undefined) this.tell(this.b, { type: 'hangup' });
        return;
      case 'bye':
        this.endBoth(this.otherOf(m.leg));
        return;
      case 'request': {
        const other = this.otherOf(m.leg);
        if (other === undefined || !this.legs.has(other)) {
          this.tell(m.leg, { type: 'answer-request', token: m.token, status: 481, reason: 'Call/Transaction Does Not Exist' });
          return;
        }
        const token = `r${++this.relayCount}`;
        this.relays.set(token, { from: m.leg, token: m.token });
        this.tell(other, { type: 'send-request', token, method: m.method, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
        return;
      }
      case 'request-answered': {
        const relay = this.relays.get(m.token);
        if (relay === undefined) return;
        this.relays.delete(m.token);
        if (this.relays.size === 0) this.relaysTable = undefined;
        this.tell(relay.from, { type: 'answer-request', token: relay.token, status: m.status, reason: m.reason, ...(m.body !== undefined && m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
        return;
      }
      case 'ended':
        this.legs.delete(m.leg);
        // an earlier attempt finishing its transactions changes nothing; the caller or the bridged leg ends the call
        if ((m.leg === 'a' || m.leg === this.b) && this.state !== 'ending' && this.state !== 'ended') this.endBoth(this.otherOf(m.leg));
        if (this.legs.size === 0) this.stop();
        return;
    }
  }

  private otherOf(leg: LegName): LegName | undefined {
    return leg === 'a' ? this.b : 'a';
  }

  private endBoth(other: LegName | undefined): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    this.state = 'ending';
    if (other !== undefined) this.tell(other, { type: 'hangup' });
  }

  private tell(leg: LegName, message: LegMessage): void {
    this.legs.get(leg)?.ref.tell(message);
  }

  crashed(error: unknown, message: CallMessage): void {
    this.log.error({ err: error, message: message.type }, 'call actor failed: ending its legs');
    for (const { ref } of this.legs.values()) ref.tell({ type: 'hangup', status: 500, reason: 'Server Internal Error' });
    this.release();
  }

  private stop(): void {
    if (this.ctx.log.isLevelEnabled('debug')) this.log.debug({ event: 'call-ended' }, 'call ended');
    this.release();
    this.ctx.kernel.stop(this.actorId);
  }

  stopped(): void {
    this.release();
    this.relaysTable = undefined;
  }

  /** Gives back what the call holds outside itself: its place in the call table and its trunk slot. */
  private release(): void {
    this.state = 'ended';
    this.ctx.calls.delete(this.callId);
    if (this.admission?.admitted === true) this.admission.release();
    this.admission = undefined;
  }
}

/** §16.7: 6xx first, then the lowest class (a 4xx says more about the call than a 5xx). */
function betterFinal(status: number, than: number): boolean {
  const rank = (s: number) => (s >= 600 ? 0 : s >= 400 && s < 500 ? 1 : 2);
  return rank(status) < rank(than);
}
