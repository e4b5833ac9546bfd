import { createRequest, createResponse, type NameAddr, type SipRequest, type SipResponse, type Uri } from '@switchboard/sip';
import type { Logger } from 'pino';
import type { ActorBehaviour, ActorRef } from '../kernel/actor-kernel.js';
import type { EngineContext } from '../context.js';
import type { Destination } from '../protocol/sip-link.js';
import { serverTransactionKey } from '@switchboard/transactions';
import { ALLOW, SUPPORTED } from './capabilities.js';
import { DialogState } from './dialog-state.js';
import { cancelFor, contactFor, ownReason, sentAt, viaFor } from './leg-requests.js';
import { TransactionDriver, type ClientEntry, type RequestOwner } from './transaction-driver.js';
import { SessionTimer, type SessionTimerArming } from './session-timer.js';
import type { CallMessage, LegInfo, LegName, RequestAnswered, RequestToken } from '../protocol/call-messages.js';
import type { LegMessage, LegTimerName } from '../protocol/leg-messages.js';
import { CSEQ_RESERVATION, type LegSnapshot } from '../takeover/call-snapshot.js';
import { inviteOfHead } from '../takeover/early-invite.js';

/**
 * One SIP dialog of a call (RFC 3261 §12): the customer side as UAS, or the far side as UAC.
 * It drives the dialog's transactions and timers over two pure pieces (DialogState, SessionTimer),
 * turns SIP into call events and the call's commands into SIP. It never talks to the other leg:
 * the call actor bridges them.
 */
export class LegActor extends TransactionDriver implements ActorBehaviour<LegMessage> {
  readonly actorId: string;
  /** What every log line of the call names (the call actor's, shared by reference: no copy per leg). */
  callContext: Readonly<Record<string, unknown>> = {};
  private logger: Logger | undefined;
  /** Only once a 2xx of ours set one (RFC 4028 §9); its one armed timer is `sessionClock`. */
  private session: SessionTimer | undefined;
  private sessionClock: NodeJS.Timeout | undefined;
  private sessionArmedAt = 0;
  /** Adopted from a snapshot: the CSeqs of the peer's requests the dead worker had not answered (their retransmissions get 500). */
  private unanswered: ReadonlySet<number> | undefined;
  private ended = false;
  private gone = false; // stopped: its transactions released or settled
  private cancelPending = false;

  constructor(
    ctx: EngineContext,
    scope: string,
    readonly name: LegName,
    readonly role: 'uas' | 'uac',
    private readonly call: ActorRef<CallMessage>,
    callId: string,
    localUri: NameAddr,
    remoteUri: NameAddr,
    peer: Destination,
    initialTarget: Uri,
    restored?: DialogState,
  ) {
    super(ctx, scope, peer, restored ?? new DialogState(role, callId, localUri, remoteUri, ctx.ids.newTag(scope), initialTarget));
    this.actorId = `leg-${scope}`;
  }

  /** The dialog's Call-ID (its own copy, detached from the message it came in). */
  get callId(): string {
    return this.dialog.callId;
  }

  /**
   * A confirmed leg rebuilt from its snapshot (worker takeover): no transaction (they are not
   * resumable), its next CSeq above the reservation (§12.2.2: a gap, never a reuse), its
   * session timer due when it was due on the worker that wrote the snapshot.
   */
  static restore(ctx: EngineContext, s: LegSnapshot, call: ActorRef<CallMessage>): LegActor {
    const dialog = DialogState.fromJSON(s.dialog);
    dialog.localCSeq = Math.max(dialog.localCSeq, s.cseqReservation);
    const leg = new LegActor(ctx, s.scope, s.name, s.role, call, dialog.callId, dialog.localUri, dialog.remoteUri, s.peer, dialog.remoteTarget, dialog);
    leg.unanswered = new Set(s.transactions.filter((t) => t.side === 'inbound').map((t) => t.cseq));
    const inviteKey = s.invite === undefined ? undefined : leg.resumeInvite(inviteOfHead(s.invite.head), s.invite.provisionalSeen);
    if (inviteKey !== undefined) ctx.invites.set(inviteKey, leg.actorId);
    if (s.session !== undefined) {
      leg.session = new SessionTimer(s.session.seconds, s.session.refresher);
      const due = leg.session.next();
      leg.armSession({ timer: due.timer, ms: Math.max(0, due.ms - (Date.now() - s.session.refreshedAt)) }, s.session.refreshedAt);
    }
    return leg;
  }

