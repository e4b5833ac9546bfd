import {
  createInDialogRequest, createRequest, createResponse, NameAddr, SipRequest, SipResponse, SipUri, Via,
  type SipMessage, type Uri,
} from '@switchboard/sip';
import type { Logger } from 'pino';
import type { ActorBehaviour, ActorRef } from '../kernel/actor-kernel.js';
import type { EngineContext } from '../context.js';
import type { Destination } from '../protocol/sip-link.js';
import { ClientInviteTransaction } from '@switchboard/transactions';
import { ClientNonInviteTransaction } from '@switchboard/transactions';
import type { Effect, TimerName } from '@switchboard/transactions';
import { ServerInviteTransaction } from '@switchboard/transactions';
import { ServerNonInviteTransaction } from '@switchboard/transactions';
import { serverTransactionKey } from '@switchboard/transactions';
import { Uas2xxRetransmitter } from '@switchboard/transactions';
import { ALLOW, SUPPORTED } from './capabilities.js';
import type { CallMessage, LegName } from '../protocol/call-messages.js';
import type { CallAddress, JoinReply } from '../transfer/call-bridge.js';

/** Messages a leg actor handles: SIP from the wire, its timers, and the call's commands. */
export type LegMessage =
  | { type: 'request'; request: SipRequest; from: Destination }
  | { type: 'response'; response: SipResponse }
  | { type: 'timer'; key: string; timer: TimerName }
  | { type: 'send-failure'; ref: string }
  /** UAS leg: answer the INVITE that created the call (provisional or final). */
  | { type: 'answer'; status: number; reason?: string; body?: Uint8Array; contentType?: string; headers?: [string, string][] }
  /** Send a request inside this leg's dialog (a relayed re-INVITE, UPDATE, INFO...). */
  | { type: 'send-request'; token: string; method: string; body?: Uint8Array; contentType?: string; headers?: [string, string][] }
  /** Answer a request this leg passed to the call as `request` with `token`. */
  | { type: 'answer-request'; token: string; status: number; reason?: string; body?: Uint8Array; contentType?: string; headers?: [string, string][] }
  /** Attended transfer: is this the dialog a Replaces header names (RFC 3891 §3)? If so the call hands its far party over. */
  | { type: 'join'; callId: string; tags: string[]; master: CallAddress; respond: (reply: JoinReply) => void }
  /** End this leg: BYE when confirmed, CANCEL when an early UAC, a final error when an early UAS. */
  | { type: 'hangup'; status?: number; reason?: string };

type DialogState = 'early' | 'confirmed' | 'terminated';

type ServerTx = ServerInviteTransaction | ServerNonInviteTransaction;
type ClientTx = ClientInviteTransaction | ClientNonInviteTransaction;

interface ClientEntry {
  tx: ClientTx;
  token?: string;
}


/**
 * One SIP dialog of a call (RFC 3261 §12): the customer side as UAS, or the far side as UAC.
 * It owns the dialog's transactions and timers, turns SIP into call events and the call's
 * commands into SIP. It never talks to the other leg: the call actor bridges them.
 */
export class LegActor implements ActorBehaviour<LegMessage> {
  readonly actorId: string;
  self!: ActorRef<LegMessage>;
  /** What every log line of the call names (the call actor's, shared by reference: no copy per leg). */
  callContext: Readonly<Record<string, unknown>> = {};
  private logger: Logger | undefined;
  private dialog: DialogState = 'early';
  private remoteTag: string | undefined;
  private remoteTarget: Uri;
  private routeSet: readonly NameAddr[] = [];
  private localCSeq = 0;
  private remoteCSeq = -1;
  private readonly localTag: string;
  // Created on first use and dropped when empty (see `compact`): a call that is up and quiet
  // holds no transaction, so it should hold no table either (measured: ~16 Maps per call).
  private serversTable: Map<string, ServerTx> | undefined;
  private clientsTable: Map<string, ClientEntry> | undefined;
  private pendingTable: Map<string, ServerTx> | undefined;
  private timersTable: Map<string, NodeJS.Timeout> | undefined;
  private get servers(): Map<string, ServerTx> {
    return (this.serversTable ??= new Map());
  }
  private get clients(): Map<string, ClientEntry> {
    return (this.clientsTable ??= new Map());
  }
  private get pendingAnswers(): Map<string, ServerTx> {
    return (this.pendingTable ??= new Map());
  }
  private get timers(): Map<string, NodeJS.Timeout> {
    return (this.timersTable ??= new Map());
  }

