import type { CallEvent } from '@switchboard/cdr';
import type { LimitHold } from '@switchboard/limits';
import type { SipRequest } from '@switchboard/sip';
import { decideRefer, type ReferAsk, type TrunkConfig, type TrunkPolicy } from '@switchboard/trunking';
import { newRoutingScope } from '@switchboard/wire';
import type { Logger } from 'pino';
import type { EngineContext, TrunkingInForce } from '../context.js';
import type { ActorRef } from '../kernel/actor-kernel.js';
import type { CallMessage, CallState, LegEvent, LegInfo, LegName, OperatorTransferAnswer, TransferEvent, TransferRecord } from '../protocol/call-messages.js';
import type { LegMessage } from '../protocol/leg-messages.js';
import type { Destination } from '../protocol/sip-link.js';
import { sameSession, type CallSessions } from '../sdp/call-sessions.js';
import type { RunningTransferSnapshot } from '../takeover/call-snapshot.js';
import { remoteLeg } from './attended-relay.js';
import { TransferActor, type TransferMessage, type TransferSpec } from './transfer-actor.js';

/** Each transfer of a call, as operators see it (`calls show`). */
export type { TransferRecord };

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
  /** The REFER's CSeq number while its transferor is subscribed (RFC 3515): what a final NOTIFY after a takeover names. */
  referCSeq?: number;
}

/** The call as its transfers see it. */
export interface TransferringCall {
  readonly ctx: EngineContext;
  readonly callId: string;
  readonly routingSlot: number;
  readonly self: ActorRef<CallMessage>;
  readonly log: Logger;
  readonly logContext: Record<string, unknown>;
  readonly policy: TrunkPolicy;
  readonly locator: TrunkingInForce['locator'];
  readonly ingress: Destination;
  readonly sessions: CallSessions;
  readonly trunkConfig: TrunkConfig | undefined;
  readonly parties: { readonly customer: string | undefined; readonly remote: string | undefined; readonly remoteAnonymous: boolean };
  state: CallState;
  pair: [LegName, LegName | undefined];
  customerLeg: LegName | undefined;
  note(event: CallEvent): void;
  tell(leg: LegName, message: LegMessage): void;
  legRef(leg: LegName): ActorRef<LegMessage> | undefined;
  register(name: LegName, ref: ActorRef<LegMessage>, info: LegInfo | undefined): void;
  hasLeg(leg: LegName): boolean;
  forgetLeg(leg: LegName): void;
  otherOf(leg: LegName): LegName | undefined;
  endBoth(other: LegName | undefined): void;
  hold(hold: LimitHold | undefined): void;
}

/** Who asked for a transfer: a REFER (answered on its leg with the request's key) or an operator. */
type Asker = { key: string } | { operator: ActorRef<OperatorTransferAnswer> };

/**
 * The call's half of its transfers, owned by the call: taking a REFER (the rules are
 * `decideRefer`'s), starting the transfer actor that places the new leg and notifies the
 * transferor, and connecting the remaining party to the new one when it answers (RFC 3725
 * flow, RFC 5589 §6 release of the transferor).
 */
export class CallTransfers {
  readonly records: TransferRecord[] = [];
  private current: TransferInProgress | undefined;
  /** Transfer actors still alive (their subscription may outlive the outcome), by id, with their transferor. */
  private readonly live = new Map<string, { ref: ActorRef<TransferMessage>; transferor: LegName }>();
  private refersByLeg: Map<LegName, number> | undefined;
  /** Parties reached on another domain by a transfer, by leg: who they are when they transfer on. */
  private sipParties: Map<LegName, string> | undefined;
  private transferorBye: NodeJS.Timeout | undefined;
  /** What a transfer's new leg was offered, until the remaining party's answer shows whether it still holds. */
  private newLegOffered: Uint8Array | undefined;

  constructor(private readonly call: TransferringCall) {}

