import type { CallDetail, CallSummary } from '@switchboard/admin';
import type { CallEvent } from '@switchboard/cdr';
import type { LimitHold } from '@switchboard/limits';
import { detached, NameAddr, type SipRequest } from '@switchboard/sip';
import type { TrunkConfig } from '@switchboard/trunking';
import { newCallId, newRoutingScope } from '@switchboard/wire';
import type { Logger } from 'pino';
import type { ActorBehaviour, ActorRef } from '../kernel/actor-kernel.js';
import type { EngineContext, TrunkingInForce } from '../context.js';
import { LegActor } from '../dialog/leg-actor.js';
import { CallSetup } from '../dialing/call-setup.js';
import { isLegEvent, type CallMessage, type CallState, type LegEvent, type LegName } from '../protocol/call-messages.js';
import type { LegMessage } from '../protocol/leg-messages.js';
import type { Destination } from '../protocol/sip-link.js';
import { CallSessions, isSdp } from '../sdp/call-sessions.js';
import { AttendedRelay } from '../transfer/attended-relay.js';
import { CallTransfers, type TransferRecord, type TransferringCall } from '../transfer/call-transfers.js';
import type { CallSpan } from '../tracing/call-tracer.js';
import { tracedContext } from '../tracing/traced-context.js';
import { legEventRecord } from '../records/leg-event-record.js';
import { callDetail, callSummary, type CallFacts, type CallLegView } from './call-view.js';
import { InDialogRelay } from './in-dialog-relay.js';


interface CallLeg extends CallLegView {
  readonly ref: ActorRef<LegMessage>;
  /** The leg itself, on this worker: what a snapshot reads (a relayed party has none). */
  readonly actor: LegActor | undefined;
}

const NO_TRANSFERS: readonly TransferRecord[] = [];

/** The Reason of the 500 a ringing call's caller gets after a worker takeover (RFC 6432): Q.850 41, temporary failure. */
export const TAKEOVER_REASON = 'Q.850;cause=41;text="Worker taken over"';

/** The Reason (RFC 3326) of our BYEs when a call reaches its maximum duration: Q.850 102, recovery on timer expiry. */
export const MAX_DURATION_REASON = 'Q.850;cause=102;text="Maximum call duration"';

/**
 * A call: the B2BUA bridge between two legs — first the leg that came in (a, UAS) and the
 * attempt that answered (b1, b2…, UAC), later the remaining party and a transfer's new leg
 * (c1.1…). Legs report to it and it relays between the bridged pair; how the call is set up
 * (policy, limits, attempts) is its `setup`, what it does for a REFER its `transfers`, and a
 * call whose far party an attended transfer took over relays through its `relay`. Each leg
 * has its own Call-ID, tags, CSeq and Via, and every outgoing INVITE is built afresh, so
 * neither side sees the other's addresses (topology hiding).
 */
export class CallActor implements ActorBehaviour<CallMessage>, TransferringCall, CallFacts {
  readonly actorId: string;
  private callState: CallState = 'admitting';
  /** When the INVITE arrived, and when the call was answered (Unix ms, for operators). */
  answeredAt: number | undefined;
  /** The trunk policy and SIP locator the call started under: a configuration change applies to later calls only. */
  readonly policy: TrunkingInForce['policy'];
  readonly locator: TrunkingInForce['locator'];
  /** The leg whose party's BYE, CANCEL or final answer is being handled: who ended the call, if it ends now. */
  private endingBy: LegName | undefined;
  private endingAt: number | undefined;
  /** Why we ended the call ourselves (the Reason of our BYEs), for its records. */
  private endingReason: string | undefined;
  /** The key of its maximum duration in ctx.deadlines, once armed. */
  private maxDurationKey: number | undefined;
  private readonly legs = new Map<LegName, CallLeg>();
  /** The two legs bridged (or being connected): `a` and its attempt, later the remaining party and the new one. */
  pair: [LegName, LegName | undefined] = ['a', undefined];
  private setup: CallSetup | undefined;
  trunkConfig: TrunkConfig | undefined;
  direction: 'termination' | 'origination' | undefined;
  /** The leg on the customer's side: the only one whose REFER is taken. */
  customerLeg: LegName | undefined;
  parties = { customer: undefined as string | undefined, remote: undefined as string | undefined, remoteAnonymous: false };
  readonly sessions = new CallSessions();
  private transfersOfCall: CallTransfers | undefined;
  private relay: AttendedRelay | undefined;
  /** The call's own trunk slot, and those of the calls its transfers added (given back when it ends). */
  private holds: LimitHold[] | undefined;
  private inDialog: InDialogRelay | undefined;
  self!: ActorRef<CallMessage>;
  readonly logContext: Record<string, unknown>;
  private logger: Logger | undefined;
  private span: CallSpan | undefined;
  /** The transport node and listener the call came in on: attempts leave through it too. */
  ingress!: Destination;

