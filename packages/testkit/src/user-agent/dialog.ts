import {
  createAck, createInDialogRequest, createResponse, NameAddr, type DialogRequestContext, type SipMessage,
  type SipRequest, type SipResponse, type Uri, type Via,
} from '@switchboard/sip';
import { bumpSdpVersion, randomRtpPort, sdpOffer } from '../sdp.js';
import { bodyText, isSdp, toBuffer } from './bodies.js';
import { ClientTransaction, type ClientTransactionHost } from './client-transaction.js';
import type { Flow } from './flow.js';
import type { LogEntry, LogMatch } from './message-log.js';
import type { HandledCall, HeaderList, HeaderPair, InviteScript, RequestOptions, ResponseSpec } from './options.js';
import type { ServerTransaction } from './server-transaction.js';

export type CallState =
  | 'calling' // UAC: INVITE sent, nothing back yet; UAS: INVITE received, nothing sent yet
  | 'proceeding' // 100 received or sent
  | 'early' // a provisional with a To tag received or sent
  | 'answered' // UAS: 2xx sent, waiting for the ACK
  | 'confirmed' // ACK sent (UAC) or received (UAS)
  | 'terminated';

export interface CallEnd {
  by: 'local' | 'remote';
  /**
   * bye: a BYE; cancel: a CANCEL (and its 487); rejected: a non-2xx final response;
   * timeout: no response to the INVITE (Timer B); ack-timeout: the UAS never got its ACK;
   * error: a transport error.
   */
  how: 'bye' | 'cancel' | 'rejected' | 'timeout' | 'ack-timeout' | 'error';
  /** The BYE, CANCEL or final response that ended the call. */
  message?: SipMessage;
  at: number;
}

/** The methods the UA answers (its Allow header, RFC 3261 §20.5). */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY, MESSAGE';
const WITH_CONTACT = new Set(['INVITE', 'UPDATE', 'REFER', 'NOTIFY', 'SUBSCRIBE']);

/**
 * What a dialog needs of its user agent (the UserAgent is one): its address for Contact and
 * Via, where a URI leads, its log, its waits, and the table that routes requests to dialogs.
 */
export interface DialogHost extends ClientTransactionHost {
  readonly host: string;
  readonly timeoutMs: number;
  readonly _contact: NameAddr;
  readonly _dialogs: Pick<Map<string, Dialog>, 'get' | 'delete'>;
  newVia(): Via;
  /** A flow for a URI whose host is an IP literal (RFC 3263 without DNS). */
  _resolve(uri: Uri): Flow | undefined;
  /** The final response of a transaction, or its error, within `timeoutMs`. */
  _transaction(tx: ClientTransaction, timeoutMs: number, what: string): Promise<SipResponse>;
  entries(match?: LogMatch): LogEntry[];
}

/**
 * The dialog of a Call (RFC 3261 §12): its state, the requests sent in it, the answers to
 * those received, and our 2xx retransmitted until its ACK (§13.3.1.4). The INVITE that makes
 * the dialog, the scripts and the waits are the Call's (call.ts).
 */
export abstract class Dialog implements HandledCall {
  state: CallState = 'calling';
  /** Our tag: From tag of a placed call, To tag of a received one. */
  readonly localTag: string;
  remoteTag: string | undefined;
  /** Our side of the dialog (with our tag) and the peer's. */
  local: NameAddr;
  remote: NameAddr;
  remoteTarget: Uri;
  /** Route set in the order our requests carry it. */
  routeSet: NameAddr[] = [];
  localCseq: number;
  remoteCseq: number | undefined;
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  /** The final response to the initial INVITE, received or sent (a local 408 after Timer B). */
  finalResponse: SipResponse | undefined;
  error: Error | undefined;
  end: CallEnd | undefined;
  /** In-dialog requests received (ACKs apart), in order. */
  readonly requests: SipRequest[] = [];
  readonly notifies: SipRequest[] = [];
  readonly refers: SipRequest[] = [];
  /** ACKs received (UAS: of our 2xx and non-2xx) or sent for the 2xx (UAC). */
  readonly acks: SipRequest[] = [];

  protected ok: SipResponse | undefined;
  protected script: InviteScript = {};
  /** Answers to in-dialog requests by method, set with Call.onRequest. */
  protected readonly handlers = new Map<string, (request: SipRequest) => ResponseSpec | number | undefined>();
  protected readonly inviteSeq: number;
  private readonly pending2xx = new Map<number, { timer: NodeJS.Timeout | undefined; initial: boolean }>();