  /** Whether `m` comes from a leg of the transfer in progress that is not bridged yet. */
  owns(m: LegEvent): boolean {
    return this.current?.legs.has(m.leg) === true;
  }

  /** A transfer's leg is the transfer actor's until the call bridges it. */
  forward(m: LegEvent): void {
    const t = this.current;
    if (t === undefined) return;
    if (m.type === 'ended') t.legs.delete(m.leg);
    // a transfer's leg is not bridged yet: its in-dialog requests wait for the bridge
    if (m.type === 'request') this.call.tell(m.leg, { type: 'answer-request', token: m.token, status: 491, reason: 'Request Pending' });
    else t.ref.tell({ type: 'leg', event: m });
    if (m.type === 'ended') this.call.forgetLeg(m.leg);
  }

  adopted(transfer: string, leg: LegName): void {
    if (this.current?.id === transfer) this.current.legs.add(leg);
  }

  /** The transfer in progress whose transferor awaits NOTIFYs, as a snapshot keeps it (takeover/call-snapshot.ts). */
  get running(): RunningTransferSnapshot | undefined {
    const t = this.current;
    return t?.referCSeq === undefined || t.record.outcome !== 'in-progress' ? undefined : { id: t.id, transferor: t.transferor, referCSeq: t.referCSeq };
  }

  get inProgress(): boolean {
    return this.current !== undefined;
  }

  /**
   * An operator's transfer goes through the same rules and the same transfer actor as the
   * customer's REFER: the customer's leg is the transferor (released as soon as the new party
   * answers), the far party remains. There is nobody to NOTIFY (Refer-Sub: false).
   */
  startForOperator(target: string, replyTo: ActorRef<OperatorTransferAnswer>): void {
    const leg = this.call.customerLeg;
    const trunk = this.call.trunkConfig;
    if (leg === undefined || trunk === undefined) return replyTo.tell({ ok: false, status: 403, reason: 'Transfer Not Allowed' });
    const uri = /^(sips?|tel):/i.test(target) ? target : `sip:${target}@${trunk.domain}`;
    this.start(leg, { referTo: [`<${uri}>`], cseq: 1, referSub: false }, { operator: replyTo });
  }

  onRefer(leg: LegName, key: string, refer: SipRequest | undefined): void {
    this.start(leg, refer === undefined ? undefined : referAsk(refer), { key });
  }