  constructor(
    readonly ctx: EngineContext,
    readonly callId: string,
    /** The routing slot (ctx.slots) every leg, transaction and transfer of the call mints its ids in. */
    readonly routingSlot: number,
    readonly startedAt = Date.now(),
  ) {
    this.actorId = `call-${callId}`;
    this.logContext = { call: callId };
    const trunking = ctx.trunking.current;
    this.policy = trunking.policy;
    this.locator = trunking.locator;
  }

  /**
   * Spawns the call and its incoming leg for `invite`, received from `from`. The INVITE's
   * transaction key is indexed at once, so a retransmission arriving before the leg has run
   * finds it (§17.2.3); the rest happens in the actors, as messages.
   */
  static start(ctx: EngineContext, invite: SipRequest, from: Destination, inviteKey: string, routingSlot: number, traceparent?: string): CallActor {
    const callId = newCallId();
    // tracing on: the call's span (a child of the INVITE's `sip.receive`); its actors get a context that stamps it on what they send
    const span = ctx.tracer?.startCall(callId, invite.headers.callId ?? '', traceparent);
    if (span !== undefined) ctx = tracedContext(ctx, span);
    const call = new CallActor(ctx, callId, routingSlot);
    call.span = span;
    call.ingress = from;
    // kept for the whole call: a copy, never a view of the INVITE's text (which it would keep alive)
    const sipCallId = detached(invite.headers.callId ?? '');
    call.logContext.callId = invite.headers.callId === undefined ? undefined : sipCallId;
    if (span?.traceId !== undefined) call.logContext.traceId = span.traceId;
    call.self = ctx.kernel.spawn(call.actorId, call);
    ctx.calls.set(callId, call);
    ctx.counters.add('calls.started');
    const h = invite.headers;
    call.note({ type: 'started', at: call.startedAt, sipCallId }); // one clock reading: the record's start is the call's
    const a = new LegActor(ctx, newRoutingScope(routingSlot), 'a', 'uas', call.self, sipCallId, h.to ?? new NameAddr(invite.uri), h.from ?? new NameAddr(invite.uri), from, invite.uri);
    const ref = call.adopt(a);
    ctx.invites.set(inviteKey, a.actorId);
    ref.tell({ type: 'accept-invite', invite });
    call.self.tell({ type: 'start', invite, from });
    return call;
  }

  /** Read by the worker's stats (calls by state); changed only by the actor. */
  get state(): CallState {
    return this.callState;
  }

  /** Entering `ending` is the end of the call for its records, whoever's BYE came first. */
  set state(next: CallState) {
    if (next === 'ending' && this.callState !== 'ending' && this.callState !== 'ended') {
      this.note({
        type: 'ending', at: this.endingAt ?? Date.now(),
        ...(this.endingBy === undefined ? {} : { by: this.endingBy }), ...(this.endingReason === undefined ? {} : { reason: this.endingReason }),
      });
    }
    this.callState = next;
  }

  /** Tells the call's span and the worker's CDR actor what happened. */
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

  get workerId(): string {
    return this.ctx.workerId;
  }

  get trunk(): string | undefined {
    return this.trunkConfig?.id;
  }

  get legViews(): ReadonlyMap<LegName, CallLegView> {
    return this.legs;
  }

  get transferRecords(): readonly TransferRecord[] {
    return this.transfersOfCall?.records ?? NO_TRANSFERS;
  }

  get transfers(): CallTransfers {
    return (this.transfersOfCall ??= new CallTransfers(this));
  }

  summary(): CallSummary {
    return callSummary(this);
  }

