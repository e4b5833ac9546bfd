import type { CallDetail, CallSummary } from '@switchboard/admin';
import type { CallEvent, PartyNumber } from '@switchboard/cdr';
import { defaultReason, NameAddr, SipUri, type SipRequest } from '@switchboard/sip';
import {
  isLoopTarget, isReferRefusal, readReferTo, type CallTarget, type OriginationPlan, type TerminationPlan, type TrunkConfig,
} from '@switchboard/trunking';
import { newCallId, newRoutingScope } from '@switchboard/wire';
import type { Logger } from 'pino';
import type { ActorBehaviour, ActorRef } from '../kernel/actor-kernel.js';
import type { EngineContext, TrunkingInForce } from '../context.js';
import { admitFor, hasLimits, limitReason, type Admission } from '@switchboard/limits';
import type { Destination } from '../protocol/sip-link.js';
import { OriginKeeper } from '../sdp/sdp-origin.js';
import { TransferActor, type TransferMessage } from '../transfer/transfer-actor.js';
import type { CallAddress, RelayedCommand, RelayedEvent } from '../transfer/call-bridge.js';
import type { CallMessage, LegName, OperatorTransferAnswer } from '../protocol/call-messages.js';
import { LegActor, type LegMessage } from '../dialog/leg-actor.js';
import type { CallSpan } from '../tracing/call-tracer.js';
import { tracedContext } from '../tracing/traced-context.js';
import { OutboundAttempts, type Offer, type Presentation } from '../dialing/outbound-attempts.js';
import { anonymousIdentity, pstnCaller } from '../dialing/presentation.js';

/**
 * admitting: waiting for the trunk's cluster-wide limits; routing: making the next target
 * ready (carrier rate, DNS); early: an attempt is placed and unanswered; answered/confirmed:
 * bridged; ending: one side is gone or refused, the rest is being released.
 */
type CallState = 'admitting' | 'routing' | 'early' | 'answered' | 'confirmed' | 'relaying' | 'ending' | 'ended';

type CallPlan = TerminationPlan | OriginationPlan;

/** A transfer in progress (one at a time per call: another REFER meanwhile gets 491). */
interface TransferInProgress {
  id: string;
  ref: ActorRef<TransferMessage>;
  transferor: LegName;
  remaining: LegName;
  /** Its legs not yet bridged: their events go to the transfer actor. */
  legs: Set<LegName>;
  transferorGone: boolean;
  /** The remaining party left during the transfer: hang up the transferor once the transfer is done. */
  releaseTransferor?: boolean;
  /** The offer the new leg got (the remaining party's session), to see whether the remaining party changed it. */
  offered: Uint8Array;
  record: TransferRecord;
  /** Asked by an operator: the transferor did not ask, so it is released as soon as the new party answers. */
  operator: boolean;
  startedAt: number;
}

/** Each transfer of a call, as operators see it (`calls show`). */
export interface TransferRecord {
  id: string;
  transferor: LegName;
  target: string;
  kind: 'pstn' | 'sip';
  billable: boolean;
  outcome: 'in-progress' | 'answered' | 'failed';
  status?: number;
}

/** The numbers of the call's two sides as the trunk sees them: the customer's and the remote party's. */
interface Parties {
  customer: string | undefined;
  remote: string | undefined;
  remoteAnonymous: boolean;
}

const SDP = /application\/sdp/i;
/** Shared by every call that was never transferred (most of them). */
const NO_TRANSFERS: TransferRecord[] = [];

/**
 * A call: the B2BUA bridge between two legs — first the leg that came in (a, UAS) and the
 * attempt that answered (b1, b2…, UAC), later the remaining party and a transfer's new leg
 * (c1…). The call is the hub of every leg: legs report to it, it relays between the bridged
 * pair and forwards a transfer's legs to their transfer actor. Each leg has its own Call-ID,
 * tags, CSeq and Via, and every outgoing INVITE is built afresh, so neither side sees the
 * other's addresses (topology hiding); SDP is relayed unchanged except the `o=` line after a
 * transfer, which each party keeps seeing with its own origin and a higher version.
 */