  /** A REFER (or an operator's transfer): refused by the rules, or accepted (202) and handed to a new transfer actor. */
  start(leg: LegName, ask: ReferAsk | undefined, by: Asker): void {
    const call = this.call;
    const remaining = call.otherOf(leg);
    const remainingSdp = remaining === undefined ? undefined : call.sessions.of(remaining);
    const decision = decideRefer({
      fromCustomer: leg === call.customerLeg,
      up: call.state === 'confirmed' || call.state === 'answered',
      transferInProgress: this.current !== undefined,
      remainingPresent: remaining !== undefined && call.hasLeg(remaining),
      transfersSoFar: this.records.length,
      transferorOnOtherDomain: this.sipParties?.has(leg) === true,
      parties: [call.parties.customer, call.parties.remote].filter((p): p is string => p !== undefined),
      remainingHasSession: remainingSdp !== undefined,
    }, ask, call.trunkConfig);
    if (decision.kind === 'refused' || remaining === undefined || remainingSdp === undefined || call.trunkConfig === undefined) {
      const { status, reason } = decision.kind === 'refused' ? decision : { status: 500, reason: 'Server Internal Error' };
      call.ctx.counters.add('transfer.refused');
      call.log.info({ event: 'refer-refused', status, reason, operator: 'operator' in by }, `REFER refused: ${status} ${reason}`);
      if ('operator' in by) by.operator.tell({ ok: false, status, reason });
      else call.tell(leg, { type: 'answer-request', token: by.key, status, reason });
      return;
    }
    const { target, referSub } = decision;
    const trunk = call.trunkConfig;
    const refers = (this.refersByLeg ??= new Map());
    const n = (refers.get(leg) ?? 0) + 1;
    refers.set(leg, n);
    call.ctx.counters.add('transfer.accepted');
    if ('key' in by) call.tell(leg, { type: 'answer-request', token: by.key, status: 202, reason: 'Accepted', headers: referSub ? [] : [['Refer-Sub', 'false']] });
    const id = newRoutingScope(call.routingSlot);
    const transferee = remaining === call.customerLeg ? call.parties.customer : call.parties.remote;
    const caller = trunk.transfer.callerId === 'transferor'
      ? { number: call.parties.customer, anonymous: false }
      : { number: transferee, anonymous: call.parties.remoteAnonymous };
    // an attended transfer joins two calls that exist: nothing new is dialled, nothing billed
    const record: TransferRecord = {
      id, transferor: leg, target: target.uri.toString(), kind: target.kind, billable: target.kind === 'pstn' && target.replaces === undefined, outcome: 'in-progress',
    };
    this.records.push(record);
    const index = this.records.length;
    const referredBy = this.sipParties?.get(leg) ?? call.parties.customer;
    call.note({
      type: 'transfer', index, at: Date.now(), transferor: leg, remaining, kind: record.kind, billable: record.billable,
      referTo: record.target, ...(referredBy === undefined ? {} : { referredBy }),
      from: caller.number === undefined ? {} : { normalised: caller.number },
      to: target.kind === 'pstn' ? { received: target.dialled, normalised: target.number } : { received: record.target },
    });
    const transferorRef = call.legRef(leg);
    const spec: TransferSpec = {
      id, index, call: call.self, callId: call.callId, routingSlot: call.routingSlot, target, trunk,
      subscription: { cseq: ask?.cseq ?? 1, firstInDialog: n === 1, referSub },
      offer: { body: remainingSdp.body, contentType: remainingSdp.contentType, maxForwards: 70, displayName: undefined },
      caller, transferorNumber: call.parties.customer, ingress: call.ingress, policy: call.policy, locator: call.locator,
      logContext: call.logContext, legPrefix: `c${index}.`,
      ...(transferorRef === undefined ? {} : { transferor: transferorRef }),
      ...(this.sipParties?.has(leg) === true ? { referredBy: `<${this.sipParties.get(leg)}>` } : {}),
    };
    const actor = new TransferActor(call.ctx, spec);
    const ref = call.ctx.kernel.spawn(actor.actorId, actor);
    actor.self = ref;
    this.current = {
      id, ref, transferor: leg, remaining, legs: new Set(), transferorGone: false, offered: remainingSdp.body, record,
      operator: 'operator' in by, startedAt: Date.now(), ...(referSub && 'key' in by ? { referCSeq: ask?.cseq ?? 1 } : {}),
    };
    this.live.set(id, { ref, transferor: leg });
    call.ctx.counters.add(`transfer.started.${record.kind}`);
    if ('operator' in by) by.operator.tell({ ok: true, transfer: id, kind: record.kind });
    call.log.info({ event: 'transfer', transfer: id, kind: target.kind, target: record.target }, 'transfer accepted');
    ref.tell({ type: 'start' });
  }

  /** The new party answered: the remaining party is connected to it. */
  onAnswered(m: Extract<TransferEvent, { type: 'transfer-answered' }>): void {
    const t = this.current;
    this.call.hold(m.hold);
    if (t === undefined || t.id !== m.transfer || this.call.state === 'ending' || this.call.state === 'ended') {
      this.call.tell(m.newLeg, { type: 'hangup' });
      return;
    }
    this.call.note({ type: 'answered', leg: m.newLeg, at: Date.now() });
    this.connect(t, m.newLeg, m.body, m.contentType, t.offered);
  }