  detail(): CallDetail {
    return callDetail(this);
  }

  /** Spawns one of the call's own legs and registers it. */
  adopt(leg: LegActor): ActorRef<LegMessage> {
    leg.callContext = this.logContext;
    const ref = this.ctx.kernel.spawn(leg.actorId, leg);
    leg.self = ref;
    this.register(leg.name, ref, leg.info, leg);
    return ref;
  }

  register(name: LegName, ref: ActorRef<LegMessage>, info: CallLeg['info'], actor?: LegActor): void {
    this.legs.set(name, { ref, info, dialog: 'early', actor });
  }

  /** The legs this worker runs, by name (a snapshot's, a dropped slot's). */
  get legActors(): ReadonlyMap<LegName, LegActor> {
    const out = new Map<LegName, LegActor>();
    for (const [name, leg] of this.legs) if (leg.actor !== undefined) out.set(name, leg.actor);
    return out;
  }

  /** The limit slots the call holds (its own, its transfers'): a snapshot's, moved to an adopter. */
  get heldLimits(): readonly LimitHold[] {
    return this.holds ?? [];
  }

  legRef(leg: LegName): ActorRef<LegMessage> | undefined {
    return this.legs.get(leg)?.ref;
  }

  hasLeg(leg: LegName): boolean {
    return this.legs.has(leg);
  }

  forgetLeg(leg: LegName): void {
    this.legs.delete(leg);
    if (this.legs.size === 0) this.stop();
  }

  /** Holds `hold` until the call ends (its own trunk slot, or a transfer's new call's). */
  hold(hold: LimitHold | undefined): void {
    if (hold !== undefined) (this.holds ??= []).push(hold);
  }

  // ---- the actor ------------------------------------------------------------------------------------

