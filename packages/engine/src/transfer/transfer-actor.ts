import { NameAddr, SipUri } from '@switchboard/sip';
import type { CallTarget, ReferTarget, TrunkConfig } from '@switchboard/trunking';
import type { Logger } from 'pino';
import type { ActorBehaviour, ActorRef } from '../kernel/actor-kernel.js';
import type { EngineContext, TrunkingInForce } from '../context.js';
import { admitFor, hasLimits, limitReason, type Admission, type LimitRequest } from '@switchboard/limits';
import type { SipHop } from '../locate/sip-locator.js';
import type { CallEvent } from '@switchboard/cdr';
import type { Destination } from '../protocol/sip-link.js';
import type { CallMessage, LegEvent, LegName, Prepared, RequestAnswered } from '../protocol/call-messages.js';
import type { LegMessage } from '../protocol/leg-messages.js';
import type { LegActor } from '../dialog/leg-actor.js';
import { OutboundAttempts, type AttemptOwner, type Offer, type Presentation } from '../dialing/outbound-attempts.js';
import { anonymousIdentity, pstnCaller } from '../dialing/presentation.js';
import { scopeOf } from '@switchboard/wire';
import type { Replaces } from '@switchboard/sip';
import type { JoinReply } from '../protocol/bridge-messages.js';
import { ReferSubscription, type ReferSubscriptionEffect, type ReferSubscriptionOptions } from './refer-subscription.js';
import type { CallSpan } from '../tracing/call-tracer.js';
import { tracedContext } from '../tracing/traced-context.js';

/** What a transfer actor handles: its own steps, the new leg's events (forwarded by the call) and NOTIFY answers. */
export type TransferMessage =
  | { type: 'start' }
  | Prepared
  /** The limits' verdict is in (kept on the actor as `admission`). */
  | { type: 'admitted' }
  | { type: 'located'; hops: SipHop[] }
  /** Attended transfer: the owner of the replaced dialog answered. */
  | { type: 'joined'; reply: JoinReply }
  /** An event of one of this transfer's legs, forwarded by the call (the hub of every leg). */
  | { type: 'leg'; event: LegEvent }
  /** The transferor's leg answers a NOTIFY (sent to it straight, answered straight back). */
  | RequestAnswered
  /** A NOTIFY that could not be sent: its answer stands for the transferor's. */
  | { type: 'notify-answered'; seq: number; status: number }
  /** The transferor's dialog is gone: its NOTIFYs are answered 481 (RFC 6665 §4.2.2), the transfer goes on. */
  | { type: 'transferor-gone' }
  | { type: 'expiry' }
  /** The remaining party is gone: cancel the new leg, end the subscription. */
  | { type: 'abort' };

/** Everything a transfer starts from: decided by the call when it accepted the REFER. */
export interface TransferSpec {
  id: string;
  /** Which of the call's transfers this is (1, 2…): its record's and its legs' number. */
  index: number;
  /** The transferor's leg: the NOTIFYs go to it straight (absent for an operator's transfer). */
  transferor?: ActorRef<LegMessage>;
  call: ActorRef<CallMessage>;
  /** The call's own id (an attended transfer names it to the worker it joins). */
  callId: string;
  /** The call's routing slot: the transfer's legs are minted in it. */
  routingSlot: number;
  target: ReferTarget;
  trunk: TrunkConfig;
  subscription: ReferSubscriptionOptions;
  /** The remaining party's session: the new leg's offer (RFC 3725 flow: early offer). */
  offer: Offer;
  /** Who the target sees calling (per `trunk.transfer.callerId`). */
  caller: { number: string | undefined; anonymous: boolean };
  /** The transferor, for Referred-By (RFC 3892) and, on the PSTN, Diversion. */
  transferorNumber: string | undefined;
  ingress: Destination;
  logContext: Record<string, unknown>;
  /** Referred-By when the transferor is a party on another domain (a chain): its own URI. */
  referredBy?: string;
  /** Names of the new legs (`c1.`, `c2.`… per transfer of the call): unique among the call's legs. */
  legPrefix: `c${number}.`;
  /** The trunk policy and SIP locator the call started under (a configuration change applies to later calls). */
  policy: TrunkingInForce['policy'];
  locator: TrunkingInForce['locator'];
}