  /** Attended transfer, master side: the replaced dialog's far party is reached through `relay` as leg `remote`. */
  onJoined(m: Extract<TransferEvent, { type: 'transfer-joined' }>): void {
    const call = this.call;
    const relay = m.relay;
    const bridge = call.ctx.bridge;
    call.register('remote', remoteLeg(bridge, relay), undefined);
    bridge.send(relay, { to: 'relay', attached: true });
    const t = this.current;
    if (t === undefined || t.id !== m.transfer || call.state === 'ending' || call.state === 'ended') {
      call.tell('remote', { type: 'hangup' });
      return;
    }
    const at = Date.now();
    call.note({ type: 'attempt', leg: 'remote', at, transfer: this.records.indexOf(t.record) + 1 });
    call.note({ type: 'answered', leg: 'remote', at });
    // the far party last saw the transferor's media: it is re-INVITEd with the remaining party's once that answers
    this.connect(t, 'remote', m.body, m.contentType, m.saw ?? t.offered);
  }

  /**
   * The new party is there: the remaining party is re-pointed at it with a re-INVITE carrying
   * its SDP (RFC 3725), the pair becomes remaining ↔ new, and the transferor is released — by
   * its own BYE (RFC 5589 §6) or ours after `transferorByeMs`.
   */
  private connect(t: TransferInProgress, leg: LegName, body: Uint8Array, contentType: string | undefined, farSaw: Uint8Array): void {
    const call = this.call;
    t.legs.delete(leg);
    t.record.outcome = 'answered';
    t.record.status = 200;
    call.ctx.counters.add(`transfer.answered.${t.record.kind}`);
    call.ctx.counters.observe('transfer.setup_ms', Date.now() - t.startedAt);
    call.log.info({ event: 'transfer-answered', transfer: t.id }, 'transfer answered: bridging the remaining party to the new leg');
    if (body.length > 0) call.sessions.remember(leg, body, contentType);
    call.pair = [t.remaining, leg];
    // the new leg is the customer's choice: on another domain it may transfer again (chains); a PSTN party may not
    call.customerLeg = t.record.kind === 'sip' ? leg : undefined;
    if (t.record.kind === 'sip') (this.sipParties ??= new Map()).set(leg, t.record.target);
    // each party keeps seeing the origin it saw: the remaining party the transferor's, the new one its offer's
    call.sessions.keepOrigin(leg, farSaw);
    const seen = call.sessions.of(t.transferor);
    if (seen !== undefined) call.sessions.keepOrigin(t.remaining, seen.body, false);
    this.newLegOffered = farSaw;
    call.tell(t.remaining, { type: 'send-request', token: { kind: 'reinvite', party: 'remaining' }, method: 'INVITE', ...(body.length > 0 ? { body, contentType } : {}) });
    if (!t.transferorGone && call.hasLeg(t.transferor)) {
      const transferor = t.transferor;
      this.transferorBye = setTimeout(() => call.self.tell({ type: 'release-transferor', transferor }), t.operator ? 0 : call.ctx.transferorByeMs);
      this.transferorBye.unref();
    }
    this.current = undefined;
  }

  /** The answer to the remaining party's re-INVITE: the new party is told if the remaining party's session changed. */
  onReinviteAnswered(m: Extract<LegEvent, { type: 'request-answered' }>): void {
    const call = this.call;
    if (m.token.kind !== 'reinvite' || m.token.party !== 'remaining') return;
    if (m.status >= 300) {
      call.log.warn({ event: 'reinvite-refused', status: m.status }, 'the remaining party refused the new session: ending the call');
      call.endBoth(call.pair[1]);
      call.tell(call.pair[0], { type: 'hangup' });
      return;
    }
    const newLeg = call.pair[1];
    const offered = this.newLegOffered;
    this.newLegOffered = undefined;
    if (m.body === undefined || m.body.length === 0 || newLeg === undefined) return;
    call.sessions.remember(m.leg, m.body, m.contentType);
    // the new party was offered the remaining party's earlier session: tell it if that changed
    if (offered !== undefined && !sameSession(m.body, offered)) {
      call.tell(newLeg, { type: 'send-request', token: { kind: 'reinvite', party: 'new' }, method: 'INVITE', body: m.body, ...(m.contentType === undefined ? {} : { contentType: m.contentType }) });
    }
  }