  receive(m: CallMessage): void {
    // a flag: the snapshot is taken and written on a later turn, never in the one answering or ACKing
    this.ctx.snapshots?.changed(this.callId);
    if (isLegEvent(m)) {
      this.noteLeg(m);
      // before any leg routing: a join must always be answered, or the asking transfer waits for ever
      if (m.type === 'join-away') return AttendedRelay.handOver(this, m);
      if (this.relay?.holds(m.leg) === true) return this.relay.relayEvent(m);
      if (this.transfersOfCall?.owns(m) === true) return this.transfersOfCall.forward(m);
    } else this.endingBy = this.endingAt = undefined;
    switch (m.type) {
      case 'start':
        this.setup = new CallSetup(this);
        return this.setup.decide(m.invite, m.from);
      case 'admitted':
        return this.setup?.onAdmitted();
      case 'prepared':
        return this.setup?.onPrepared(m);
      case 'provisional':
        if (m.leg === this.pair[1] && this.state === 'early') {
          this.tell('a', { type: 'answer', status: m.status, reason: m.reason, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
          this.ctx.snapshots?.ringing(this);
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
        if (m.leg === 'a' && this.state === 'answered') {
          this.state = 'confirmed';
          this.ctx.snapshots?.confirmed(this);
        }
        return;
      case 'failed':
        if (m.leg !== 'a' && m.leg === this.pair[1] && this.state === 'early') return this.setup?.onFailed(m);
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
        if (m.method === 'REFER') return this.transfers.onRefer(m.leg, m.token, m.request);
        return this.relayRequest(m);
      case 'request-answered':
        if (m.token.kind === 'reinvite') return this.transfers.onReinviteAnswered(m);
        return this.relayAnswer(m);
      case 'ended':
        // an earlier attempt or a released transferor finishing its transactions changes nothing
        if (this.inPair(m.leg) && this.state !== 'ending' && this.state !== 'ended') this.onPartyGone(m.leg);
        this.transfersOfCall?.legEnded(m.leg);
        return this.forgetLeg(m.leg);
      case 'adopt':
        this.register(m.info.name, m.ref, m.info, m.actor instanceof LegActor ? m.actor : undefined);
        return this.transfers.adopted(m.transfer, m.info.name);
      case 'transfer-answered':
        return this.transfers.onAnswered(m);
      case 'transfer-joined':
        return this.transfers.onJoined(m);
      case 'transfer-failed':
        return this.transfers.onFailed(m);
      case 'transfer-done':
        return this.transfers.onDone(m.transfer);
      case 'release-transferor':
        if (!this.inPair(m.transferor)) this.tell(m.transferor, { type: 'hangup' });
        return;
      case 'bridged':
        if (m.message.to === 'master') return this.receive({ ...m.message.event, leg: 'remote' });
        return this.relay?.onCommand(m.message);
      case 'join-unattached':
        return this.relay?.unattached();
      case 'operator-hangup':
        return this.onOperatorHangup();
      case 'taken-over-ringing':
        return this.onTakenOverRinging();
      case 'max-duration':
        return this.onMaxDuration();
      case 'operator-transfer':
        return this.transfers.startForOperator(m.target, m.replyTo);
    }
  }

  /** This call hands its far party to another call (attended transfer): from now on it relays that party. */
  relayTo(relay: AttendedRelay): void {
    this.relay = relay;
    this.pair = [relay.leg, undefined];
    this.state = 'relaying';
  }

  // ---- operators (admin API) ---------------------------------------------------------------------

  /** A call nobody ended (a lost BYE, a peer that gave up) ends at its trunk's maximum duration, on both sides. */
  private onMaxDuration(): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    this.log.warn({ event: 'max-duration', seconds: this.trunkConfig?.restrictions.maxCallSeconds }, 'call reached its maximum duration: ending it');
    this.ctx.counters.add('calls.max-duration');
    this.endAll({ type: 'hangup', reasonHeader: MAX_DURATION_REASON });
  }

  private onOperatorHangup(): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    this.log.info({ event: 'operator-hangup' }, 'call ended by an operator');
    this.ctx.counters.add('operator.hangup');
    if (this.answeredAt === undefined) this.note({ type: 'final', at: Date.now(), status: 480, statusText: 'Ended By Operator' });
    this.endAll({ type: 'hangup', status: 480, reason: 'Ended By Operator' });
  }

  /**
   * A ringing call adopted from an early record: its setup (targets, offer, timers) died with the
   * worker, so it ends. 500, not 480: the callee was reachable and ringing, it is we who failed
   * (RFC 3261 §21.5.1), and a PBX may route a 5xx to another trunk; the carrier gets a CANCEL.
   */
  private onTakenOverRinging(): void {
    if (this.state !== 'early') return;
    this.log.warn({ event: 'ringing-call-ended' }, 'ringing call taken over: ended (500 to the caller, CANCEL to the carrier)');
    this.note({ type: 'final', at: Date.now(), status: 500, statusText: 'Server Internal Error' });
    this.endAll({ type: 'hangup', status: 500, reason: 'Server Internal Error', reasonHeader: TAKEOVER_REASON });
  }

  /** We end the call ourselves: every leg, whatever its state (BYE, CANCEL or a final answer), and a transfer in progress. */
  private endAll(hangup: Extract<LegMessage, { type: 'hangup' }>): void {
    this.endingBy = this.endingAt = undefined;
    this.endingReason = hangup.reasonHeader;
    this.transfersOfCall?.abort();
    this.state = 'ending';
    for (const leg of [...this.legs.keys()]) this.tell(leg, hangup);
  }

  // ---- the bridge -------------------------------------------------------------------------------------

  /** What the records need of a leg's event, and what operators see of its dialog. */
  private noteLeg(m: LegEvent): void {
    const record = legEventRecord(m, Date.now());
    this.endingBy = record.endingBy;
    this.endingAt = record.endingAt;
    if (record.event !== undefined) this.note(record.event);
    const leg = this.legs.get(m.leg);
    if (leg === undefined) return;
    // a UAS dialog is confirmed by the ACK of our 2xx, a UAC one by the 2xx itself
    if (m.type === 'confirmed' || (m.type === 'answered' && leg.info?.role === 'uac')) leg.dialog = 'confirmed';
    else if (m.type === 'failed' || m.type === 'cancelled' || m.type === 'bye') leg.dialog = 'terminated';
  }

  /** The attempt the call was waiting for answered: the call is bridged. */
  private onAnswered(leg: LegName, body: Uint8Array, contentType: string | undefined): void {
    this.state = 'answered';
    this.answeredAt = Date.now();
    // noted here, where the call bridges it: a 200 crossing our CANCEL or BYE is no answer
    this.note({ type: 'answered', leg, at: this.answeredAt });
    this.ctx.counters.observe('call.setup_ms', this.answeredAt - this.startedAt);
    if (body.length > 0) this.sessions.remember(leg, body, contentType);
    this.customerLeg = this.direction === 'termination' ? 'a' : leg;
    this.armMaxDuration();
    // a bridged call needs neither the targets nor the caller's offer: a call that is up holds little
    this.setup = undefined;
    this.tell('a', { type: 'answer', status: 200, ...(body.length > 0 ? { body, contentType } : {}) });
  }

  /** The trunk's maximum duration counts from the answer (`answeredAt`, on whichever worker it was). */
  armMaxDuration(): void {
    const maxSeconds = this.trunkConfig?.restrictions.maxCallSeconds ?? 0;
    if (maxSeconds <= 0 || this.answeredAt === undefined) return;
    this.maxDurationKey = this.ctx.deadlines.add(this.answeredAt + maxSeconds * 1000, this.self);
  }

  inPair(leg: LegName): boolean {
    return leg === this.pair[0] || leg === this.pair[1];
  }

  otherOf(leg: LegName): LegName | undefined {
    return leg === this.pair[0] ? this.pair[1] : leg === this.pair[1] ? this.pair[0] : undefined;
  }

  /**
   * A bridged party hung up (or its leg failed). Normally the other is hung up too; during a
   * transfer the transferor may go at once (blind transfer) and the remaining party waits for
   * the new leg, while the remaining party going ends the transfer.
   */
  private onPartyGone(leg: LegName): void {
    if (this.transfersOfCall?.onPartyGone(leg) === true) return;
    this.endBoth(this.otherOf(leg));
  }

  endBoth(other: LegName | undefined): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    this.state = 'ending';
    if (other !== undefined) this.tell(other, { type: 'hangup' });
  }