/** The platform-wide count of transfer legs to other domains (README "Transfer"). */
export const SIP_TRANSFERS_KEY = 'platform.sip-transfers';

type TransferState = 'planning' | 'dialing' | 'answered' | 'failed' | 'aborted';

/**
 * One REFER (RFC 3515): owns the implicit subscription (NOTIFYs sent straight to the
 * transferor's leg, answered straight back) and places the new leg — on the PSTN through the trunk's routing,
 * restrictions and limits like any termination call, or straight to a SIP destination on
 * another domain (RFC 3263). The call actor stays the hub: the new leg reports to it, and it
 * forwards that leg's events here until the leg answers and the call bridges it.
 */
export class TransferActor implements ActorBehaviour<TransferMessage>, AttemptOwner {
  readonly actorId: string;
  self!: ActorRef<TransferMessage>;
  private state: TransferState = 'planning';
  private readonly subscription: ReferSubscription;
  private subscriptionOver = false;
  private expiry: NodeJS.Timeout | undefined;
  private attempts: OutboundAttempts | undefined;
  private readonly legRefs = new Map<LegName, ActorRef<LegMessage>>();
  /** What the transfer holds until the call takes it over (a trunk slot, or a platform SIP-transfer slot). */
  private admission: Admission | undefined;
  /** The NOTIFY waiting for the transferor's answer, and whether the transferor is gone. */
  private notifying: number | undefined;
  private transferorGone = false;
  /** Stopped (its call ended it): a verdict of the limits that arrives now is given back at once. */
  private gone = false;
  private logger: Logger | undefined;

  readonly ctx: EngineContext;
  /** The transfer's span when the call is traced: a child of the call's; the new leg's INVITE carries it. */
  private readonly span: CallSpan | undefined;

  constructor(
    ctx: EngineContext,
    private readonly spec: TransferSpec,
  ) {
    this.actorId = `transfer-${spec.id}`;
    const target = spec.target;
    this.span = ctx.trace === undefined ? undefined : ctx.tracer?.startTransfer(ctx.trace, {
      'switchboard.call.id': spec.callId, 'switchboard.transfer.id': spec.id, 'switchboard.transfer.kind': target.kind,
      'switchboard.transfer.target': target.uri.toString(), 'switchboard.transfer.attended': target.replaces !== undefined,
    });
    this.ctx = this.span === undefined ? ctx : tracedContext(ctx, this.span);
    this.subscription = new ReferSubscription(spec.subscription);
  }

  get log(): Logger {
    return (this.logger ??= this.ctx.log.child({ ...this.spec.logContext, transfer: this.spec.id, kind: this.spec.target.kind }));
  }

  get callId(): string {
    return this.spec.callId;
  }

  get routingSlot(): number {
    return this.spec.routingSlot;
  }

  get call(): ActorRef<CallMessage> {
    return this.spec.call;
  }

  get ingress(): Destination {
    return this.spec.ingress;
  }

  adopt(leg: LegActor): ActorRef<LegMessage> {
    leg.callContext = { ...this.spec.logContext, transfer: this.spec.id };
    const ref = this.ctx.kernel.spawn(leg.actorId, leg);
    leg.self = ref;
    this.legRefs.set(leg.name, ref);
    // before the leg sends anything: the call must know the leg before its first event
    this.spec.call.tell({ type: 'adopt', transfer: this.spec.id, info: leg.info, ref, actor: leg });
    return ref;
  }

  /** The new leg's attempts: on the transfer's span, and in the call's record like the call's own. */
  note(event: CallEvent): void {
    this.span?.note(event);
    this.ctx.cdr.tell({ callId: this.callId, event });
  }