export class CallActor implements ActorBehaviour<CallMessage> {
  readonly actorId: string;
  private callState: CallState = 'admitting';
  /** When the INVITE arrived, and when the call was answered (Unix ms, for operators). */
  readonly startedAt = Date.now();
  answeredAt: number | undefined;
  /** The trunk policy and SIP locator the call started under: a configuration change applies to later calls only. */
  private policy: TrunkingInForce['policy'];
  private locator: TrunkingInForce['locator'];
  /** The leg whose party's BYE, CANCEL or final answer is being handled: who ended the call, if it ends now. */
  private endingBy: LegName | undefined;
  /** Every leg of the call; `remote` is the far party of a joined call on another half (attended transfer). */
  private readonly legs = new Map<LegName, { actor?: LegActor; ref: ActorRef<LegMessage> }>();
  /** This call handed its far party to another call (attended transfer): it relays that leg's events. */
  private relay: { master: CallAddress; leg: LegName; attachTimer?: NodeJS.Timeout } | undefined;
  /** The two legs bridged (or being connected): `a` and its attempt, later the remaining party and the new one. */
  private pair: [LegName, LegName | undefined] = ['a', undefined];
  private attempts: OutboundAttempts | undefined;
  private plan: CallPlan | undefined;
  private offer: Offer | undefined;
  /** Kept for transfers after the plan is dropped. */
  private trunk: TrunkConfig | undefined;
  private direction: 'termination' | 'origination' | undefined;
  /** The leg on the customer's side: the only one whose REFER is taken. */
  private customerLeg: LegName | undefined;
  private parties: Parties = { customer: undefined, remote: undefined, remoteAnonymous: false };
  /** The last SDP each party sent: a transfer's new leg is offered the remaining party's. */
  private sdpOfTable: Map<LegName, { body: Uint8Array; contentType: string | undefined }> | undefined;
  private get sdpOf(): Map<LegName, { body: Uint8Array; contentType: string | undefined }> {
    return (this.sdpOfTable ??= new Map());
  }
  /** Per party, the `o=` it has been shown (RFC 3264 §8), created on a transfer's first use. */
  private keepers: Map<LegName, OriginKeeper> | undefined;
  private transfer: TransferInProgress | undefined;
  private transfers: TransferRecord[] = NO_TRANSFERS;
  private refersByLeg: Map<LegName, number> | undefined;
  /** Per transfer id, the leg its NOTIFYs go to, until the transfer actor is done. */
  private notifyTo: Map<string, LegName> | undefined;
  /** Transferors that hung up: NOTIFYs for them are answered 481 at once (RFC 6665 §4.2.2). */
  private transferorLeft: Set<LegName> | undefined;
  /** Parties reached on another domain by a transfer, by leg: who they are when they transfer on. */
  private sipParties: Map<LegName, string> | undefined;
  private transferorBye: NodeJS.Timeout | undefined;
  /** What a transfer's new leg was offered, until the remaining party's answer shows whether it still holds. */
  private newLegOffered: Uint8Array | undefined;
  /** What the call holds outside itself: its trunk slot, and those of the calls transfers added. */
  private admission: Admission | undefined;
  private releases: (() => void)[] | undefined;
  /** Relayed in-dialog requests: token on the receiving leg → the leg that waits for the answer. */
  private relaysTable: Map<string, { from: LegName; token: string }> | undefined;
  private get relays(): Map<string, { from: LegName; token: string }> {
    return (this.relaysTable ??= new Map());
  }
  private relayCount = 0;
  self!: ActorRef<CallMessage>;
  private logContext: Record<string, unknown>;
  private logger: Logger | undefined;
  /** The call's span when tracing is on. */
  private span: CallSpan | undefined;
  /** The transport node and listener the call came in on: attempts leave through it too. */
  via!: Destination;

  constructor(
    readonly ctx: EngineContext,
    readonly callId: string,
  ) {
    this.actorId = `call-${callId}`;
    this.logContext = { call: callId };
    const trunking = ctx.trunking.current;
    this.policy = trunking.policy;
    this.locator = trunking.locator;
  }

  /** Read by the worker's stats (calls by state); changed only by the actor. */
  get state(): CallState {
    return this.callState;
  }

  /** Entering `ending` is the end of the call for its records, whoever's BYE came first. */
  set state(next: CallState) {
    if (next === 'ending' && this.callState !== 'ending' && this.callState !== 'ended') {
      this.note({ type: 'ending', at: Date.now(), ...(this.endingBy === undefined ? {} : { by: this.endingBy }) });
    }
    this.callState = next;
  }

  /** Tells the worker's CDR actor what happened. */
  note(event: CallEvent): void {
    this.span?.note(event); // the span ends with `ended`, like the records
    this.ctx.cdr.tell({ callId: this.callId, event });
  }

  /** Created on first use, like the legs' (see LegActor.log). */
  get log(): Logger {
    return (this.logger ??= this.ctx.log.child(this.logContext));
  }

  get call(): ActorRef<CallMessage> {
    return this.self;
  }

  /** What operators see in a listing. */
  summary(): CallSummary {
    return {
      id: this.callId, worker: this.ctx.workerId, state: this.state, startedAt: this.startedAt,
      ...(this.answeredAt === undefined ? {} : { answeredAt: this.answeredAt }),
      ...(this.trunk === undefined ? {} : { trunk: this.trunk.id }),
      ...(this.direction === undefined ? {} : { direction: this.direction }),
      ...(this.callerNumber() === undefined ? {} : { from: this.callerNumber() }),
      ...(this.calledNumber() === undefined ? {} : { to: this.calledNumber() }),
      legs: this.legs.size, transfers: this.transfers.length,
    };
  }

  /** What `calls show` shows: the summary, each leg's dialog, each transfer. */
  detail(): CallDetail {
    return {
      ...this.summary(),
      legList: [...this.legs.entries()].map(([name, { actor }]) => actor === undefined
        ? { name, sipCallId: '', role: 'uac' as const, dialog: 'relayed', peer: '' }
        : { name, sipCallId: actor.callId, role: actor.role, dialog: actor.dialogState, peer: actor.peerAddress }),
      transferList: this.transfers.map((t) => ({ id: t.id, target: t.target, kind: t.kind, billable: t.billable, outcome: t.outcome, ...(t.status === undefined ? {} : { status: t.status }) })),
    };
  }

  private callerNumber(): string | undefined {
    return this.direction === 'termination' ? this.parties.customer : this.parties.remote;
  }

  private calledNumber(): string | undefined {
    return this.direction === 'termination' ? this.parties.remote : this.parties.customer;
  }

  /** Spawns the call and its incoming leg for `invite`, received from `from`, and applies the trunk policy. */
  static start(ctx: EngineContext, invite: SipRequest, from: Destination, traceparent?: string): CallActor {
    const callId = newCallId();
    // tracing on: the call's span (a child of the INVITE's `sip.receive`); its actors get a context that stamps it on what they send
    const span = ctx.tracer?.startCall(callId, invite.headers.callId ?? '', traceparent);
    if (span !== undefined) ctx = tracedContext(ctx, span);
    const call = new CallActor(ctx, callId);
    call.span = span;
    call.self = ctx.kernel.spawn(call.actorId, call);
    call.via = from;
    ctx.calls.set(callId, call);
    ctx.counters.add('calls.started');
    const h = invite.headers;
    call.note({ type: 'started', at: Date.now(), sipCallId: h.callId ?? '' });
    call.logContext = { call: callId, callId: h.callId };
    if (span?.traceId !== undefined) call.logContext.traceId = span.traceId;
    const a = new LegActor(ctx, newRoutingScope(), 'a', 'uas', call.self, h.callId ?? '', h.to ?? new NameAddr(invite.uri), h.from ?? new NameAddr(invite.uri), from, invite.uri);
    call.adopt(a);
    a.acceptInvite(invite);
    call.decide(invite, from);
    return call;
  }