  onFailed(m: Extract<TransferEvent, { type: 'transfer-failed' }>): void {
    const call = this.call;
    const t = this.current;
    if (t === undefined || t.id !== m.transfer) return;
    t.record.outcome = 'failed';
    t.record.status = m.status;
    call.note({ type: 'transfer-failed', index: this.records.indexOf(t.record) + 1, at: Date.now(), status: m.status, statusText: m.reason, aborted: false, ...(m.refused === true ? { refused: true } : {}) });
    this.current = undefined;
    // the original call stays as it was — unless the transferor already left (blind transfer)
    if (t.transferorGone && call.state !== 'ending' && call.state !== 'ended') {
      call.state = 'ending';
      call.tell(t.remaining, { type: 'hangup' });
    }
  }

  onDone(transfer: string): void {
    this.live.delete(transfer);
    const t = this.current;
    if (t?.id !== transfer) return;
    // ended without an outcome of its own: the remaining party left (the final NOTIFY said 487)
    if (t.record.outcome === 'in-progress') {
      Object.assign(t.record, { outcome: 'failed', status: 487 });
      this.call.note({ type: 'transfer-failed', index: this.records.indexOf(t.record) + 1, at: Date.now(), status: 487, statusText: 'Request Terminated', aborted: true });
    }
    this.current = undefined;
    if (t.releaseTransferor === true) this.call.tell(t.transferor, { type: 'hangup' });
  }

  /**
   * A leg's dialog is over. A transfer whose transferor it was may still be notifying it (its
   * final NOTIFY comes after the new party answered): RFC 6665 §4.2.2, a subscription whose
   * dialog is gone ends — its NOTIFYs count as answered 481 — and the transfer goes on.
   */
  legEnded(leg: LegName): void {
    for (const live of this.live.values()) if (live.transferor === leg) live.ref.tell({ type: 'transferor-gone' });
  }

  /** A bridged party is gone: true when the transfer in progress takes it from here (the call must not end). */
  onPartyGone(leg: LegName): boolean {
    const t = this.current;
    if (t === undefined || t.record.outcome !== 'in-progress') return false;
    if (leg === t.transferor) {
      t.transferorGone = true;
      return true;
    }
    if (leg === t.remaining) {
      // the transferor hears the end of its transfer (final NOTIFY 487) before our BYE: released on transfer-done
      t.ref.tell({ type: 'abort' });
      t.releaseTransferor = true;
      this.call.state = 'ending';
      return true;
    }
    return false;
  }

  /** An operator ended the call: the transfer in progress ends with it. */
  abort(): void {
    this.current?.ref.tell({ type: 'abort' });
  }

  /** The call is over: nobody is left to notify; a transfer still running ends with it (its stop releases its slots). */
  stop(): void {
    clearTimeout(this.transferorBye);
    for (const live of this.live.values()) this.call.ctx.kernel.stop(live.ref.id);
    this.live.clear();
    this.current = undefined;
  }
}

/** What a transfer is asked with: a REFER's Refer-To lines, CSeq and Refer-Sub. */
function referAsk(refer: SipRequest): ReferAsk {
  return {
    // getAll reads the compact form `r` too (RFC 3515 §2.1)
    referTo: refer.headers.getAll('refer-to'),
    cseq: refer.headers.cseq?.seq ?? 0,
    // RFC 4488: Refer-Sub: false asks for no subscription; we honour it and say so
    referSub: (refer.headers.get('refer-sub') ?? 'true').trim().toLowerCase() !== 'false',
  };
}