  constructor(
    readonly ua: DialogHost,
    readonly role: 'uac' | 'uas',
    /** The initial INVITE, as sent or received. */
    readonly invite: SipRequest,
    protected readonly flow: Flow,
    localTag: string,
    private readonly nextHop: 'route' | 'fixed',
  ) {
    this.localTag = localTag;
    const h = invite.headers;
    this.inviteSeq = h.cseq?.seq ?? 1;
    const from = h.from as NameAddr;
    const to = h.to as NameAddr;
    if (role === 'uac') {
      this.local = from;
      this.remote = to;
      this.remoteTarget = invite.uri;
      this.localCseq = this.inviteSeq;
    } else {
      this.local = to.withTag(localTag);
      this.remote = from;
      this.remoteTag = from.tag;
      this.remoteTarget = h.contact[0]?.uri ?? from.uri;
      this.routeSet = [...h.recordRoute];
      this.localCseq = 0;
      this.remoteCseq = this.inviteSeq;
      if (isSdp(invite)) this.remoteSdp = bodyText(invite);
    }
  }

  get callId(): string {
    return this.invite.headers.get('call-id') ?? '';
  }

  /** Every logged message of this call (by Call-ID). */
  get log(): LogEntry[] {
    return this.ua.entries({ callId: this.callId });
  }

  protected get label(): string {
    return `${this.ua.name}: ${this.role === 'uac' ? 'placed' : 'received'} call ${this.callId}`;
  }

  /** The caller's CANCEL (see Call.cancel). */
  abstract cancel(timeoutMs?: number): Promise<SipResponse>;
  /** The callee's final non-2xx (see Call.reject). */
  abstract reject(status: number, o?: { reason?: string; headers?: HeaderList }): SipResponse | undefined;

  /** Retransmits a 2xx to an INVITE until its ACK (UDP), gives up after 64*T1 with a BYE. */
  protected expectAck(seq: number, res: SipResponse, stx: ServerTransaction, initial: boolean): void {
    const entry: { timer: NodeJS.Timeout | undefined; initial: boolean } = { timer: undefined, initial };
    this.pending2xx.set(seq, entry);
    const deadline = Date.now() + 64 * this.ua.t1;
    const again = (interval: number) => {
      entry.timer = this.ua._after(interval, () => {
        if (this.pending2xx.get(seq) !== entry) return;
        if (Date.now() >= deadline) {
          this.pending2xx.delete(seq);
          if (initial && this.end === undefined) {
            this.end = { by: 'local', how: 'ack-timeout', at: Date.now() };
            this.ua._fire(this.hangup().then(() => undefined));
          }
          return;
        }
        if (stx.flow.transport === 'udp') this.ua._fire(this.ua._send(res, stx.flow, true, stx.raw));
        again(Math.min(interval * 2, this.ua.t2));
      });
    };
    // over TCP nothing is retransmitted, but the ACK is still awaited for 64*T1
    again(stx.flow.transport === 'udp' ? this.ua.t1 : 64 * this.ua.t1);
  }

  /** @internal An ACK for a 2xx of this dialog. */
  _onAck(ack: SipRequest, entry: LogEntry): void {
    const seq = ack.headers.cseq?.seq ?? -1;
    const pending = this.pending2xx.get(seq);
    if (pending === undefined) {
      entry.retransmission = this.acks.some((a) => a.headers.cseq?.seq === seq);
      if (!entry.retransmission) this.acks.push(ack);
      return;
    }
    this.ua._clear(pending.timer);
    this.pending2xx.delete(seq);
    this.acks.push(ack);
    if (isSdp(ack)) this.remoteSdp = bodyText(ack);
    if (pending.initial && this.state === 'answered') {
      this.state = 'confirmed';
      const after = this.script.hangupAfter;
      if (after !== undefined) this.ua._after(after, () => this.ua._fire(this.hangup().then(() => undefined)));
    }
  }

  // ---------------------------------------------------------------- in the dialog

  /** The dialog's request context; Contact only for the methods that carry one (RFC 3261 table 3, RFC 3515, RFC 6665). */
  protected context(method: string): DialogRequestContext {
    return {
      callId: this.callId, local: this.local, remote: this.remote, remoteTarget: this.remoteTarget,
      routeSet: this.routeSet, contact: WITH_CONTACT.has(method) ? this.ua._contact : undefined,
    };
  }

  /** Where an in-dialog request goes: the first route or the remote target, else the dialog's flow. */
  protected dialogFlow(): Flow {
    if (this.nextHop === 'route') {
      const f = this.ua._resolve(this.routeSet[0]?.uri ?? this.remoteTarget);
      if (f !== undefined) return f;
    }
    return this.flow;
  }

  private newRequest(method: string, o: RequestOptions): SipRequest {
    this.localCseq++;
    return createInDialogRequest(this.context(method), method, {
      via: this.ua.newVia(), cseq: this.localCseq, headers: o.headers, body: toBuffer(o.body),
      contentType: o.body === undefined ? undefined : (o.contentType ?? 'text/plain'),
    });
  }