  /** The leg as a snapshot keeps it; undefined unless its dialog is up or its INVITE rings. Reserves the next CSEQ_RESERVATION numbers. */
  snapshot(): LegSnapshot | undefined {
    const invite = this.ended ? undefined : this.earlyInvite();
    if (this.ended || (this.dialog.phase !== 'confirmed' && invite === undefined)) return undefined;
    this.cseqReserved = this.dialog.localCSeq + CSEQ_RESERVATION;
    const s = this.session;
    return {
      name: this.name, role: this.role, scope: this.scope, dialog: this.dialog.toJSON(), cseqReservation: this.cseqReserved, peer: { ...this.peer },
      ...(s === undefined ? {} : { session: { seconds: s.seconds, refresher: s.refresher, refreshedAt: this.sessionArmedAt } }),
      transactions: this.transactionsInProgress(), ...(invite === undefined ? {} : { invite }),
    };
  }

  /** What the call keeps of the leg for operators: plain data, taken when the leg is made. */
  get info(): LegInfo {
    // the peer itself, not its text: two strings a held call less (issue 17)
    return { name: this.name, sipCallId: this.callId, role: this.role, peer: this.peer };
  }

  /** Created on first use: most calls never log, and a child logger per leg costs memory per call. */
  get log(): Logger {
    return (this.logger ??= this.ctx.log.child({ ...this.callContext, leg: this.name, legCallId: this.callId }));
  }

  // ---- wiring -------------------------------------------------------------------------

  /** UAS: the request that created the call. Starts the INVITE server transaction (100 at once). */
  private acceptInvite(invite: SipRequest): void {
    this.dialog.acceptInvite(invite);
    const key = serverTransactionKey(invite) ?? `${invite.headers.callId}|${invite.headers.cseq?.seq}`;
    this.invite = { key, tx: this.startServer(key, invite, this.peer) };
    this.ctx.invites.set(key, this.actorId);
  }

  /** UAC: sends the INVITE that opens this leg. */
  private placeInvite(ruri: Uri, body: Uint8Array | undefined, contentType: string | undefined, headers: [string, string][], maxForwards: number, ackOffer: { body: Uint8Array; contentType: string | undefined } | undefined): void {
    const branch = this.ctx.ids.newBranch(this.scope);
    this.ackOffer = ackOffer;
    const d = this.dialog.requestContext(contactFor(this.peer, this.dialog.secure));
    const request = createRequest({
      method: 'INVITE', uri: ruri, via: viaFor(this.peer, branch), from: d.local, to: d.remote,
      callId: this.callId, cseq: this.dialog.nextCSeq(), contact: d.contact, headers, body, contentType, maxForwards,
    });
    this.uacInvite = { branch, request };
    this.startClient(branch, request);
  }

  // ---- the actor --------------------------------------------------------------------------

  receive(m: LegMessage): void {
    this.handle(m);
    // an ended leg whose transactions only answer retransmissions now leaves them to the worker (settled) and goes
    if (this.ended && !this.gone && this.settle()) this.stop();
  }