  private compact(): void {
    if (this.serversTable?.size === 0) this.serversTable = undefined;
    if (this.clientsTable?.size === 0) this.clientsTable = undefined;
    if (this.pendingTable?.size === 0) this.pendingTable = undefined;
    if (this.timersTable?.size === 0) this.timersTable = undefined;
  }
  private invite: { key: string; tx: ServerInviteTransaction } | undefined;
  private uacInvite: { branch: string; tx: ClientInviteTransaction } | undefined;
  private retransmitter: Uas2xxRetransmitter | undefined;
  private sessionTimer: NodeJS.Timeout | undefined;
  private ended = false;
  /** UAC: a provisional arrived, so a CANCEL may be sent (§9.1); until then a hangup only marks it pending. */
  private provisionalSeen = false;
  private cancelPending = false;
  /** Delayed offer (RFC 3261 §13.2.1): the SDP our ACK carries as the answer to the offer in the 2xx. */
  private ackOffer: { body: Uint8Array; contentType: string | undefined } | undefined;

  constructor(
    private readonly ctx: EngineContext,
    readonly scope: string,
    readonly name: LegName,
    readonly role: 'uas' | 'uac',
    private readonly call: ActorRef<CallMessage>,
    readonly callId: string,
    private readonly localUri: NameAddr,
    private readonly remoteUri: NameAddr,
    private peer: Destination,
    initialTarget: Uri,
  ) {
    this.actorId = `leg-${scope}`;
    this.localTag = ctx.ids.newTag(ctx.workerId, scope);
    this.remoteTarget = initialTarget;
  }

  /** For operators: the dialog's state and the peer it talks to. */
  get dialogState(): string {
    return this.dialog;
  }

  get peerAddress(): string {
    return `${this.peer.protocol}:${this.peer.address}:${this.peer.port}`;
  }

  /** Created on first use: most calls never log, and a child logger per leg costs memory per call. */
  get log(): Logger {
    return (this.logger ??= this.ctx.log.child({ ...this.callContext, leg: this.name, legCallId: this.callId }));
  }

  // ---- wiring -------------------------------------------------------------------------

  /** UAS: the request that created the call. Starts the INVITE server transaction (100 at once). */
  acceptInvite(invite: SipRequest): void {
    this.remoteTag = invite.headers.from?.tag;
    this.remoteCSeq = invite.headers.cseq?.seq ?? 0;
    this.routeSet = invite.headers.recordRoute; // §12.1.1: UAS keeps Record-Route in order
    const contact = invite.headers.contact[0];
    if (contact !== undefined) this.remoteTarget = contact.uri;
    const key = serverTransactionKey(invite) ?? `${invite.headers.callId}|${invite.headers.cseq?.seq}`;
    const tx = new ServerInviteTransaction(invite, { reliable: this.peer.protocol === 'tcp', timers: this.ctx.timers });
    this.invite = { key, tx };
    this.servers.set(key, tx);
    this.ctx.invites.set(key, this.actorId);
    this.run(key, tx.handle({ type: 'start' }), this.peer);
  }

  /** UAC: sends the INVITE that opens this leg. */
  placeInvite(ruri: Uri, body: Uint8Array | undefined, contentType: string | undefined, headers: [string, string][], maxForwards: number, ackOffer?: { body: Uint8Array; contentType: string | undefined }): void {
    const branch = this.ctx.ids.newBranch(this.ctx.workerId, this.scope);
    this.localCSeq = 1;
    this.ackOffer = ackOffer;
    const request = createRequest({
      method: 'INVITE', uri: ruri, via: this.via(branch), from: this.localUri.withTag(this.localTag), to: this.remoteUri,
      callId: this.callId, cseq: this.localCSeq, contact: this.contact(), headers, body, contentType, maxForwards,
    });
    const tx = new ClientInviteTransaction(request, { reliable: this.peer.protocol === 'tcp', timers: this.ctx.timers });
    this.uacInvite = { branch, tx };
    this.clients.set(branch, { tx });
    this.run(branch, tx.handle({ type: 'start' }), this.peer);
  }

  // ---- the actor --------------------------------------------------------------------------