  private requireDialog(method: string): void {
    if (this.remoteTag === undefined) throw new Error(`${this.label}: no dialog yet for ${method}`);
  }

  /** Sends an in-dialog request (INFO, UPDATE, OPTIONS, MESSAGE, NOTIFY...) and resolves with its final response. */
  request(method: string, o: RequestOptions = {}): Promise<SipResponse> {
    const m = method.toUpperCase();
    if (m === 'INVITE') return this.reinvite(typeof o.body === 'string' ? o.body : undefined, o);
    if (m === 'ACK' || m === 'CANCEL') return Promise.reject(new Error(`${this.label}: use the call's own ${m} handling`));
    try {
      this.requireDialog(m);
    } catch (err) {
      return Promise.reject(err);
    }
    const req = this.newRequest(m, o);
    const tx = new ClientTransaction(this.ua, req, this.dialogFlow(), () => undefined).start();
    return this.ua._transaction(tx, o.timeoutMs ?? this.ua.timeoutMs, `the final response to ${m} in call ${this.callId}`);
  }

  /**
   * Sends a re-INVITE with `sdp` (default: our last SDP with its version incremented), ACKs
   * the final response and resolves with it. A 2xx refreshes the remote target and SDP.
   */
  reinvite(sdp?: string, o: RequestOptions = {}): Promise<SipResponse> {
    try {
      this.requireDialog('re-INVITE');
    } catch (err) {
      return Promise.reject(err);
    }
    const offer = sdp ?? (this.localSdp === undefined ? sdpOffer(this.ua.name, randomRtpPort(), { host: this.ua.host }) : bumpSdpVersion(this.localSdp));
    const req = this.newRequest('INVITE', { headers: o.headers, body: offer, contentType: 'application/sdp' });
    let ack: SipRequest | undefined;
    let ackFlow: Flow | undefined;
    const flow = this.dialogFlow();
    const tx = new ClientTransaction(this.ua, req, flow, (res) => {
      if (res.status < 200) return;
      if (res.status < 300) {
        if (ack === undefined) {
          const contact = res.headers.contact[0];
          if (contact !== undefined) this.remoteTarget = contact.uri;
          this.localSdp = offer;
          if (isSdp(res)) this.remoteSdp = bodyText(res);
          ack = createInDialogRequest(this.context('ACK'), 'ACK', { via: this.ua.newVia(), cseq: req.headers.cseq?.seq ?? this.localCseq });
          ackFlow = this.dialogFlow();
          this.ua._fire(this.ua._send(ack, ackFlow));
        } else this.ua._fire(this.ua._send(ack, ackFlow ?? flow, true));
        return;
      }
      const again = ack !== undefined;
      ack ??= createAck(req, res);
      this.ua._fire(this.ua._send(ack, flow, again));
    }).start();
    return this.ua._transaction(tx, o.timeoutMs ?? this.ua.timeoutMs, `the final response to the re-INVITE in call ${this.callId}`);
  }

  /**
   * Sends REFER (RFC 3515) with Refer-To `referTo` (a URI or name-addr) and resolves with its
   * final response (202). The NOTIFYs of the implicit subscription land in `notifies`.
   */
  refer(referTo: string | Uri | NameAddr, o: RequestOptions & { referSub?: boolean; referredBy?: string } = {}): Promise<SipResponse> {
    const target = referTo instanceof NameAddr ? referTo.toString()
      : typeof referTo === 'string' ? (referTo.includes('<') ? referTo : `<${referTo}>`) : `<${referTo.toString()}>`;
    const headers: HeaderPair[] = [['Refer-To', target]];
    if (o.referredBy !== undefined) headers.push(['Referred-By', o.referredBy]);
    if (o.referSub === false) headers.push(['Refer-Sub', 'false'], ['Supported', 'norefersub']);
    headers.push(...(o.headers ?? []));
    return this.request('REFER', { ...o, headers });
  }

  /**
   * Sends a NOTIFY of the REFER subscription (RFC 3515 §2.4.4): `sipfrag` such as
   * 'SIP/2.0 200 OK', `subscriptionState` such as 'active;expires=60' or 'terminated;reason=noresource'.
   */
  notify(sipfrag: string, subscriptionState = 'active;expires=60', o: RequestOptions & { event?: string } = {}): Promise<SipResponse> {
    const headers: HeaderPair[] = [['Event', o.event ?? 'refer'], ['Subscription-State', subscriptionState], ...(o.headers ?? [])];
    return this.request('NOTIFY', { ...o, headers, body: sipfrag, contentType: 'message/sipfrag;version=2.0' });
  }