  private handle(m: LegMessage): void {
    if (this.ended) {
      // an ended leg still runs its transactions (and the timers that end them) to their end, and refuses anything new
      if (m.type === 'join') return m.replyTo.tell({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
      if (m.type === 'request') return this.onRequestAfterEnd(m.request, m.from);
      if (m.type === 'send-request') return this.noDialog({ token: m.token, replyTo: m.replyTo });
      if (m.type !== 'response' && m.type !== 'timer' && m.type !== 'leg-timer' && m.type !== 'send-failure') return;
    }
    switch (m.type) {
      case 'request':
        return this.onRequest(m.request, m.from, m.receivedAt);
      case 'response':
        return this.onResponse(m.response);
      case 'timer':
        return this.onTimer(m.key, m.timer);
      case 'leg-timer':
        return this.onLegTimer(m.name);
      case 'send-failure':
        return this.onSendFailure(m.ref);
      case 'answer':
        return this.answerInvite(m.status, m.reason, m.body, m.contentType, m.headers ?? []);
      case 'accept-invite':
        return this.acceptInvite(m.invite);
      case 'place-invite':
        return this.placeInvite(m.uri, m.body, m.contentType, m.headers, m.maxForwards, m.ackOffer);
      case 'send-request':
        return this.sendRequest(m.method, { token: m.token, replyTo: m.replyTo }, m.body, m.contentType, m.headers ?? []);
      case 'answer-request':
        return this.answerRequest(m.token, m.status, m.reason, m.body, m.contentType, m.headers ?? []);
      case 'hangup':
        return this.hangup(m.status, m.reason, m.reasonHeader);
      case 'join':
        if (!this.dialog.isNamedBy(m.callId, m.tags) || this.dialog.phase !== 'confirmed') return m.replyTo.tell({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
        this.call.tell({ type: 'join-away', leg: this.name, master: m.master, replyTo: m.replyTo });
        return;
    }
  }

  crashed(error: unknown, message: LegMessage): void {
    this.log.error({ err: error, message: message.type }, 'leg actor failed: ending the call');
    // answer what can still be answered, so no party is left waiting
    if (this.role === 'uas' && this.dialog.phase === 'early' && this.invite !== undefined) {
      this.answerInvite(500, 'Server Internal Error', undefined, undefined, []);
    } else if (this.dialog.phase === 'confirmed') this.sendBye();
    this.finish('crash');
  }

  stopped(): void {
    this.release();
  }

  // ---- inbound SIP -------------------------------------------------------------------------

  private onRequest(req: SipRequest, from: Destination, receivedAt: number | undefined): void {
    this.peer = from;
    const key = serverTransactionKey(req) ?? `${req.headers.callId}|${req.headers.cseq?.seq}|${req.method}`;
    if (req.method === 'ACK') return this.onAck(req, key);
    if (req.method === 'CANCEL') return this.onCancel(req, from, sentAt(receivedAt));
    if (this.retransmitted(key, req, from)) return;
    // RFC 3261 §14.2: the worker that had this request is gone; the peer retries after Retry-After
    if (this.unanswered?.has(req.headers.cseq?.seq ?? -1) === true) return this.respondStateless(req, 500, 'Server Internal Error', from, [['Retry-After', '1']]);
    if (!this.dialog.admitRequest(req)) return this.respondStateless(req, 500, 'CSeq Out of Order', from);
    const tx = this.startServer(key, req, from);
    this.dialog.refreshTarget(req);
    const localTag = this.dialog.localTag;
    switch (req.method) {
      case 'BYE':
        this.respond(key, tx, createResponse(req, 200, { toTag: localTag }));
        this.call.tell({ type: 'bye', leg: this.name, ...ownReason(req), ...sentAt(receivedAt) });
        return this.finish('bye');
      case 'OPTIONS':
        return this.respond(key, tx, createResponse(req, 200, { toTag: localTag, headers: [['Allow', ALLOW], ['Supported', SUPPORTED]] }));
      case 'INVITE':
        // §14.1: a re-INVITE while ours is pending is glare
        if (this.invitePending) {
          return this.respond(key, tx, createResponse(req, 491, { toTag: localTag }));
        }
        this.armSession(this.session?.refreshedBy(req));
        break;
      case 'UPDATE':
        this.armSession(this.session?.refreshedBy(req));
        break;
      case 'INFO':
      case 'NOTIFY':
      case 'MESSAGE':
      case 'REFER': // never relayed: the call decides (a transfer, or a refusal)
        break;
      default:
        return this.respond(key, tx, createResponse(req, 405, { toTag: localTag, headers: [['Allow', ALLOW]] }));
    }
    // relayed to the other leg; its answer comes back as answer-request
    const token = key;
    this.pendingAnswers.set(token, tx);
    this.call.tell({ type: 'request', leg: this.name, token, method: req.method, body: req.body, contentType: req.headers.get('content-type'), ...(req.method === 'REFER' ? { request: req } : {}) });
  }

  private onAck(ack: SipRequest, key: string): void {
    // the ACK for our 2xx (§13.3.1.4) confirms the dialog
    if (this.ackServerTransactions(ack, key) && this.dialog.phase === 'early') {
      this.dialog.confirm();
      this.call.tell({ type: 'confirmed', leg: this.name });
    }
  }

  private onCancel(cancel: SipRequest, from: Destination, at: { at?: number }): void {
    // §9.2: 200 to the CANCEL; 487 to the INVITE if it is still unanswered
    this.respondStateless(cancel, 200, undefined, from);
    if (this.invite !== undefined && this.invite.tx.state === 'Proceeding') {
      this.respond(this.invite.key, this.invite.tx, createResponse(this.invite.tx.request, 487, { toTag: this.dialog.localTag }));
      this.call.tell({ type: 'cancelled', leg: this.name, ...ownReason(cancel), ...at });
      this.finish('cancelled');
    }
  }

  // ---- what the transactions pass up ---------------------------------------------------

  protected passedUp(entry: ClientEntry, response: SipResponse): void {
    if (entry.tx.kind === 'invite' && entry.owner === undefined) this.onInviteResponse(response);
    else this.onRequestAnswered(entry, response);
  }

  private onInviteResponse(res: SipResponse): void {
    if (res.status < 200) {
      this.provisionalSeen = true;
      if (this.cancelPending) {
        this.cancelPending = false;
        return this.sendCancel();
      }
      // Timer B stops at the first provisional: from then on the engine bounds the ringing (cf. §16.6 Timer C)
      this.startLegTimer('no-answer', this.ctx.noAnswerMs);
      if (res.status > 100) {
        this.dialog.learnFromResponse(res);
        this.call.tell({ type: 'provisional', leg: this.name, status: res.status, reason: res.reason, body: res.body, contentType: res.headers.get('content-type') });
      }
      return;
    }
    this.stopLegTimer('no-answer');
    if (res.status < 300) {
      this.stopLegTimer('cancel-wait'); // a 2xx that crossed our CANCEL: the dialog is up, and ended by BYE
      const first = this.dialog.phase === 'early';
      this.dialog.learnFromResponse(res);
      this.sendAck(res);
      if (first) {
        this.dialog.confirm();
        this.call.tell({ type: 'answered', leg: this.name, body: res.body, contentType: res.headers.get('content-type') });
      }
      return;
    }
    this.dialog.terminate();
    this.call.tell({ type: 'failed', leg: this.name, status: res.status, reason: res.reason, cause: 'response', ...ownReason(res) });
    this.finish('rejected');
  }

  private onRequestAnswered(entry: ClientEntry, res: SipResponse): void {
    const owner = entry.owner;
    if (res.status < 200 || owner === undefined) return;
    if (owner === 'session-refresh') {
      const next = this.session?.refreshAnswered(res);
      if (next === 'refused') this.hangupBoth('session refresh refused');
      else this.armSession(next);
      return;
    }
    if (entry.tx.kind === 'invite' && res.status < 300) this.sendAck(res);
    if (typeof owner === 'object') this.answered(owner, { status: res.status, reason: res.reason, body: res.body, contentType: res.headers.get('content-type') });
    if (entry.tx.method === 'BYE') this.finish('hangup');
  }

  /** The answer to a request the call or a transfer asked for goes to whoever asked. */
  private answered(owner: { token: RequestToken; replyTo: ActorRef<RequestAnswered> | undefined }, answer: Pick<RequestAnswered, 'status' | 'reason' | 'body' | 'contentType'>): void {
    (owner.replyTo ?? this.call).tell({ type: 'request-answered', leg: this.name, token: owner.token, ...answer });
  }

  /** A request asked of a leg with no dialog (not up yet, or over): 481 at once (RFC 3261 §12.2.2). */
  private noDialog(owner: { token: RequestToken; replyTo: ActorRef<RequestAnswered> | undefined }): void {
    this.answered(owner, { status: 481, reason: 'Call/Transaction Does Not Exist' });
  }

  // ---- commands from the call ----------------------------------------------------------

  private answerInvite(status: number, reason: string | undefined, body: Uint8Array | undefined, contentType: string | undefined, headers: [string, string][]): void {
    const inv = this.invite;
    if (inv === undefined || inv.tx.state !== 'Proceeding') return;
    const ok = status >= 200 && status < 300;
    const session = ok ? SessionTimer.answer(inv.tx.request) : undefined;
    const response = createResponse(inv.tx.request, status, {
      toTag: this.dialog.localTag, reason, body, contentType,
      headers: ok ? [['Contact', contactFor(this.peer, this.dialog.secure).toString()], ['Allow', ALLOW], ...(session?.headers ?? []), ...headers] : headers,
    });
    this.respond(inv.key, inv.tx, response);
    if (ok) {
      this.retransmit(response);
      if (session !== undefined) {
        this.session = session.timer;
        this.armSession(session.timer.next());
      }
    } else if (status >= 300) {
      this.dialog.terminate();
      this.finish('rejected');
    }
  }

  private sendRequest(method: string, owner: RequestOwner, body: Uint8Array | undefined, contentType: string | undefined, headers: [string, string][]): void {
    if (this.dialog.phase !== 'confirmed' || this.dialog.remoteTag === undefined) {
      if (typeof owner === 'object') this.noDialog(owner);
      return;
    }
    this.sendInDialog(method, owner, { headers, body, contentType });
  }

  private answerRequest(token: string, status: number, reason: string | undefined, body: Uint8Array | undefined, contentType: string | undefined, extra: [string, string][]): void {
    const tx = this.pendingAnswers.get(token);
    if (tx === undefined) return;
    this.pendingAnswers.delete(token);
    this.compact();
    this.snapshots?.due();
    const req = tx.request;
    const accepted = req.method === 'INVITE' && status >= 200 && status < 300;
    const headers: [string, string][] = accepted ? [['Contact', contactFor(this.peer, this.dialog.secure).toString()], ...extra] : extra;
    const response = createResponse(req, status, { toTag: this.dialog.localTag, reason, body, contentType, headers });
    this.respond(token, tx, response);
    if (accepted) this.retransmit(response);
  }

  private hangup(status: number | undefined, reason: string | undefined, reasonHeader: string | undefined): void {
    if (this.role === 'uas' && this.invite !== undefined && this.invite.tx.state === 'Proceeding') {
      return this.answerInvite(status ?? 480, reason, undefined, undefined, reasonHeader === undefined ? [] : [['Reason', reasonHeader]]); // RFC 6432
    }
    if (this.role === 'uac' && this.dialog.phase === 'early' && this.uacInvite !== undefined) {
      // §9.1: CANCEL only once a provisional arrived; before that, wait and cancel then
      if (this.provisionalSeen) this.sendCancel();
      else this.cancelPending = true;
      return;
    }
    if (this.dialog.phase === 'confirmed') return this.sendBye(reasonHeader);
    this.finish('hangup');
  }

  // ---- SIP out -------------------------------------------------------------------------------

  /** `reasonHeader`: why we end the call (RFC 3326), when it is we who end it. */
  private sendBye(reasonHeader?: string): void {
    this.dialog.terminate();
    this.sendInDialog('BYE', 'bye', reasonHeader === undefined ? {} : { headers: [['Reason', reasonHeader]] });
  }

  private sendCancel(): void {
    const inv = this.uacInvite;
    if (inv === undefined) return;
    const key = `${inv.branch}|CANCEL`;
    this.startClient(key, cancelFor(inv.request), 'cancel');
    // §9.1: no final response 64*T1 after the CANCEL: consider the INVITE cancelled
    this.startLegTimer('cancel-wait', 64 * this.ctx.timers.t1);
  }

  // ---- the leg's own timers ----------------------------------------------------------------

  /** RFC 4028: one session timer is armed at a time (our refresh or the expiry); it never keeps the process up. */
  private armSession(arming: SessionTimerArming | undefined, armedAt = Date.now()): void {
    if (arming === undefined) return;
    this.sessionArmedAt = armedAt;
    this.snapshots?.due();
    clearTimeout(this.sessionClock);
    this.sessionClock = setTimeout(() => this.self.tell({ type: 'leg-timer', name: arming.timer }), arming.ms);
    this.sessionClock.unref();
  }

  private onLegTimer(name: LegTimerName): void {
    switch (name) {
      case 'no-answer':
        this.log.info({ event: 'no-answer' }, 'no answer in time: cancelling');
        this.call.tell({ type: 'failed', leg: this.name, status: 408, reason: 'No Answer', cause: 'no-answer' });
        return this.sendCancel();
      case 'cancel-wait':
        // the INVITE transaction is abandoned with its timers (§9.1)
        if (this.uacInvite !== undefined) this.forgetTransaction(this.uacInvite.branch);
        this.dialog.terminate();
        this.finish('cancel-timeout');
        if (this.idle) this.stop();
        return;
      case 'cseq-hold':
        return this.holdExpired();
      case 'session-expiry':
        return this.hangupBoth('session expired');
      case 'session-refresh':
        // §10: we refresh with an UPDATE carrying no body; an ended leg has no session left to refresh
        this.snapshots?.due();
        if (!this.ended && this.session !== undefined) this.sendRequest('UPDATE', 'session-refresh', undefined, undefined, this.session.refreshHeaders());
        return;
    }
  }

  /** Ends this leg with BYE and tells the call, which ends the other. */
  private hangupBoth(why: string): void {
    this.log.info({ event: 'session-ended', why }, 'session timer: ending the call');
    this.call.tell({ type: 'bye', leg: this.name, reason: why });
    this.sendBye();
  }

  // ---- what the transactions say ---------------------------------------------------------------

  protected ackTimedOut(): void {
    // §13.3.1.4: no ACK for our 2xx: confirm and end the dialog with a BYE
    this.dialog.confirm();
    this.call.tell({ type: 'failed', leg: this.name, status: 408, reason: 'No ACK', cause: 'no-ack' });
    this.sendBye();
  }

  protected transactionFailed(key: string, why: 'timeout' | 'transport-error'): void {
    const entry = this.clients.get(key);
    if (entry !== undefined) {
      if (entry.tx.kind === 'invite' && entry.owner === undefined) {
        this.dialog.terminate();
        this.call.tell({ type: 'failed', leg: this.name, status: why === 'timeout' ? 408 : 503, reason: why === 'timeout' ? 'Request Timeout' : 'Transport Error', cause: why });
        this.finish(why);
      } else if (entry.owner === 'bye') this.finish(why);
      else if (typeof entry.owner === 'object') this.answered(entry.owner, { status: 408, reason: 'Request Timeout' });
      return;
    }
    // Timer H: our final response was never ACKed
    if (this.invite?.key === key && this.dialog.phase !== 'confirmed') this.finish(why);
  }

  protected override heldDropped(owner: RequestOwner): void {
    if (typeof owner === 'object') this.noDialog(owner);
  }

  protected transactionEnded(key: string): void {
    // a call that is up keeps no INVITE: only its dialog state
    if (this.invite?.key === key) {
      this.ctx.invites.delete(key);
      this.invite = undefined;
    }
    if (this.uacInvite?.branch === key) this.uacInvite = undefined;
    if (this.dialog.phase === 'terminated' && this.idle) this.stop();
  }

  // ---- ending ----------------------------------------------------------------------------------------

  private finish(cause: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.ctx.log.isLevelEnabled('debug')) this.log.debug({ event: 'leg-ended', cause }, 'leg ended');
    this.dialog.terminate();
    this.dropHeld(); // the peer's BYE, a failure: what was held goes nowhere now
    clearTimeout(this.sessionClock);
    this.call.tell({ type: 'ended', leg: this.name, cause });
    // transactions still at work keep the actor; those only absorbing retransmissions are settled after this turn (receive)
    if (this.idle) this.stop();
  }

  private stop(): void {
    this.ended = true;
    this.gone = true;
    this.ctx.kernel.stop(this.actorId);
    this.release();
  }

  /** Frees every timer and index entry the leg holds (also on a crash). */
  private release(): void {
    this.releaseTransactions();
    clearTimeout(this.sessionClock);
    if (this.invite !== undefined) this.ctx.invites.delete(this.invite.key);
    this.invite = undefined;
    this.uacInvite = undefined;
  }
}