  receive(m: LegMessage): void {
    if (this.ended) {
      // an ended leg still runs its transactions to their end, and refuses anything new
      if (m.type === 'join') return m.respond({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
      if (m.type === 'request') return this.onRequestAfterEnd(m.request, m.from);
      if (m.type !== 'response' && m.type !== 'timer' && m.type !== 'send-failure') return;
    }
    switch (m.type) {
      case 'request':
        return this.onRequest(m.request, m.from);
      case 'response':
        return this.onResponse(m.response);
      case 'timer':
        return this.onTimer(m.key, m.timer);
      case 'send-failure':
        return this.onSendFailure(m.ref);
      case 'answer':
        return this.answerInvite(m.status, m.reason, m.body, m.contentType, m.headers ?? []);
      case 'send-request':
        return this.sendRequest(m.method, m.token, m.body, m.contentType, m.headers ?? []);
      case 'answer-request':
        return this.answerRequest(m.token, m.status, m.reason, m.body, m.contentType, m.headers ?? []);
      case 'hangup':
        return this.hangup(m.status, m.reason);
      case 'join': {
        const ours = m.callId === this.callId && m.tags.includes(this.localTag) && (this.remoteTag === undefined || m.tags.includes(this.remoteTag));
        if (!ours || this.dialog !== 'confirmed') return m.respond({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
        this.call.tell({ type: 'join-away', leg: this.name, master: m.master, respond: m.respond });
        return;
      }
    }
  }

  crashed(error: unknown, message: LegMessage): void {
    this.log.error({ err: error, message: message.type }, 'leg actor failed: ending the call');
    // answer what can still be answered, so no party is left waiting
    if (this.role === 'uas' && this.dialog === 'early' && this.invite !== undefined) {
      this.answerInvite(500, 'Server Internal Error', undefined, undefined, []);
    } else if (this.dialog === 'confirmed') this.sendBye();
    this.finish('crash');
  }

  stopped(): void {
    this.release();
  }

  // ---- inbound SIP -------------------------------------------------------------------------

  private onRequest(req: SipRequest, from: Destination): void {
    this.peer = { ...from };
    const key = serverTransactionKey(req) ?? `${req.headers.callId}|${req.headers.cseq?.seq}|${req.method}`;
    if (req.method === 'ACK') return this.onAck(req, key);
    if (req.method === 'CANCEL') return this.onCancel(req, from);
    const existing = this.servers.get(key);
    if (existing !== undefined) {
      // a retransmission: the transaction answers it again (§17.2.3)
      this.run(key, (existing as ServerInviteTransaction).handle({ type: 'request', request: req }), from);
      return;
    }
    const seq = req.headers.cseq?.seq ?? 0;
    if (this.dialog === 'confirmed' || this.dialog === 'early') {
      // §12.2.2: a lower CSeq than the last one is out of order
      if (seq <= this.remoteCSeq && req.method !== 'ACK') {
        this.respondStateless(req, 500, 'CSeq Out of Order', from);
        return;
      }
      this.remoteCSeq = seq;
    }
    const reliable = from.protocol === 'tcp';
    const tx = req.method === 'INVITE'
      ? new ServerInviteTransaction(req, { reliable, timers: this.ctx.timers })
      : new ServerNonInviteTransaction(req, { reliable, timers: this.ctx.timers });
    this.servers.set(key, tx);
    this.run(key, (tx as ServerInviteTransaction).handle({ type: 'start' }), from);
    const contact = req.headers.contact[0];
    if (req.method === 'INVITE' && contact !== undefined) this.remoteTarget = contact.uri; // §12.2.2 target refresh
    switch (req.method) {
      case 'BYE':
        this.respond(key, tx, createResponse(req, 200, { toTag: this.localTag }));
        this.call.tell({ type: 'bye', leg: this.name, ...ownReason(req) });
        this.finish('bye');
        return;
      case 'OPTIONS':
        this.respond(key, tx, createResponse(req, 200, { toTag: this.localTag, headers: [['Allow', ALLOW], ['Supported', SUPPORTED]] }));
        return;
      case 'INVITE':
        // §14.1: a re-INVITE while ours is pending is glare
        if ([...this.clients.values()].some((c) => c.tx instanceof ClientInviteTransaction && c.tx.state !== 'Terminated' && c.tx.state !== 'Accepted' && c.tx.state !== 'Completed')) {
          this.respond(key, tx, createResponse(req, 491, { toTag: this.localTag }));
          return;
        }
        this.refreshSessionTimer(req);
        break;
      case 'UPDATE':
        this.refreshSessionTimer(req);
        break;
      case 'INFO':
      case 'NOTIFY':
      case 'MESSAGE':
      case 'REFER': // never relayed: the call decides (a transfer, or a refusal)
        break;
      default:
        this.respond(key, tx, createResponse(req, 405, { toTag: this.localTag, headers: [['Allow', ALLOW]] }));
        return;
    }
    // relayed to the other leg; its answer comes back as answer-request
    const token = key;
    this.pendingAnswers.set(token, tx);
    this.call.tell({ type: 'request', leg: this.name, token, method: req.method, body: req.body, contentType: req.headers.get('content-type'), ...(req.method === 'REFER' ? { request: req } : {}) });
  }

  private onRequestAfterEnd(req: SipRequest, from: Destination): void {
    const key = serverTransactionKey(req) ?? '';
    const tx = this.servers.get(key);
    if (tx !== undefined) this.run(key, (tx as ServerInviteTransaction).handle(req.method === 'ACK' ? { type: 'ack', request: req } : { type: 'request', request: req }), from);
    else if (req.method !== 'ACK') this.respondStateless(req, 481, undefined, from);
  }

  private onAck(ack: SipRequest, key: string): void {
    // An ACK for a non-2xx final matches its INVITE transaction by key (§17.2.3); one for a 2xx
    // has its own branch, and goes to the INVITE transaction that sent the 2xx (Accepted).
    const own = this.servers.get(key);
    for (const [k, tx] of own !== undefined ? [[key, own] as const] : this.servers) {
      if (tx instanceof ServerInviteTransaction && (tx.state === 'Completed' || tx.state === 'Accepted')) {
        this.run(k, tx.handle({ type: 'ack', request: ack }), this.peer);
      }
    }
    // ACK for our 2xx (§13.3.1.4): stops its retransmission, confirms the dialog
    if (this.retransmitter !== undefined) {
      this.run('2xx', this.retransmitter.handle({ type: 'ack' }), this.peer);
      this.retransmitter = undefined;
      if (this.dialog === 'early') {
        this.dialog = 'confirmed';
        this.call.tell({ type: 'confirmed', leg: this.name });
      }
    }
  }

  private onCancel(cancel: SipRequest, from: Destination): void {
    // §9.2: 200 to the CANCEL; 487 to the INVITE if it is still unanswered
    this.respondStateless(cancel, 200, undefined, from);
    if (this.invite !== undefined && this.invite.tx.state === 'Proceeding') {
      this.respond(this.invite.key, this.invite.tx, createResponse(this.invite.tx.request, 487, { toTag: this.localTag }));
      this.call.tell({ type: 'cancelled', leg: this.name, ...ownReason(cancel) });
      this.finish('cancelled');
    }
  }

  private onResponse(res: SipResponse): void {
    const branch = res.headers.topVia?.branch ?? '';
    // a CANCEL shares its INVITE's branch (§9.1): its transaction is kept under its own key
    const key = res.headers.cseq?.method === 'CANCEL' ? `${branch}|CANCEL` : branch;
    const entry = this.clients.get(key);
    if (entry === undefined) {
      // a 2xx retransmission after the INVITE transaction is gone: ACK it again (§13.2.2.4)
      if (res.headers.cseq?.method === 'INVITE' && res.status >= 200 && res.status < 300) this.sendAck(res);
      return;
    }
    this.run(key, entry.tx.handle({ type: 'response', response: res }), this.peer);
  }

  // ---- what the transactions pass up ---------------------------------------------------

  private passedUp(key: string, message: SipMessage): void {
    if (message instanceof SipResponse) {
      const entry = this.clients.get(key);
      if (entry === undefined) return;
      if (entry.tx instanceof ClientInviteTransaction && entry.token === undefined) this.onInviteResponse(message);
      else this.onRequestAnswered(entry, message);
    }
  }

  private onInviteResponse(res: SipResponse): void {
    if (res.status < 200) {
      this.provisionalSeen = true;
      if (this.cancelPending) {
        this.cancelPending = false;
        this.sendCancel();
        return;
      }
      // Timer B stops at the first provisional: from then on the engine bounds the ringing (cf. §16.6 Timer C)
      this.startLegTimer('no-answer', this.ctx.noAnswerMs);
      if (res.status > 100) {
        this.learnDialog(res);
        this.call.tell({ type: 'provisional', leg: this.name, status: res.status, reason: res.reason, body: res.body, contentType: res.headers.get('content-type') });
      }
      return;
    }
    this.stopLegTimer('no-answer');
    if (res.status < 300) {
      this.stopLegTimer('cancel-wait'); // a 2xx that crossed our CANCEL: the dialog is up, and ended by BYE
      const first = this.dialog === 'early';
      this.learnDialog(res);
      this.sendAck(res);
      if (first) {
        this.dialog = 'confirmed';
        this.call.tell({ type: 'answered', leg: this.name, body: res.body, contentType: res.headers.get('content-type') });
      }
      return;
    }
    this.dialog = 'terminated';
    this.call.tell({ type: 'failed', leg: this.name, status: res.status, reason: res.reason, cause: 'response', ...ownReason(res) });
    this.finish('rejected');
  }

  private onRequestAnswered(entry: ClientEntry, res: SipResponse): void {
    if (res.status < 200 || entry.token === undefined) return;
    if (entry.token === 'session-refresh') {
      // our refresh was accepted: the next one at half the (possibly new) interval
      const se = res.headers.sessionExpires;
      if (res.status < 300 && se !== undefined) this.armSessionTimer(se.seconds, 'uas');
      else if (res.status >= 300) this.hangupBoth('session refresh refused');
      return;
    }
    if (entry.tx instanceof ClientInviteTransaction && res.status < 300) this.sendAck(res);
    this.call.tell({ type: 'request-answered', leg: this.name, token: entry.token, status: res.status, reason: res.reason, body: res.body, contentType: res.headers.get('content-type') });
    if (entry.tx instanceof ClientNonInviteTransaction && entry.tx.request.method === 'BYE') this.finish('hangup');
  }

  /** §12.1.2: the UAC learns the remote tag, route set (reversed Record-Route) and target. */
  private learnDialog(res: SipResponse): void {
    if (this.role !== 'uac') return;
    const tag = res.headers.to?.tag;
    if (tag !== undefined) this.remoteTag = tag;
    this.routeSet = res.headers.recordRoute.slice().reverse();
    const contact = res.headers.contact[0];
    if (contact !== undefined) this.remoteTarget = contact.uri;
  }

  // ---- commands from the call ----------------------------------------------------------

  private answerInvite(status: number, reason: string | undefined, body: Uint8Array | undefined, contentType: string | undefined, headers: [string, string][]): void {
    const inv = this.invite;
    if (inv === undefined || (inv.tx.state !== 'Proceeding')) return;
    const ok = status >= 200 && status < 300;
    const session = ok ? this.sessionTimerFor(inv.tx.request) : undefined;
    const response = createResponse(inv.tx.request, status, {
      toTag: this.localTag, reason, body, contentType,
      headers: ok ? [['Contact', this.contact().toString()], ['Allow', ALLOW], ...(session?.headers ?? []), ...headers] : headers,
    });
    this.respond(inv.key, inv.tx, response);
    if (ok) {
      this.retransmitter = new Uas2xxRetransmitter(response, this.ctx.timers);
      this.run('2xx', this.retransmitter.handle({ type: 'start' }), this.peer);
      if (session !== undefined) this.armSessionTimer(session.seconds, session.refresher);
    } else if (status >= 300) {
      this.dialog = 'terminated';
      this.finish('rejected');
    }
  }

  private sendRequest(method: string, token: string, body: Uint8Array | undefined, contentType: string | undefined, headers: [string, string][]): void {
    if (this.dialog !== 'confirmed' || this.remoteTag === undefined) {
      this.call.tell({ type: 'request-answered', leg: this.name, token, status: 481, reason: 'Call/Transaction Does Not Exist' });
      return;
    }
    const branch = this.ctx.ids.newBranch(this.ctx.workerId, this.scope);
    const request = createInDialogRequest(this.dialogContext(), method, { via: this.via(branch), cseq: ++this.localCSeq, headers, body, contentType });
    const reliable = this.peer.protocol === 'tcp';
    const tx = method === 'INVITE'
      ? new ClientInviteTransaction(request, { reliable, timers: this.ctx.timers })
      : new ClientNonInviteTransaction(request, { reliable, timers: this.ctx.timers });
    this.clients.set(branch, { tx, token });
    this.run(branch, tx.handle({ type: 'start' }), this.peer);
  }

  private answerRequest(token: string, status: number, reason: string | undefined, body: Uint8Array | undefined, contentType: string | undefined, extra: [string, string][]): void {
    const tx = this.pendingAnswers.get(token);
    if (tx === undefined) return;
    this.pendingAnswers.delete(token);
    this.compact();
    const req = tx.request;
    const headers: [string, string][] = req.method === 'INVITE' && status < 300 && status >= 200 ? [['Contact', this.contact().toString()], ...extra] : extra;
    const response = createResponse(req, status, { toTag: this.localTag, reason, body, contentType, headers });
    this.respond(token, tx, response);
    if (req.method === 'INVITE' && status >= 200 && status < 300) {
      this.retransmitter?.handle({ type: 'stop' });
      this.retransmitter = new Uas2xxRetransmitter(response, this.ctx.timers);
      this.run('2xx', this.retransmitter.handle({ type: 'start' }), this.peer);
    }
  }

  private hangup(status: number | undefined, reason: string | undefined): void {
    if (this.role === 'uas' && this.invite !== undefined && this.invite.tx.state === 'Proceeding') {
      this.answerInvite(status ?? 480, reason, undefined, undefined, []);
      return;
    }
    if (this.role === 'uac' && this.dialog === 'early' && this.uacInvite !== undefined) {
      // §9.1: CANCEL only once a provisional arrived; before that, wait and cancel then
      if (this.provisionalSeen) this.sendCancel();
      else this.cancelPending = true;
      return;
    }
    if (this.dialog === 'confirmed') {
      this.sendBye();
      return;
    }
    this.finish('hangup');
  }

  // ---- SIP out -------------------------------------------------------------------------------

  private sendBye(): void {
    this.dialog = 'terminated';
    const branch = this.ctx.ids.newBranch(this.ctx.workerId, this.scope);
    const request = createInDialogRequest(this.dialogContext(), 'BYE', { via: this.via(branch), cseq: ++this.localCSeq });
    const tx = new ClientNonInviteTransaction(request, { reliable: this.peer.protocol === 'tcp', timers: this.ctx.timers });
    this.clients.set(branch, { tx, token: 'bye' });
    this.run(branch, tx.handle({ type: 'start' }), this.peer);
  }

  private sendCancel(): void {
    const inv = this.uacInvite;
    if (inv === undefined) return;
    const cancel = new SipRequest({ method: 'CANCEL', uri: inv.tx.request.uri, headers: inv.tx.request.headers.clone() });
    const h = cancel.headers;
    h.set('CSeq', `${inv.tx.request.headers.cseq?.seq ?? 1} CANCEL`);
    for (const name of ['Contact', 'Content-Type', 'Content-Length', 'Allow', 'Supported', 'Session-Expires', 'Min-SE']) h.remove(name);
    cancel.body = new Uint8Array(0);
    const branch = inv.branch;
    const tx = new ClientNonInviteTransaction(cancel, { reliable: this.peer.protocol === 'tcp', timers: this.ctx.timers });
    const key = `${branch}|CANCEL`;
    this.clients.set(key, { tx, token: 'cancel' });
    this.run(key, tx.handle({ type: 'start' }), this.peer);
    // §9.1: no final response 64*T1 after the CANCEL: consider the INVITE cancelled
    this.startLegTimer('cancel-wait', 64 * this.ctx.timers.t1);
  }

  /** A timer of the leg itself (not of a transaction); it fires through the mailbox as `timer`. */
  private startLegTimer(name: 'no-answer' | 'cancel-wait', ms: number): void {
    const id = `leg|${name}`;
    clearTimeout(this.timers.get(id));
    this.timers.set(id, setTimeout(() => {
      this.timers.delete(id);
      this.self.tell({ type: 'timer', key: `leg|${name}`, timer: 'B' });
    }, ms));
  }

  private stopLegTimer(name: 'no-answer' | 'cancel-wait'): void {
    const id = `leg|${name}`;
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  private sendAck(res: SipResponse): void {
    // §13.2.2.4: the ACK for a 2xx is a new transaction-less request in the dialog, same CSeq number
    const branch = this.ctx.ids.newBranch(this.ctx.workerId, this.scope);
    const seq = res.headers.cseq?.seq ?? this.localCSeq;
    const offer = seq === 1 ? this.ackOffer : undefined;
    const ack = createInDialogRequest(this.dialogContext(), 'ACK', { via: this.via(branch), cseq: seq, body: offer?.body, contentType: offer?.contentType });
    this.ctx.link.send(ack, this.peer);
  }

  private respond(key: string, tx: ServerTx, response: SipResponse): void {
    this.run(key, (tx as ServerInviteTransaction).handle({ type: 'respond', response }), this.peer);
  }

  private respondStateless(req: SipRequest, status: number, reason: string | undefined, to: Destination): void {
    this.ctx.link.send(createResponse(req, status, { toTag: this.localTag, reason }), to);
  }

  // ---- session timers (RFC 4028) -------------------------------------------------------------

  /**
   * RFC 4028 §9: the 2xx states the interval and the refresher (the UAC unless it asked us),
   * and requires `timer` when the UAC supports it.
   */
  private sessionTimerFor(invite: SipRequest): { seconds: number; refresher: 'uac' | 'uas'; headers: [string, string][] } | undefined {
    const se = invite.headers.sessionExpires;
    if (se === undefined) return undefined;
    const refresher = se.param('refresher') === 'uas' ? 'uas' : 'uac';
    const headers: [string, string][] = [['Session-Expires', `${se.seconds};refresher=${refresher}`]];
    if (invite.headers.supported.includes('timer')) headers.push(['Require', 'timer']);
    return { seconds: se.seconds, refresher, headers };
  }

  private refreshSessionTimer(req: SipRequest): void {
    const se = req.headers.sessionExpires;
    if (se !== undefined && this.sessionTimer !== undefined) this.armSessionTimer(se.seconds, se.param('refresher') === 'uas' ? 'uas' : 'uac');
  }

  private armSessionTimer(seconds: number, refresher: 'uac' | 'uas'): void {
    clearTimeout(this.sessionTimer);
    if (refresher === 'uas') {
      // we refresh, at half the interval (§10), with an UPDATE carrying no body
      this.sessionTimer = setTimeout(() => this.self.tell({ type: 'send-request', token: 'session-refresh', method: 'UPDATE', headers: [['Session-Expires', `${seconds};refresher=uas`]] }), (seconds * 1000) / 2);
    } else {
      // §10: with no refresh, the session ends at expiry minus min(32 s, a third)
      const ms = (seconds - Math.min(32, seconds / 3)) * 1000;
      this.sessionTimer = setTimeout(() => this.self.tell({ type: 'timer', key: 'session', timer: 'L' }), ms);
    }
    this.sessionTimer.unref();
  }

  // ---- transaction driver ---------------------------------------------------------------------

  private run(key: string, effects: Effect[], to: Destination): void {
    for (const e of effects) {
      switch (e.type) {
        case 'send':
          this.ctx.link.send(e.message, to, e.message instanceof SipRequest ? key : undefined);
          break;
        case 'start-timer': {
          const id = `${key}|${e.timer}`;
          clearTimeout(this.timers.get(id));
          const t = setTimeout(() => {
            this.timers.delete(id);
            this.self.tell({ type: 'timer', key, timer: e.timer });
          }, e.ms);
          this.timers.set(id, t);
          break;
        }
        case 'cancel-timer': {
          const id = `${key}|${e.timer}`;
          clearTimeout(this.timers.get(id));
          this.timers.delete(id);
          break;
        }
        case 'pass-up':
          this.passedUp(key, e.message);
          break;
        case 'timeout':
        case 'transport-error':
          this.onTransactionFailure(key, e.type);
          break;
        case 'ack-timeout':
          // §13.3.1.4: no ACK for our 2xx: confirm and end the dialog with a BYE
          this.dialog = 'confirmed';
          this.call.tell({ type: 'failed', leg: this.name, status: 408, reason: 'No ACK', cause: 'no-ack' });
          this.sendBye();
          break;
        case 'terminated':
          this.forgetTransaction(key);
          break;
      }
    }
  }

  private onTransactionFailure(key: string, why: 'timeout' | 'transport-error'): void {
    const entry = this.clients.get(key);
    if (entry !== undefined) {
      if (entry.tx instanceof ClientInviteTransaction && entry.token === undefined) {
        this.dialog = 'terminated';
        this.call.tell({ type: 'failed', leg: this.name, status: why === 'timeout' ? 408 : 503, reason: why === 'timeout' ? 'Request Timeout' : 'Transport Error', cause: why });
        this.finish(why);
      } else if (entry.token === 'bye') this.finish(why);
      else if (entry.token !== undefined && entry.token !== 'cancel') {
        this.call.tell({ type: 'request-answered', leg: this.name, token: entry.token, status: 408, reason: 'Request Timeout' });
      }
      return;
    }
    // Timer H: our final response was never ACKed
    if (this.invite?.key === key && this.dialog !== 'confirmed') this.finish(why);
  }

  private forgetTransaction(key: string): void {
    this.servers.delete(key);
    this.clients.delete(key);
    // a call that is up keeps no INVITE: only its dialog state
    if (this.invite?.key === key) {
      this.ctx.invites.delete(key);
      this.invite = undefined;
    }
    if (this.uacInvite?.branch === key) this.uacInvite = undefined;
    for (const [id, t] of this.timers) {
      if (id.startsWith(`${key}|`)) {
        clearTimeout(t);
        this.timers.delete(id);
      }
    }
    if (this.dialog === 'terminated' && this.servers.size === 0 && this.clients.size === 0) this.stop();
    this.compact();
  }

  /** Ends this leg with BYE and tells the call, which ends the other. */
  private hangupBoth(why: string): void {
    this.log.info({ event: 'session-ended', why }, 'session timer: ending the call');
    this.call.tell({ type: 'bye', leg: this.name, reason: why });
    this.sendBye();
  }

  private onTimer(key: string, timer: TimerName): void {
    if (key === 'session') {
      this.hangupBoth('session expired');
      return;
    }
    if (key === 'leg|no-answer') {
      this.log.info({ event: 'no-answer' }, 'no answer in time: cancelling');
      this.call.tell({ type: 'failed', leg: this.name, status: 408, reason: 'No Answer', cause: 'no-answer' });
      this.sendCancel();
      return;
    }
    if (key === 'leg|cancel-wait') {
      // the INVITE transaction is abandoned with its timers (§9.1)
      if (this.uacInvite !== undefined) this.forgetTransaction(this.uacInvite.branch);
      this.dialog = 'terminated';
      this.finish('cancel-timeout');
      if (this.servers.size === 0 && this.clients.size === 0) this.stop();
      return;
    }
    if (key === '2xx') {
      if (this.retransmitter !== undefined) this.run('2xx', this.retransmitter.handle({ type: 'timer', timer }), this.peer);
      return;
    }
    const tx = this.servers.get(key) ?? this.clients.get(key)?.tx;
    if (tx !== undefined) this.run(key, (tx as ServerInviteTransaction).handle({ type: 'timer', timer }), this.peer);
  }

  private onSendFailure(ref: string): void {
    const entry = this.clients.get(ref);
    if (entry !== undefined) this.run(ref, entry.tx.handle({ type: 'transport-error' }), this.peer);
  }

  // ---- dialog helpers ---------------------------------------------------------------------------

  private dialogContext() {
    return {
      callId: this.callId,
      local: this.localUri.withTag(this.localTag),
      remote: this.remoteTag === undefined ? this.remoteUri : this.remoteUri.withTag(this.remoteTag),
      remoteTarget: this.remoteTarget,
      routeSet: this.routeSet,
      contact: this.contact(),
    };
  }

  private via(branch: string): Via {
    return new Via(this.peer.protocol.toUpperCase(), this.peer.localAddress, this.peer.localPort, [
      { name: 'branch', value: branch },
      { name: 'rport', value: null },
    ]);
  }

  private contact(): NameAddr {
    const params = this.peer.protocol === 'tcp' ? [{ name: 'transport', value: 'tcp' }] : [];
    return new NameAddr(new SipUri({ user: 'sb', host: this.peer.localAddress, port: this.peer.localPort, params }));
  }

  // ---- ending ----------------------------------------------------------------------------------------

  private finish(cause: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.ctx.log.isLevelEnabled('debug')) this.log.debug({ event: 'leg-ended', cause }, 'leg ended');
    this.dialog = 'terminated';
    clearTimeout(this.sessionTimer);
    this.call.tell({ type: 'ended', leg: this.name, cause });
    // transactions still absorbing retransmissions keep the actor until they terminate
    if (this.servers.size === 0 && this.clients.size === 0) this.stop();
  }

  private stop(): void {
    this.ended = true;
    this.ctx.kernel.stop(this.actorId);
    this.release();
  }

  /** Frees every timer and index entry the leg holds (also on a crash). */
  private release(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.sessionTimer);
    if (this.invite !== undefined) this.ctx.invites.delete(this.invite.key);
    this.invite = undefined;
    this.uacInvite = undefined;
    this.servers.clear();
    this.clients.clear();
    this.pendingAnswers.clear();
  }

}

/** A message's Reason header (RFC 3326), copied so that the record does not keep the whole message's text alive. */
function ownReason(message: SipMessage): { reasonHeader?: string } {
  const value = message.headers.get('reason');
  return value === undefined ? {} : { reasonHeader: Buffer.from(value).toString() };
}