  /**
   * Ends the call: BYE once answered (resolves with its response); before that, CANCEL from
   * the caller (resolves with the INVITE's final response) or `reject(480)` from the callee.
   */
  hangup(o: RequestOptions = {}): Promise<SipResponse> {
    if (this.state === 'terminated' && this.end !== undefined) {
      return Promise.reject(new Error(`${this.label}: already ended (${this.end.by} ${this.end.how})`));
    }
    if (this.ok === undefined) {
      if (this.role === 'uac') return this.cancel(o.timeoutMs);
      const res = this.reject(480) ?? this.finalResponse;
      return res === undefined ? Promise.reject(new Error(`${this.label}: nothing to hang up`)) : Promise.resolve(res);
    }
    for (const [, p] of this.pending2xx) this.ua._clear(p.timer);
    this.pending2xx.clear();
    const bye = this.newRequest('BYE', o);
    if (this.end === undefined || this.end.how === 'ack-timeout') {
      this.end = { by: 'local', how: this.end?.how ?? 'bye', message: bye, at: Date.now() };
    }
    this.finish(this.end);
    const tx = new ClientTransaction(this.ua, bye, this.dialogFlow(), () => undefined).start();
    return this.ua._transaction(tx, o.timeoutMs ?? this.ua.timeoutMs, `the final response to BYE in call ${this.callId}`);
  }

  /** @internal An in-dialog request (not ACK, not CANCEL) for this call. */
  _onRequest(req: SipRequest, stx: ServerTransaction): void {
    const method = req.method;
    const seq = req.headers.cseq?.seq ?? 0;
    if (this.remoteCseq !== undefined && seq <= this.remoteCseq) {
      stx.respond(createResponse(req, 500, { reason: 'CSeq Out of Order', toTag: this.localTag }));
      return;
    }
    this.remoteCseq = seq;
    this.requests.push(req);
    if (method === 'NOTIFY') this.notifies.push(req);
    if (method === 'REFER') this.refers.push(req);
    if (method === 'INVITE' || method === 'UPDATE') {
      const contact = req.headers.contact[0];
      if (contact !== undefined) this.remoteTarget = contact.uri;
    }
    const custom = this.handlers.get(method)?.(req);
    const withSdp = (method === 'INVITE' || (method === 'UPDATE' && isSdp(req)));
    let spec: ResponseSpec;
    if (custom !== undefined) spec = typeof custom === 'number' ? { status: custom } : custom;
    else if (method === 'REFER') spec = { status: 202 };
    else if (['BYE', 'INVITE', 'UPDATE', 'NOTIFY', 'INFO', 'OPTIONS', 'MESSAGE', 'PRACK'].includes(method)) spec = { status: 200 };
    else spec = { status: 501 };
    const ok = spec.status >= 200 && spec.status < 300;
    const headers: HeaderPair[] = [];
    let body = toBuffer(spec.body);
    let contentType = spec.contentType;
    if (ok && (method === 'INVITE' || method === 'UPDATE')) {
      headers.push(['Contact', this.ua._contact]);
      if (isSdp(req)) this.remoteSdp = bodyText(req);
      if (withSdp && body === undefined && this.localSdp !== undefined) {
        body = toBuffer(this.localSdp);
        contentType = 'application/sdp';
      }
    }
    if (method === 'OPTIONS' || spec.status === 501) headers.push(['Allow', ALLOW]);
    headers.push(...(spec.headers ?? []));
    const res = createResponse(req, spec.status, {
      reason: spec.reason, toTag: this.localTag, headers, body,
      contentType: body === undefined ? undefined : (contentType ?? 'application/sdp'),
    });
    if (spec.delayMs !== undefined && spec.delayMs > 0) {
      this.ua._after(spec.delayMs, () => {
        stx.respond(res);
        if (method === 'INVITE' && ok) this.expectAck(seq, res, stx, false);
      });
      return;
    }
    stx.respond(res);
    if (method === 'INVITE' && ok) this.expectAck(seq, res, stx, false);
    if (method === 'BYE' && ok) {
      if (this.role === 'uas' && this.finalResponse === undefined) {
        this.end ??= { by: 'remote', how: 'bye', message: req, at: Date.now() };
        this.reject(487);
      }
      this.finish({ by: 'remote', how: 'bye', message: req, at: Date.now() });
    }
  }

  protected finish(end: CallEnd): void {
    this.end ??= end;
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    for (const [, p] of this.pending2xx) this.ua._clear(p.timer);
    this.pending2xx.clear();
    // the dialog lingers to answer stray requests, then goes
    const key = `${this.callId}|${this.localTag}`;
    const self: Dialog = this;
    this.ua._after(64 * this.ua.t1, () => {
      if (this.ua._dialogs.get(key) === self) this.ua._dialogs.delete(key);
    });
  }
}