  private decide(invite: SipRequest, from: Destination): void {
    const early = this.refusal(invite);
    const received = receivedNumbers(invite);
    if (early !== undefined) {
      this.note({ type: 'refused', ...received });
      return this.refuse(early.status, early.reason, early.headers);
    }
    const plan = this.policy.plan(invite, { address: from.address });
    switch (plan.kind) {
      case 'refused':
        // a stranger is counted, not recorded: scans must not fill the CDR stream
        this.note(plan.cause === 'unknown-source' ? { type: 'unrecorded' } : { type: 'refused', ...received, ...(plan.trunk === undefined ? {} : { trunk: plan.trunk }) });
        this.ctx.counters.add(`refused.${plan.cause}`);
        this.log.info({ event: 'refused', cause: plan.cause, trunk: plan.trunk, detail: plan.detail, source: from.address }, `call refused: ${plan.status} ${plan.reason}`);
        return this.refuse(plan.status, plan.reason);
      case 'challenge':
        // the retry with credentials is the call (and gets the record)
        this.note({ type: 'unrecorded' });
        this.ctx.counters.add('challenged');
        return this.refuse(407, 'Proxy Authentication Required', plan.headers);
    }
    this.plan = plan;
    this.trunk = plan.trunk;
    this.ctx.counters.add(`calls.trunk.${plan.trunk.id}`);
    this.direction = plan.kind;
    this.parties = plan.kind === 'termination'
      ? { customer: plan.caller.number, remote: plan.called, remoteAnonymous: false }
      : { customer: plan.called, remote: plan.caller, remoteAnonymous: plan.anonymous };
    Object.assign(this.logContext, { trunk: plan.trunk.id, direction: plan.kind }); // the legs share this object
    const caller = plan.kind === 'termination' ? plan.caller.number : plan.caller;
    this.note({
      type: 'planned', trunk: plan.trunk.id, direction: plan.kind,
      from: caller === undefined ? received.from : { ...received.from, normalised: caller },
      to: { received: plan.dialled, normalised: plan.called },
    });
    if (this.ctx.log.isLevelEnabled('debug')) this.log.debug({ event: 'call-started', called: plan.called, targets: plan.targets.length }, 'call started');
    const contentType = invite.headers.get('content-type');
    this.offer = {
      body: invite.body, contentType,
      maxForwards: Math.max(0, (invite.headers.maxForwards ?? 70) - 1),
      displayName: invite.headers.from?.displayName,
    };
    if (invite.body.length > 0) this.rememberSdp('a', invite.body, contentType);
    this.attempts = new OutboundAttempts(this, plan.targets, this.offer, this.presentation(plan), 'b',
      // when no answer was worth relaying: a termination call is our failure; an origination call finds the customer unreachable
      plan.kind === 'origination' ? { status: 480, reason: 'Temporarily Unavailable' } : { status: 503, reason: 'All Routes Failed' });
    if (!hasLimits(plan.limit)) return this.route();
    // the call may end while it waits (the caller cancels): then nothing may hold its slot
    admitFor(this.ctx.limiter, plan.limit, () => this.state === 'ended', (admission) => {
      this.admission = admission;
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
    this.note({ type: 'final', at: Date.now(), status, statusText: reason ?? defaultReason(status) });
    this.state = 'ending';
    this.tell('a', { type: 'answer', status, ...(reason === undefined ? {} : { reason }), ...(headers === undefined ? {} : { headers }) });
  }

  /** Spawns and registers one of the call's own legs. */
  adopt(leg: LegActor): void {
    leg.callContext = this.logContext;
    const ref = this.ctx.kernel.spawn(leg.actorId, leg);
    leg.self = ref;
    this.legs.set(leg.name, { actor: leg, ref });
  }

  /** How the call's attempts present the caller: From, P-Asserted-Identity, Privacy (see README "What the carrier sees"). */
  private presentation(plan: CallPlan): Presentation {
    return (target: CallTarget, ourHost: string) => {
      const displayName = this.offer?.displayName;
      if (plan.kind === 'termination') return pstnCaller(target, ourHost, plan.caller, displayName);
      const from = plan.anonymous || plan.caller === undefined ? anonymousIdentity() : new NameAddr(new SipUri({ user: plan.caller, host: ourHost }), displayName);
      return { from, headers: [] };
    };
  }

  // ---- limits and attempts ----------------------------------------------------------------------

  private onAdmitted(): void {
    const admission = this.admission;
    if (this.state !== 'admitting' || admission === undefined || this.plan === undefined) return;
    if (admission.admitted) return this.route();
    this.ctx.counters.add(`limit.${admission.limit}`);
    this.note({ type: 'refused' });
    this.log.info({ event: 'limit', limit: admission.limit, key: admission.key }, 'call refused by a limit');
    // Over its rate the customer should retry shortly (503 + Retry-After); over its channels a
    // termination call is refused as a capacity problem of ours (503, so the PBX may use another
    // trunk) and an origination call as the customer being busy (486, so the carrier stops).
    const reason = limitReason(admission.limit);
    if (admission.limit !== 'concurrency') this.refuse(503, reason, [['Retry-After', '1']]);
    else this.refuse(this.plan.kind === 'origination' ? 486 : 503, reason);
  }

  private route(): void {
    this.state = 'routing';
    this.afterAttempt(this.attempts?.next());
  }

  /** After the attempts moved on: the leg now ringing is the pair's other side; none left ends the call. */
  private afterAttempt(exhausted: { status: number; reason: string } | undefined): void {
    if (exhausted !== undefined) {
      this.note({ type: 'final', at: Date.now(), status: exhausted.status, statusText: exhausted.reason });
      this.state = 'ending';
      this.tell('a', { type: 'hangup', status: exhausted.status, reason: exhausted.reason });
      return;
    }
    const current = this.attempts?.current;
    this.pair[1] = current;
    this.state = current === undefined ? 'routing' : 'early';
  }

  // ---- the actor ------------------------------------------------------------------------------------

  receive(m: CallMessage): void {
    if ('leg' in m) this.noteLeg(m);
    else this.endingBy = undefined;
    // before any leg routing: a join must always be answered, or the asking transfer waits for ever
    if (m.type === 'join-away') return this.onJoinAway(m);
    if (this.relay !== undefined && 'leg' in m && m.leg === this.relay.leg) return this.relayEvent(m);
    if ('leg' in m && m.type !== 'transfer-answered' && m.type !== 'release-transferor' && this.transfer?.legs.has(m.leg) === true) return this.forwardToTransfer(m);
    switch (m.type) {
      case 'admitted':
        return this.onAdmitted();
      case 'prepared':
        if (this.state === 'routing') this.afterAttempt(this.attempts?.onPrepared(m));
        return;
      case 'provisional':
        if (m.leg === this.pair[1] && this.state === 'early') {
          this.tell('a', { type: 'answer', status: m.status, reason: m.reason, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
        }
        return;
      case 'answered':
        if (m.leg === 'a') return;
        if (m.leg !== this.pair[1] || this.state === 'ending') {
          this.tell(m.leg, { type: 'hangup' }); // answered after the caller gave up: release it
          return;
        }
        return this.onAnswered(m.leg, m.body, m.contentType);
      case 'confirmed':
        if (m.leg === 'a' && this.state === 'answered') this.state = 'confirmed';
        return;
      case 'failed':
        if (m.leg !== 'a' && m.leg === this.pair[1] && this.state === 'early') {
          this.state = 'routing';
          this.afterAttempt(this.attempts?.onFailed(m.status, m.reason, m.cause));
          return;
        }
        if (this.inPair(m.leg)) this.onPartyGone(m.leg);
        return;
      case 'cancelled':
        this.state = 'ending';
        if (this.pair[1] !== undefined) this.tell(this.pair[1], { type: 'hangup' });
        return;
      case 'bye':
        if (this.inPair(m.leg)) this.onPartyGone(m.leg);
        return;
      case 'request':
        return this.onRequest(m);
      case 'request-answered':
        return this.onRequestAnswered(m);
      case 'ended':
        this.legs.delete(m.leg);
        // an earlier attempt or a released transferor finishing its transactions changes nothing
        if (this.inPair(m.leg) && this.state !== 'ending' && this.state !== 'ended') this.onPartyGone(m.leg);
        if (this.legs.size === 0) this.stop();
        return;
      case 'adopt':
        this.legs.set(m.name, { actor: m.actor, ref: m.ref });
        this.transfer?.legs.add(m.name);
        return;
      case 'notify':
        return this.onNotify(m);
      case 'transfer-answered':
        return this.onTransferAnswered(m);
      case 'transfer-failed':
        return this.onTransferFailed(m);
      case 'transfer-joined':
        return this.onTransferJoined(m);
      case 'bridged': {
        const message = m.message;
        if (message.to === 'master') return this.receive({ ...message.event, leg: 'remote' } as CallMessage);
        if (this.relay === undefined) return;
        clearTimeout(this.relay.attachTimer);
        if ('command' in message) this.tell(this.relay.leg, message.command);
        return;
      }
      case 'join-unattached':
        // the master never took the far party (its join timed out): nobody is listening to it
        if (this.relay !== undefined) {
          this.log.warn({ event: 'join-unattached', master: this.relay.master }, 'attended transfer: no master attached; hanging up the far party');
          this.tell(this.relay.leg, { type: 'hangup' });
        }
        return;
      case 'transfer-done':
        this.notifyTo?.delete(m.transfer);
        if (this.transfer?.id === m.transfer) {
          const t = this.transfer;
          // ended without an outcome of its own: the remaining party left (the final NOTIFY said 487)
          if (t.record.outcome === 'in-progress') {
            Object.assign(t.record, { outcome: 'failed', status: 487 });
            this.note({ type: 'transfer-failed', index: this.transfers.indexOf(t.record) + 1, at: Date.now(), status: 487, statusText: 'Request Terminated', aborted: true });
          }
          this.transfer = undefined;
          if (t.releaseTransferor === true) this.tell(t.transferor, { type: 'hangup' });
        }
        return;
      case 'release-transferor':
        if (!this.inPair(m.leg)) this.tell(m.leg, { type: 'hangup' });
        return;
      case 'operator-hangup':
        return this.onOperatorHangup();
      case 'operator-transfer':
        return this.onOperatorTransfer(m.target, m.respond);
    }
  }

  // ---- operators (admin API) ---------------------------------------------------------------------

  private onOperatorHangup(): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    this.log.info({ event: 'operator-hangup' }, 'call ended by an operator');
    this.ctx.counters.add('operator.hangup');
    this.endingBy = undefined;
    this.transfer?.ref.tell({ type: 'abort' });
    if (this.answeredAt === undefined) this.note({ type: 'final', at: Date.now(), status: 480, statusText: 'Ended By Operator' });
    this.state = 'ending';
    for (const leg of [...this.legs.keys()]) this.tell(leg, { type: 'hangup', status: 480, reason: 'Ended By Operator' });
  }

  /**
   * An operator's transfer goes through the same checks and the same transfer actor as the
   * customer's REFER: the customer's leg is the transferor (released as soon as the new party
   * answers), the far party remains. There is nobody to NOTIFY (Refer-Sub: false).
   */
  private onOperatorTransfer(target: string, respond: (answer: OperatorTransferAnswer) => void): void {
    const leg = this.customerLeg;
    const trunk = this.trunk;
    if (leg === undefined || trunk === undefined) return respond({ ok: false, status: 403, reason: 'Transfer Not Allowed' });
    const uri = /^(sips?|tel):/i.test(target) ? target : `sip:${target}@${trunk.domain}`;
    this.onRefer(leg, 'operator', { referTo: [`<${uri}>`], cseq: 1, referSub: false }, respond);
  }

  /** What the records need of a leg's event; `endingBy` names the party if this event ends the call. */
  private noteLeg(m: Extract<CallMessage, { leg: LegName }>): void {
    this.endingBy = undefined;
    const at = Date.now();
    switch (m.type) {
      case 'provisional':
        if (m.status > 100) this.note({ type: 'ringing', leg: m.leg, at });
        return;
      case 'failed':
        if (m.cause === 'response') this.endingBy = m.leg;
        return this.note({ type: 'failed', leg: m.leg, at, status: m.status, statusText: m.reason, cause: m.cause, ...(m.reasonHeader === undefined ? {} : { reason: m.reasonHeader }) });
      case 'cancelled':
      case 'bye':
        // a BYE the leg sent itself (its session expired) is ours, not its party's
        if (m.type === 'bye' && m.reason !== undefined) return this.note({ type: 'released', leg: m.leg, at });
        this.endingBy = m.leg;
        return this.note({ type: 'hangup', leg: m.leg, at, cancel: m.type === 'cancelled', ...(m.reasonHeader === undefined ? {} : { reason: m.reasonHeader }) });
    }
  }

  private onAnswered(leg: LegName, body: Uint8Array, contentType: string | undefined): void {
    this.state = 'answered';
    this.answeredAt = Date.now();
    // noted here, where the call bridges it: a 200 crossing our CANCEL or BYE is no answer
    this.note({ type: 'answered', leg, at: this.answeredAt });
    this.ctx.counters.observe('call.setup_ms', this.answeredAt - this.startedAt);
    if (body.length > 0) this.rememberSdp(leg, body, contentType);
    this.customerLeg = this.direction === 'termination' ? 'a' : leg;
    // a bridged call needs neither the targets nor the caller's offer: a call that is up holds little
    this.plan = undefined;
    this.offer = undefined;
    this.attempts = undefined;
    this.tell('a', { type: 'answer', status: 200, ...(body.length > 0 ? { body, contentType } : {}) });
  }

  /** A copy: a body is a view of its whole message's bytes, which a call that is up should not keep. */
  private rememberSdp(leg: LegName, body: Uint8Array, contentType: string | undefined): void {
    // a real copy (Buffer#slice is a view) and a constant type (a header value is a slice of its message's text)
    this.sdpOf.set(leg, { body: new Uint8Array(body), contentType: contentType !== undefined && SDP.test(contentType) ? 'application/sdp' : contentType });
  }

  private inPair(leg: LegName): boolean {
    return leg === this.pair[0] || leg === this.pair[1];
  }

  private otherOf(leg: LegName): LegName | undefined {
    return leg === this.pair[0] ? this.pair[1] : leg === this.pair[1] ? this.pair[0] : undefined;
  }

  /**
   * A bridged party hung up (or its leg failed). Normally the other is hung up too; during a
   * transfer the transferor may go at once (blind transfer) and the remaining party waits for
   * the new leg, while the remaining party going ends the transfer.
   */
  private onPartyGone(leg: LegName): void {
    const t = this.transfer;
    if (t !== undefined && t.record.outcome === 'in-progress') {
      if (leg === t.transferor) {
        t.transferorGone = true;
        (this.transferorLeft ??= new Set()).add(leg);
        return;
      }
      if (leg === t.remaining) {
        // the transferor hears the end of its transfer (final NOTIFY 487) before our BYE: released on transfer-done
        t.ref.tell({ type: 'abort' });
        t.releaseTransferor = true;
        this.state = 'ending';
        return;
      }
    }
    this.endBoth(this.otherOf(leg));
  }

  private endBoth(other: LegName | undefined): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    this.state = 'ending';
    if (other !== undefined) this.tell(other, { type: 'hangup' });
  }

  // ---- in-dialog requests -----------------------------------------------------------------------

  private onRequest(m: Extract<CallMessage, { type: 'request' }>): void {
    if (m.method === 'REFER') return this.onRefer(m.leg, m.token, m.request === undefined ? undefined : referAsk(m.request));
    const other = this.otherOf(m.leg);
    if (other === undefined || !this.legs.has(other)) {
      this.tell(m.leg, { type: 'answer-request', token: m.token, status: 481, reason: 'Call/Transaction Does Not Exist' });
      return;
    }
    if (m.body.length > 0 && m.contentType !== undefined && SDP.test(m.contentType)) this.rememberSdp(m.leg, m.body, m.contentType);
    const token = `r${++this.relayCount}`;
    this.relays.set(token, { from: m.leg, token: m.token });
    this.tell(other, { type: 'send-request', token, method: m.method, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
  }

  private onRequestAnswered(m: Extract<CallMessage, { type: 'request-answered' }>): void {
    if (m.token.startsWith('n:')) return this.onNotifyAnswered(m.token, m.status);
    if (m.token.startsWith('x:')) return this.onOwnRequestAnswered(m);
    const relay = this.relays.get(m.token);
    if (relay === undefined) return;
    this.relays.delete(m.token);
    if (this.relays.size === 0) this.relaysTable = undefined;
    if (m.body !== undefined && m.body.length > 0 && m.status < 300 && m.contentType !== undefined && SDP.test(m.contentType)) this.rememberSdp(m.leg, m.body, m.contentType);
    this.tell(relay.from, { type: 'answer-request', token: relay.token, status: m.status, reason: m.reason, ...(m.body !== undefined && m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
  }

  // ---- transfer (issue 7) ----------------------------------------------------------------------

  /** A REFER from a bridged party: refused, or accepted with 202 and handed to a new transfer actor. */
  private onRefer(leg: LegName, token: string, refer: ReferAsk | undefined, operator?: (answer: OperatorTransferAnswer) => void): void {
    const answer = (status: number, reason: string, headers: [string, string][] = []) => {
      this.ctx.counters.add(status === 202 ? 'transfer.accepted' : 'transfer.refused');
      if (status !== 202) this.log.info({ event: 'refer-refused', status, reason, operator: operator !== undefined }, `REFER refused: ${status} ${reason}`);
      if (operator === undefined) this.tell(leg, { type: 'answer-request', token, status, reason, headers });
      else if (status !== 202) operator({ ok: false, status, reason });
    };
    const trunk = this.trunk;
    const remaining = this.otherOf(leg);
    // a carrier's REFER is never taken, nor relayed (that makes REFER ping-pong between peers)
    if (refer === undefined || trunk === undefined || leg !== this.customerLeg) return answer(403, 'Transfer Not Allowed');
    if (this.state !== 'confirmed' && this.state !== 'answered') return answer(403, 'Transfer Not Allowed');
    if (this.transfer !== undefined) return answer(491, 'Request Pending');
    if (remaining === undefined || !this.legs.has(remaining)) return answer(481, 'Call/Transaction Does Not Exist');
    if (trunk.transfer.mode === 'disabled') return answer(403, 'Transfer Not Allowed');
    if (this.transfers.length >= trunk.transfer.maxPerCall) return answer(403, 'Too Many Transfers');
    // §8.1.1.5: a CSeq number must be below 2**31; the subscription's id= is built from it
    if (refer.cseq >= 2 ** 31) return answer(400, 'Bad CSeq');
    const target = readReferTo(refer.referTo, trunk);
    if (isReferRefusal(target)) return answer(target.status, target.reason);
    if (target.kind === 'pstn' && trunk.transfer.mode === 'sip-only') return answer(403, 'PSTN Transfer Not Allowed');
    if (target.kind === 'sip' && trunk.transfer.mode === 'pstn-only') return answer(403, 'SIP Transfer Not Allowed');
    // a party on another domain holds the call for the customer, but may not bill the customer's trunk
    if (target.kind === 'pstn' && this.sipParties?.has(leg) === true) return answer(403, 'PSTN Transfer Not Allowed');
    const parties = [this.parties.customer, this.parties.remote].filter((p): p is string => p !== undefined);
    if (isLoopTarget(target, { trunk, parties })) return answer(403, 'Transfer Loop');
    const remainingSdp = this.sdpOf.get(remaining);
    if (remainingSdp === undefined) return answer(488, 'No Session to Transfer');
    const referSub = refer.referSub;
    const refers = (this.refersByLeg ??= new Map());
    const n = (refers.get(leg) ?? 0) + 1;
    refers.set(leg, n);
    answer(202, 'Accepted', referSub ? [] : [['Refer-Sub', 'false']]);
    const id = newRoutingScope();
    const remote = this.parties.remote;
    const transferee = remaining === this.customerLeg ? this.parties.customer : remote;
    const caller = trunk.transfer.callerId === 'transferor'
      ? { number: this.parties.customer, anonymous: false }
      : { number: transferee, anonymous: this.parties.remoteAnonymous };
    // an attended transfer joins two calls that exist: nothing new is dialled, nothing billed
    const record: TransferRecord = {
      id, transferor: leg, target: target.uri.toString(), kind: target.kind, billable: target.kind === 'pstn' && target.replaces === undefined, outcome: 'in-progress',
    };
    if (this.transfers === NO_TRANSFERS) this.transfers = [];
    this.transfers.push(record);
    const referredBy = this.sipParties?.get(leg) ?? this.parties.customer;
    this.note({
      type: 'transfer', index: this.transfers.length, at: Date.now(), transferor: leg, remaining, kind: record.kind, billable: record.billable,
      referTo: record.target, ...(referredBy === undefined ? {} : { referredBy }),
      from: caller.number === undefined ? {} : { normalised: caller.number },
      to: target.kind === 'pstn' ? { received: target.dialled, normalised: target.number } : { received: record.target },
    });
    const actor = new TransferActor(this.ctx, {
      id, call: this.self, callId: this.callId, target, trunk,
      subscription: { cseq: refer.cseq, firstInDialog: n === 1, referSub },
      offer: { body: remainingSdp.body, contentType: remainingSdp.contentType, maxForwards: 70, displayName: undefined },
      caller, transferorNumber: this.parties.customer, via: this.via, policy: this.policy, locator: this.locator, logContext: this.logContext, legPrefix: `c${this.transfers.length}.`,
      ...(this.sipParties?.has(leg) === true ? { referredBy: `<${this.sipParties.get(leg)}>` } : {}),
    });
    const ref = this.ctx.kernel.spawn(actor.actorId, actor);
    actor.self = ref;
    this.transfer = { id, ref, transferor: leg, remaining, legs: new Set(), transferorGone: false, offered: remainingSdp.body, record, operator: operator !== undefined, startedAt: Date.now() };
    this.ctx.counters.add(`transfer.started.${record.kind}`);
    operator?.({ ok: true, transfer: id, kind: record.kind });
    (this.notifyTo ??= new Map()).set(id, leg);
    this.log.info({ event: 'transfer', transfer: id, kind: target.kind, target: record.target }, 'transfer accepted');
    ref.tell({ type: 'start' });
  }

  private forwardToTransfer(m: CallMessage): void {
    const t = this.transfer;
    if (t === undefined || !('leg' in m)) return;
    if (m.type === 'ended') {
      this.legs.delete(m.leg);
      t.legs.delete(m.leg);
    }
    // a transfer's leg is not bridged yet: its in-dialog requests wait for the bridge
    if (m.type === 'request') this.tell(m.leg, { type: 'answer-request', token: m.token, status: 491, reason: 'Request Pending' });
    else t.ref.tell({ type: 'leg', event: m });
    if (this.legs.size === 0) this.stop();
  }

  private onNotify(m: Extract<CallMessage, { type: 'notify' }>): void {
    // the subscription outlives the transfer's outcome (its final NOTIFY comes after): found by id
    const transferor = this.notifyTo?.get(m.transfer);
    if (transferor === undefined || !this.legs.has(transferor) || this.transferorLeft?.has(transferor) === true) {
      // RFC 6665 §4.2.2: no dialog to notify in ends the subscription, not the transfer
      this.ctx.kernel.find<TransferMessage>(`transfer-${m.transfer}`)?.tell({ type: 'notify-answered', seq: m.seq, status: 481 });
      return;
    }
    this.tell(transferor, {
      type: 'send-request', token: `n:${m.transfer}:${m.seq}`, method: 'NOTIFY',
      headers: m.headers, body: Buffer.from(m.body), contentType: m.contentType,
    });
  }

  private onNotifyAnswered(token: string, status: number): void {
    const [, id, seq] = token.split(':');
    this.ctx.kernel.find<TransferMessage>(`transfer-${id}`)?.tell({ type: 'notify-answered', seq: Number(seq), status });
  }

  /**
   * The new party answered: the remaining party is re-pointed at it with a re-INVITE carrying
   * its SDP (RFC 3725), the pair becomes remaining ↔ new, and the transferor is released —
   * by its own BYE (RFC 5589 §6) or ours after `transferorByeMs`.
   */
  private onTransferAnswered(m: Extract<CallMessage, { type: 'transfer-answered' }>, farSaw?: Uint8Array): void {
    const t = this.transfer;
    (this.releases ??= []).push(m.release);
    if (t === undefined || t.id !== m.transfer || this.state === 'ending' || this.state === 'ended') {
      this.tell(m.leg, { type: 'hangup' });
      return;
    }
    t.legs.delete(m.leg);
    if (m.leg !== 'remote') this.note({ type: 'answered', leg: m.leg, at: Date.now() });
    t.record.outcome = 'answered';
    t.record.status = 200;
    this.ctx.counters.add(`transfer.answered.${t.record.kind}`);
    this.ctx.counters.observe('transfer.setup_ms', Date.now() - t.startedAt);
    this.log.info({ event: 'transfer-answered', transfer: t.id }, 'transfer answered: bridging the remaining party to the new leg');
    if (m.body.length > 0) this.rememberSdp(m.leg, m.body, m.contentType);
    this.pair = [t.remaining, m.leg];
    // the new leg is the customer's choice: on another domain it may transfer again (chains); a PSTN party may not
    this.customerLeg = t.record.kind === 'sip' ? m.leg : undefined;
    if (t.record.kind === 'sip') (this.sipParties ??= new Map()).set(m.leg, t.record.target);
    // each party keeps seeing the origin it saw: the remaining party the transferor's, the new one its offer's
    const keepers = (this.keepers ??= new Map());
    keepers.set(m.leg, seeded(farSaw ?? t.offered));
    const seen = this.sdpOf.get(t.transferor);
    if (!keepers.has(t.remaining) && seen !== undefined) keepers.set(t.remaining, seeded(seen.body));
    this.newLegOffered = farSaw ?? t.offered;
    this.tell(t.remaining, { type: 'send-request', token: 'x:reinvite-remaining', method: 'INVITE', ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
    if (!t.transferorGone && this.legs.has(t.transferor)) {
      const transferor = t.transferor;
      this.transferorBye = setTimeout(() => this.self.tell({ type: 'release-transferor', leg: transferor }), t.operator ? 0 : this.ctx.transferorByeMs);
      this.transferorBye.unref();
    }
    this.transfer = undefined;
  }

  /** Attended transfer, master side: the replaced dialog's far party is reached through `relay` as leg `remote`. */
  private onTransferJoined(m: Extract<CallMessage, { type: 'transfer-joined' }>): void {
    const relay = m.relay;
    const bridge = this.ctx.bridge;
    this.legs.set('remote', { ref: { id: `remote-${relay.call}`, tell: (command: LegMessage) => bridge.send(relay, { to: 'relay', command: command as RelayedCommand }) } });
    bridge.send(relay, { to: 'relay', attached: true });
    this.transfer?.legs.add('remote');
    if (this.transfer !== undefined) {
      const at = Date.now();
      this.note({ type: 'attempt', leg: 'remote', at, transfer: this.transfers.indexOf(this.transfer.record) + 1 });
      this.note({ type: 'answered', leg: 'remote', at });
    }
    // the far party last saw the transferor's media: it is re-INVITEd with the remaining party's once that answers
    this.onTransferAnswered({ type: 'transfer-answered', transfer: m.transfer, leg: 'remote', body: m.body, contentType: m.contentType, release: () => undefined }, m.saw);
  }

  /** Attended transfer, on the call holding the replaced dialog: its far party goes to the master, the dialog ends. */
  private onJoinAway(m: Extract<CallMessage, { type: 'join-away' }>): void {
    const far = this.otherOf(m.leg);
    if ((this.state !== 'confirmed' && this.state !== 'answered') || far === undefined || !this.legs.has(far) || this.relay !== undefined) {
      m.respond({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
      return;
    }
    if (this.transfer !== undefined) {
      m.respond({ ok: false, status: 491, reason: 'Request Pending' });
      return;
    }
    const sdp = this.sdpOf.get(far);
    const saw = this.sdpOf.get(m.leg);
    m.respond({
      ok: true, relay: { worker: this.ctx.workerId, call: this.callId },
      ...(sdp === undefined ? {} : { sdp: sdp.body, sdpType: sdp.contentType }), ...(saw === undefined ? {} : { saw: saw.body }),
    });
    this.log.info({ event: 'joined-away', master: m.master }, 'replaced by an attended transfer: relaying the far party');
    this.relay = { master: m.master, leg: far, attachTimer: setTimeout(() => this.self.tell({ type: 'join-unattached' }), this.ctx.joinAttachMs) };
    this.pair = [far, undefined];
    this.state = 'relaying';
    this.tell(m.leg, { type: 'hangup' }); // RFC 3891 §3: the replaced dialog ends with BYE
  }

  /** On a relaying call: the far party's events go to the master call, where it is `remote`. */
  private relayEvent(m: CallMessage): void {
    const relay = this.relay;
    if (relay === undefined) return;
    if (m.type === 'provisional' || m.type === 'failed' || m.type === 'bye' || m.type === 'request' || m.type === 'request-answered' || m.type === 'ended') {
      const { request: _request, ...event } = m as RelayedEvent & { request?: unknown };
      this.ctx.bridge.send(relay.master, { to: 'master', event: event as RelayedEvent });
    }
    if (m.type === 'ended') {
      this.legs.delete(m.leg);
      if (this.legs.size === 0) this.stop();
    }
  }

  private onTransferFailed(m: Extract<CallMessage, { type: 'transfer-failed' }>): void {
    const t = this.transfer;
    if (t === undefined || t.id !== m.transfer) return;
    t.record.outcome = 'failed';
    t.record.status = m.status;
    this.note({ type: 'transfer-failed', index: this.transfers.indexOf(t.record) + 1, at: Date.now(), status: m.status, statusText: m.reason, aborted: false, ...(m.refused === true ? { refused: true } : {}) });
    this.transfer = undefined;
    // the original call stays as it was — unless the transferor already left (blind transfer)
    if (t.transferorGone && this.state !== 'ending' && this.state !== 'ended') {
      this.state = 'ending';
      this.tell(t.remaining, { type: 'hangup' });
    }
    if (this.legs.size === 0) this.stop();
  }

  /** The answers to requests the call itself sent (the re-INVITEs of a transfer). */
  private onOwnRequestAnswered(m: Extract<CallMessage, { type: 'request-answered' }>): void {
    if (m.token !== 'x:reinvite-remaining') return;
    if (m.status >= 300) {
      this.log.warn({ event: 'reinvite-refused', status: m.status }, 'the remaining party refused the new session: ending the call');
      this.endBoth(this.pair[1]);
      this.tell(this.pair[0], { type: 'hangup' });
      return;
    }
    const body = m.body;
    const newLeg = this.pair[1];
    const offered = this.newLegOffered;
    this.newLegOffered = undefined;
    if (body === undefined || body.length === 0 || newLeg === undefined) return;
    this.rememberSdp(m.leg, body, m.contentType);
    // the new party was offered the remaining party's earlier session: tell it if that changed
    if (offered !== undefined && !sameSession(body, offered)) {
      this.tell(newLeg, { type: 'send-request', token: 'x:reinvite-new', method: 'INVITE', body, contentType: m.contentType });
    }
  }

  /** Sends to a leg; SDP going to a party that has seen another origin keeps that origin (RFC 3264 §8). */
  private tell(leg: LegName, message: LegMessage): void {
    const body = 'body' in message ? message.body : undefined;
    const contentType = 'contentType' in message ? message.contentType : undefined;
    // no keeper before a transfer: a call that was never transferred relays SDP untouched
    if (message.type === 'hangup') this.note({ type: 'released', leg, at: Date.now() });
    const keeper = this.keepers?.get(leg);
    if (keeper !== undefined && body !== undefined && body.length > 0 && contentType !== undefined && SDP.test(contentType)) {
      (message as { body?: Uint8Array }).body = keeper.show(body);
    }
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

  /** Gives back what the call holds outside itself: its place in the call table and its slots. */
  private release(): void {
    if (this.callState !== 'ended') this.note({ type: 'ended', at: Date.now() });
    this.state = 'ended';
    clearTimeout(this.transferorBye);
    clearTimeout(this.relay?.attachTimer);
    this.ctx.calls.delete(this.callId);
    // nobody is left to notify: a transfer still running ends with the call (its stop releases its slots)
    if (this.transfer !== undefined) this.ctx.kernel.stop(`transfer-${this.transfer.id}`);
    this.transfer = undefined;
    if (this.admission?.admitted === true) this.admission.release();
    this.admission = undefined;
    for (const r of this.releases?.splice(0) ?? []) r();
  }
}

function seeded(sdp: Uint8Array): OriginKeeper {
  const keeper = new OriginKeeper();
  keeper.show(sdp);
  return keeper;
}

/** Whether two SDPs describe the same session, ignoring the `o=` version (which our keepers rewrite). */
function sameSession(a: Uint8Array, b: Uint8Array): boolean {
  const strip = (x: Uint8Array) => Buffer.from(x).toString().replace(/^o=.*$/m, '');
  return strip(a) === strip(b);
}

/** The caller's and the called numbers as they came: the user parts of From and of the Request-URI. */
function receivedNumbers(invite: SipRequest): { from: PartyNumber; to: PartyNumber } {
  const fromUser = invite.headers.from?.uri instanceof SipUri ? invite.headers.from.uri.user : undefined;
  const toUser = invite.uri instanceof SipUri ? invite.uri.user : undefined;
  return { from: fromUser === undefined ? {} : { received: fromUser }, to: toUser === undefined ? {} : { received: toUser } };
}

/** What a transfer is asked with: a REFER's Refer-To lines, CSeq and Refer-Sub, or an operator's target. */
interface ReferAsk {
  referTo: readonly string[];
  cseq: number;
  referSub: boolean;
}

function referAsk(refer: SipRequest): ReferAsk {
  return {
    // getAll reads the compact form `r` too (RFC 3515 §2.1)
    referTo: refer.headers.getAll('refer-to'),
    cseq: refer.headers.cseq?.seq ?? 0,
    // RFC 4488: Refer-Sub: false asks for no subscription; we honour it and say so
    referSub: (refer.headers.get('refer-sub') ?? 'true').trim().toLowerCase() !== 'false',
  };
}