  receive(m: TransferMessage): void {
    switch (m.type) {
      case 'start':
        this.run(this.subscription.handle({ type: 'start' }));
        return this.plan();
      case 'admitted':
        return this.onAdmitted();
      case 'located':
        return this.onLocated(m.hops);
      case 'joined':
        return this.onJoined(m.reply);
      case 'prepared': {
        const exhausted = this.state === 'dialing' ? this.attempts?.onPrepared(m) : undefined;
        if (exhausted !== undefined) this.fail(exhausted.status, exhausted.reason);
        return;
      }
      case 'leg':
        return this.onLeg(m.event);
      case 'request-answered':
        if (m.token.kind === 'notify') this.onNotifyAnswered(m.token.seq, m.status);
        return;
      case 'notify-answered':
        return this.onNotifyAnswered(m.seq, m.status);
      case 'transferor-gone':
        this.transferorGone = true;
        if (this.notifying !== undefined) this.onNotifyAnswered(this.notifying, 481);
        return;
      case 'expiry':
        this.expiry = undefined;
        return this.run(this.subscription.handle({ type: 'expired' }));
      case 'abort':
        return this.abort();
    }
  }

  // ---- the new leg ------------------------------------------------------------------------------

  private plan(): void {
    const { target, trunk } = this.spec;
    if (target.replaces !== undefined) return this.join(target.replaces);
    if (target.kind === 'pstn') {
      const caller = this.spec.caller;
      const plan = this.spec.policy.planTransfer(trunk, target.number, { number: caller.number ?? this.diversionNumber() ?? '', anonymous: caller.anonymous || caller.number === undefined });
      if (plan.kind === 'refused') {
        this.ctx.counters.add(`refused.${plan.cause}`);
        return this.fail(plan.status, plan.reason, true);
      }
      this.attempts = new OutboundAttempts(this, plan.targets, this.spec.offer, this.presentPstn(plan.caller), this.spec.legPrefix, { status: 503, reason: 'All Routes Failed' });
      if (!hasLimits(plan.limit)) return this.dial();
      return this.admit(plan.limit);
    }
    // another domain: no ACL, no routing rule, no restriction, no fee; only the platform's cap, cluster-wide
    this.admit({ key: SIP_TRANSFERS_KEY, maxConcurrent: this.spec.policy.config.sipTransfers.maxConcurrent });
  }

  /** The verdict comes back as `admitted`; a transfer given up meanwhile takes no slot. */
  private admit(limit: LimitRequest): void {
    // kept on the actor at once, not only in the message: an actor stopped before it reads its
    // mailbox still gives the slot back (stopped → releaseSlots)
    admitFor(this.ctx.limiter, limit, () => this.state !== 'planning' || this.gone, (admission) => {
      this.admission = admission;
      this.self.tell({ type: 'admitted' });
    });
  }