  /** An in-dialog request of one party goes to the other; its answer comes back the same way. */
  private relayRequest(m: Extract<LegEvent, { type: 'request' }>): void {
    const other = this.otherOf(m.leg);
    if (other === undefined || !this.legs.has(other)) {
      this.tell(m.leg, { type: 'answer-request', token: m.token, status: 481, reason: 'Call/Transaction Does Not Exist' });
      return;
    }
    if (m.body.length > 0 && isSdp(m.contentType)) this.sessions.remember(m.leg, m.body, m.contentType);
    this.tell(other, (this.inDialog ??= new InDialogRelay()).forward(m));
  }

  private relayAnswer(m: Extract<LegEvent, { type: 'request-answered' }>): void {
    const answer = this.inDialog?.answer(m);
    if (answer === undefined) return;
    if (m.body !== undefined && m.body.length > 0 && m.status < 300 && isSdp(m.contentType)) this.sessions.remember(m.leg, m.body, m.contentType);
    this.tell(answer.leg, answer.command);
  }

  /** Sends to a leg; SDP going to a party that has seen another origin keeps that origin (RFC 3264 §8). */
  tell(leg: LegName, message: LegMessage): void {
    if (message.type === 'hangup') this.note({ type: 'released', leg, at: Date.now() });
    this.legs.get(leg)?.ref.tell(this.sessions.rewrite(leg, message));
  }

  /** Sends the refusal of the INVITE that created the call. */
  refuse(status: number, reason?: string, headers?: [string, string][]): void {
    this.state = 'ending';
    this.tell('a', { type: 'answer', status, ...(reason === undefined ? {} : { reason }), ...(headers === undefined ? {} : { headers }) });
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
    this.inDialog = undefined;
  }

  /** Gives back what the call holds outside itself: its place in the call table and its slots. */
  private release(): void {
    if (this.callState !== 'ended') this.note({ type: 'ended', at: Date.now() });
    this.state = 'ended';
    this.ctx.snapshots?.ended(this.callId);
    this.relay?.stop();
    if (this.maxDurationKey !== undefined) this.ctx.deadlines.cancel(this.maxDurationKey, this.self);
    this.ctx.calls.delete(this.callId);
    this.transfersOfCall?.stop();
    this.setup?.stop();
    for (const hold of this.holds?.splice(0) ?? []) this.ctx.limiter.release(hold);
  }
}