  /**
   * Attended transfer (RFC 3891): the Replaces header names one of our dialogs with the
   * transferor; our tag in it names the slot (whose owner the slot table knows) and the leg. That worker hands the
   * dialog's far party over (and ends the replaced dialog); nothing new is dialled or billed.
   */
  private join(replaces: Replaces): void {
    const tags = [replaces.toTag, replaces.fromTag].filter((t) => t !== '');
    let owner: { worker: string; scope: string } | undefined;
    for (const tag of tags) {
      const slot = this.ctx.ids.slotOfTag(tag);
      const worker = slot === undefined ? undefined : this.ctx.slots.ownerOf(slot);
      const scope = scopeOf(tag);
      if (worker !== undefined && scope !== undefined) owner = { worker, scope };
    }
    if (owner === undefined) return this.fail(481, 'Call/Transaction Does Not Exist');
    this.ctx.bridge.join(owner.worker, { legScope: owner.scope, callId: replaces.callId, tags, master: { worker: this.ctx.workerId, call: this.spec.callId } }).then(
      (reply) => this.self.tell({ type: 'joined', reply }),
      () => this.self.tell({ type: 'joined', reply: { ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' } }),
    );
  }

  private onJoined(reply: JoinReply): void {
    if (!reply.ok) return this.fail(reply.status, reply.reason);
    if (this.state !== 'planning') {
      // the remaining party left meanwhile: the party handed over has nobody to talk to
      this.ctx.bridge.send(reply.relay, { to: 'relay', command: { type: 'hangup' } });
      return;
    }
    this.state = 'answered';
    this.run(this.subscription.handle({ type: 'final', status: 200, reason: 'OK' }));
    this.spec.call.tell({
      type: 'transfer-joined', transfer: this.spec.id, relay: reply.relay,
      body: reply.sdp ?? new Uint8Array(0), contentType: reply.sdpType, saw: reply.saw,
    });
    this.maybeStop();
  }

  private onAdmitted(): void {
    const admission = this.admission;
    if (admission === undefined) return;
    if (this.state !== 'planning') return this.releaseSlots();
    const target = this.spec.target;
    if (admission.admitted) {
      if (target.kind === 'pstn') return this.dial();
      void this.spec.locator.locate(target.uri).then((hops) => this.self.tell({ type: 'located', hops }));
      return;
    }
    this.ctx.counters.add(`limit.${admission.limit}`);
    this.fail(503, target.kind === 'sip' && admission.limit === 'concurrency' ? 'Too Many SIP Transfers' : limitReason(admission.limit), true);
  }

  private onLocated(hops: SipHop[]): void {
    if (this.state !== 'planning' || this.spec.target.kind !== 'sip') return;
    const uri = this.spec.target.uri;
    // RFC 3261 §26.2.2: a SIPS target reachable only without TLS is not reached at all; the sipfrag says why
    if (hops.length === 0) return uri.scheme === 'sips' ? this.fail(480, 'No TLS Route to Target') : this.fail(404, 'Not Found');
    const targets: CallTarget[] = hops.map((hop) => ({
      uri, host: hop.address, port: hop.port, transport: hop.transport, failoverOn: [408, '5xx'], offer: 'early',
    }));
    this.attempts = new OutboundAttempts(this, targets, this.spec.offer, this.presentSip(), this.spec.legPrefix, { status: 480, reason: 'Temporarily Unavailable' });
    this.dial();
  }

  private dial(): void {
    this.state = 'dialing';
    const exhausted = this.attempts?.next();
    if (exhausted !== undefined) this.fail(exhausted.status, exhausted.reason);
  }

  private onLeg(e: LegEvent): void {
    if (e.type === 'answered' && (this.state !== 'dialing' || e.leg !== this.attempts?.current)) {
      // a 200 that crossed our CANCEL (transfer given up, or an earlier attempt): nobody is on this call
      this.legRefs.get(e.leg)?.tell({ type: 'hangup' });
      return;
    }
    if (this.state !== 'dialing' || e.leg !== this.attempts?.current) return;
    switch (e.type) {
      case 'provisional':
        return this.run(this.subscription.handle({ type: 'progress', status: e.status, reason: e.reason }));
      case 'answered': {
        this.state = 'answered';
        // RFC 3515 §2.4.5: the final 200 only now that the target has really answered
        this.run(this.subscription.handle({ type: 'final', status: 200, reason: 'OK' }));
        // the call holds the new call's slot from now on, and gives it back when it ends
        const hold = this.admission?.admitted === true ? this.admission.hold : undefined;
        this.admission = undefined;
        this.spec.call.tell({ type: 'transfer-answered', transfer: this.spec.id, newLeg: e.leg, body: e.body, contentType: e.contentType, ...(hold === undefined ? {} : { hold }) });
        return this.maybeStop();
      }
      case 'failed': {
        const exhausted = this.attempts?.onFailed(e.status, e.reason, e.cause);
        if (exhausted !== undefined) this.fail(exhausted.status, exhausted.reason);
        return;
      }
      default:
    }
  }

  /**
   * The new leg cannot be had: the final NOTIFY says why, and the original call stays as it
   * was. `refused`: the trunk's policy or a limit said no (the record's disposition).
   */
  private fail(status: number, reason: string, refused = false): void {
    if (this.state === 'failed' || this.state === 'aborted' || this.state === 'answered') return;
    this.state = 'failed';
    this.log.info({ event: 'transfer-failed', status, reason }, `transfer failed: ${status} ${reason}`);
    this.ctx.counters.add('transfer.failed');
    this.releaseSlots();
    this.run(this.subscription.handle({ type: 'final', status, reason }));
    this.spec.call.tell({ type: 'transfer-failed', transfer: this.spec.id, status, reason, ...(refused ? { refused } : {}) });
    this.maybeStop();
  }

  private abort(): void {
    if (this.state === 'answered' || this.state === 'failed' || this.state === 'aborted') return;
    this.state = 'aborted';
    const current = this.attempts?.current;
    if (current !== undefined) this.legRefs.get(current)?.tell({ type: 'hangup' });
    this.releaseSlots();
    this.run(this.subscription.handle({ type: 'final', status: 487, reason: 'Request Terminated' }));
    this.maybeStop();
  }

  private releaseSlots(): void {
    if (this.admission?.admitted === true) this.admission.release();
    this.admission = undefined;
  }

  // ---- how the new leg presents the call ------------------------------------------------------

  private diversionNumber(): string | undefined {
    const t = this.spec.trunk;
    return t.transfer.diversionNumber ?? t.dids[0] ?? this.spec.transferorNumber;
  }

  private referredBy(): string {
    // ours, not the REFER's: a PBX's Referred-By names its inside addresses (topology hiding)
    return this.spec.referredBy ?? `<sip:${this.spec.transferorNumber ?? 'transferor'}@${this.spec.trunk.domain}>`;
  }

  private presentPstn(caller: { number: string; anonymous: boolean }): Presentation {
    return (target, ourHost) => {
      const presented = pstnCaller(target, ourHost, caller, this.spec.offer.displayName);
      presented.headers.push(['Referred-By', this.referredBy()]);
      const diversion = this.diversionNumber();
      // RFC 5806: the trunk's own number, which the carrier's anti-spoofing checks accept
      if (diversion !== undefined) presented.headers.push(['Diversion', `<sip:${diversion}@${this.spec.trunk.domain}>;reason=unconditional`]);
      return presented;
    };
  }

  private presentSip(): Presentation {
    return (_target, ourHost) => {
      const caller = this.spec.caller;
      const from = caller.anonymous || caller.number === undefined
        ? anonymousIdentity()
        : new NameAddr(new SipUri({ user: caller.number, host: ourHost }), this.spec.offer.displayName);
      return { from, headers: [['Referred-By', this.referredBy()]] };
    };
  }

  // ---- the subscription -------------------------------------------------------------------------

  private onNotifyAnswered(seq: number, status: number): void {
    if (this.notifying !== seq) return;
    this.notifying = undefined;
    this.run(this.subscription.handle({ type: 'notify-answered', seq, status }));
  }

  private run(effects: ReferSubscriptionEffect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'notify': {
          const transferor = this.spec.transferor;
          this.notifying = e.seq;
          // no dialog to notify in: the subscription ends, not the transfer (RFC 6665 §4.2.2)
          if (transferor === undefined || this.transferorGone) this.self.tell({ type: 'notify-answered', seq: e.seq, status: 481 });
          else transferor.tell({ type: 'send-request', token: { kind: 'notify', seq: e.seq }, method: 'NOTIFY', headers: e.headers, body: Buffer.from(e.body), contentType: e.contentType, replyTo: this.self });
          break;
        }
        case 'start-expiry':
          clearTimeout(this.expiry);
          this.expiry = setTimeout(() => this.self.tell({ type: 'expiry' }), e.ms);
          this.expiry.unref();
          break;
        case 'cancel-expiry':
          clearTimeout(this.expiry);
          this.expiry = undefined;
          break;
        case 'ended':
          // the end of the subscription ends no call (RFC 3515 pitfall): only this actor, once the leg is decided
          this.subscriptionOver = true;
          this.maybeStop();
          break;
      }
    }
  }

  private maybeStop(): void {
    if (!this.subscriptionOver || this.state === 'planning' || this.state === 'dialing') return;
    clearTimeout(this.expiry);
    this.spec.call.tell({ type: 'transfer-done', transfer: this.spec.id });
    this.ctx.kernel.stop(this.actorId);
  }

  crashed(error: unknown, message: TransferMessage): void {
    this.log.error({ err: error, message: message.type }, 'transfer actor failed');
    this.releaseSlots();
    clearTimeout(this.expiry);
    if (this.state === 'planning' || this.state === 'dialing') this.spec.call.tell({ type: 'transfer-failed', transfer: this.spec.id, status: 500, reason: 'Server Internal Error' });
    this.spec.call.tell({ type: 'transfer-done', transfer: this.spec.id });
  }

  stopped(): void {
    this.gone = true;
    clearTimeout(this.expiry);
    this.releaseSlots();
    // still planning or dialing: the call ended it
    this.span?.end({ 'switchboard.transfer.outcome': this.state === 'planning' || this.state === 'dialing' ? 'aborted' : this.state });
  }
}
