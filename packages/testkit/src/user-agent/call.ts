import { createAck, createCancel, createInDialogRequest, createResponse, type SipRequest, type SipResponse } from '@switchboard/sip';
import { randomRtpPort, sdpAnswer, sdpOffer } from '../sdp.js';
import { bodyText, isSdp, toBuffer } from './bodies.js';
import { ClientTransaction } from './client-transaction.js';
import { ALLOW, Dialog, type CallEnd, type DialogHost } from './dialog.js';
import type { Flow } from './flow.js';
import type { CallOptions, HeaderList, InviteScript, RequestHandler, ResponseSpec } from './options.js';
import type { InviteServerCall, ServerTransaction } from './server-transaction.js';

export type CallEvent = 'ringing' | 'answered' | 'established' | 'failed' | 'outcome' | 'ended';

/** What a call needs of its user agent beyond its dialog's (the UserAgent is one): its history and its waits. */
export interface CallHost extends DialogHost {
  readonly keepHistory: boolean;
  readonly calls: Call[];
  readonly _dialogs: Map<string, Call>;
  /** The agent's log as text, for a failed wait's message. */
  describe(): string;
  until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T>;
}

/** A call as one UA sees it, placed (role 'uac') or received ('uas'): a dialog and its transactions. */
export class Call extends Dialog implements InviteServerCall {
  /** 1xx received (UAC) or sent (UAS), 100 included. */
  readonly provisional: SipResponse[] = [];
  /** No response at all to the INVITE (Timer B). */
  timedOut = false;
  /** The CANCEL we sent, and its response. */
  cancelRequest: SipRequest | undefined;
  cancelResponse: SipResponse | undefined;

  private ack2xx: SipRequest | undefined;
  private ackFailure: SipRequest | undefined;
  private cancelRequested = false;
  private serverTx: ServerTransaction | undefined;
  private opts: CallOptions | undefined;

  /** @internal Use UserAgent.call() or UserAgent.nextCall(). */
  constructor(override readonly ua: CallHost, role: 'uac' | 'uas', invite: SipRequest, flow: Flow, localTag: string, nextHop: 'route' | 'fixed') {
    super(ua, role, invite, flow, localTag, nextHop);
    if (ua.keepHistory) ua.calls.push(this);
    ua._dialogs.set(`${this.callId}|${localTag}`, this);
  }

  // ---------------------------------------------------------------- waiting

  /** The first provisional above 100 (received or sent); rejects when a final response came first. */
  get ringing(): Promise<SipResponse> {
    return this.wait('ringing');
  }
  /** The 2xx to the INVITE (received or sent); rejects when the call failed. */
  get answered(): Promise<SipResponse> {
    return this.wait('answered');
  }
  /** The ACK of the 2xx: sent (UAC) or received (UAS). */
  get established(): Promise<SipRequest> {
    return this.wait('established');
  }
  /** The non-2xx final response (or the local 408 of Timer B); rejects when the call was answered. */
  get failed(): Promise<SipResponse> {
    return this.wait('failed');
  }
  /** The final response to the INVITE, whatever it is. */
  get outcome(): Promise<SipResponse> {
    return this.wait('outcome');
  }
  /** How the call ended: who, how, with which message. */
  get ended(): Promise<CallEnd> {
    return this.wait('ended');
  }

  /** Waits for one of the call's milestones, with a timeout (default: the UA's). */
  wait(event: 'ringing' | 'answered' | 'failed' | 'outcome', timeoutMs?: number): Promise<SipResponse>;
  wait(event: 'established', timeoutMs?: number): Promise<SipRequest>;
  wait(event: 'ended', timeoutMs?: number): Promise<CallEnd>;
  wait(event: CallEvent, timeoutMs?: number): Promise<SipResponse | SipRequest | CallEnd>;
  wait(event: CallEvent, timeoutMs = this.ua.timeoutMs): Promise<SipResponse | SipRequest | CallEnd> {
    const fail = (why: string): never => {
      throw new Error(`${this.label}: ${why}\n${this.ua.describe()}`);
    };
    const finalText = () => (this.finalResponse === undefined ? 'no final response' : `${this.finalResponse.status} ${this.finalResponse.reason}`);
    const check = (): SipResponse | SipRequest | CallEnd | undefined => {
      if (this.error !== undefined && event !== 'ended') fail(`transport error: ${this.error.message}`);
      switch (event) {
        case 'ringing': {
          const r = this.provisional.find((p) => p.status > 100);
          if (r === undefined && this.finalResponse !== undefined) fail(`no ringing before the final response (${finalText()})`);
          return r;
        }
        case 'answered':
          if (this.ok !== undefined) return this.ok;
          if (this.finalResponse !== undefined) fail(`was not answered: ${finalText()}`);
          return undefined;
        case 'established': {
          const ack = this.role === 'uac' ? this.ack2xx : this.acks.find((a) => a.headers.cseq?.seq === this.inviteSeq);
          if (ack !== undefined) return ack;
          if (this.finalResponse !== undefined && this.ok === undefined) fail(`was not answered: ${finalText()}`);
          if (this.end?.how === 'ack-timeout') fail('the ACK never came');
          return undefined;
        }
        case 'failed':
          if (this.ok !== undefined) fail(`was answered (${this.ok.status} ${this.ok.reason}), not failed`);
          return this.finalResponse;
        case 'outcome':
          return this.finalResponse;
        case 'ended':
          return this.end;
      }
    };
    const goal = { ringing: 'ringing (18x)', answered: '2xx', established: 'ACK of the 2xx', failed: 'failure (final non-2xx)', outcome: 'final response', ended: 'end' }[event];
    return this.ua.until(check, timeoutMs, `the ${goal} of call ${this.callId} (${this.role})`);
  }

  /** The first in-dialog request of `method` received (already or to come) that `match` accepts. */
  waitForRequest(method: string, match: (r: SipRequest) => boolean = () => true, timeoutMs = this.ua.timeoutMs): Promise<SipRequest> {
    return this.ua.until(() => this.requests.find((r) => r.method === method && match(r)), timeoutMs, `${method} in call ${this.callId}`);
  }

  /** The first NOTIFY received (already or to come) that `match` accepts. */
  waitForNotify(match: (n: SipRequest) => boolean = () => true, timeoutMs = this.ua.timeoutMs): Promise<SipRequest> {
    return this.ua.until(() => this.notifies.find(match), timeoutMs, `NOTIFY in call ${this.callId}`);
  }

  /** Answers in-dialog requests of `method` with `handler` (undefined from it: the default answer). */
  onRequest(method: string, handler: RequestHandler | number | ResponseSpec): this {
    this.handlers.set(method.toUpperCase(), typeof handler === 'function' ? (req) => handler(req, this) : () => handler);
    return this;
  }

  // ---------------------------------------------------------------- UAC

  /** @internal */
  _startUac(o: CallOptions, sdp: string | undefined): void {
    this.opts = o;
    this.localSdp = sdp;
    for (const [m, h] of Object.entries(o.handlers ?? {})) this.onRequest(m, h);
    new ClientTransaction(this.ua, this.invite, this.flow, (res) => this.onInviteResponse(res), (err, timedOut) => this.onInviteFailure(err, timedOut)).start();
  }

  private onInviteFailure(err: Error, timedOut: boolean): void {
    if (this.finalResponse !== undefined) return;
    if (timedOut) {
      this.timedOut = true;
      this.finalResponse = createResponse(this.invite, 408, { reason: 'Request Timeout (no response: Timer B)' });
      this.finish({ by: 'local', how: 'timeout', at: Date.now() });
    } else {
      this.error = err;
      this.finish({ by: 'local', how: 'error', at: Date.now() });
    }
  }

  private learnDialog(res: SipResponse): void {
    const to = res.headers.to;
    if (to?.tag === undefined) return;
    this.remoteTag = to.tag;
    this.remote = to;
    const contact = res.headers.contact[0];
    if (contact !== undefined) this.remoteTarget = contact.uri;
    this.routeSet = [...res.headers.recordRoute].reverse(); // a copy: the accessor's array is the parse cache
  }

  private onInviteResponse(res: SipResponse): void {
    if (res.status < 200) {
      if (this.finalResponse !== undefined) return;
      this.provisional.push(res);
      if (res.status > 100 && res.headers.to?.tag !== undefined) {
        this.learnDialog(res);
        this.state = 'early';
      } else if (this.state === 'calling') this.state = 'proceeding';
      if (this.cancelRequested && this.cancelRequest === undefined) this.sendCancel();
      return;
    }
    if (res.status < 300) {
      if (this.ok === undefined) {
        if (this.finalResponse !== undefined) return; // a 2xx after a failure: not for us
        this.ok = res;
        this.finalResponse = res;
        this.learnDialog(res);
        if (isSdp(res)) this.remoteSdp = bodyText(res);
        const o = this.opts ?? { to: this.invite.uri };
        if (o.noAck) return;
        const send = () => this.sendAck2xx();
        if (o.ackAfter !== undefined && o.ackAfter > 0) this.ua._after(o.ackAfter, send);
        else send();
      } else if (this.ack2xx !== undefined) {
        this.ua._fire(this.ua._send(this.ack2xx, this.ackFlow ?? this.dialogFlow(), true));
      }
      return;
    }
    // non-2xx final: the ACK of §17.1.1.3 goes where the INVITE went, again for each retransmission
    const ack = (this.ackFailure ??= createAck(this.invite, res));
    const again = this.finalResponse !== undefined;
    this.ua._fire(this.ua._send(ack, this.flow, again));
    if (again) return;
    this.finalResponse = res;
    const cancelled = this.cancelRequested && res.status === 487;
    this.finish({ by: cancelled ? 'local' : 'remote', how: cancelled ? 'cancel' : 'rejected', message: res, at: Date.now() });
  }

  private ackFlow: Flow | undefined;

  private sendAck2xx(): void {
    if (this.ack2xx !== undefined) return;
    const ok = this.ok as SipResponse;
    let body: Uint8Array | undefined;
    if (this.invite.body.length === 0 && isSdp(ok)) {
      // delayed offer: answer in the ACK
      this.localSdp = this.opts?.ackSdp ?? sdpAnswer(this.ua.name, randomRtpPort(), this.remoteSdp, { host: this.ua.host });
      body = toBuffer(this.localSdp);
    }
    this.ack2xx = createInDialogRequest(this.context('ACK'), 'ACK', {
      via: this.ua.newVia(), cseq: this.inviteSeq, body, contentType: body === undefined ? undefined : 'application/sdp',
    });
    this.acks.push(this.ack2xx);
    this.ackFlow = this.dialogFlow();
    this.state = 'confirmed';
    this.ua._fire(this.ua._send(this.ack2xx, this.ackFlow));
    if (this.cancelRequested) {
      // answered although we cancelled: the call is not wanted (RFC 3261 §15)
      this.ua._fire(this.hangup().then(() => undefined));
      return;
    }
    const after = this.opts?.hangupAfter;
    if (after !== undefined) this.ua._after(after, () => this.ua._fire(this.hangup().then(() => undefined)));
  }

  /**
   * Cancels the INVITE (RFC 3261 §9.1; sent once a provisional response came) and resolves
   * with the INVITE's final response: 487 normally, a 2xx when the answer crossed the CANCEL
   * (then the call is ACKed and hung up).
   */
  override cancel(timeoutMs = this.ua.timeoutMs): Promise<SipResponse> {
    if (this.role !== 'uac') return Promise.reject(new Error(`${this.label}: only the caller can CANCEL; use reject()`));
    if (this.finalResponse === undefined && !this.cancelRequested) {
      this.cancelRequested = true;
      if (this.provisional.length > 0) this.sendCancel();
    }
    return this.wait('outcome', timeoutMs);
  }

  private sendCancel(): void {
    const cancel = createCancel(this.invite);
    this.cancelRequest = cancel;
    new ClientTransaction(this.ua, cancel, this.flow, (res) => {
      if (res.status >= 200) this.cancelResponse = res;
    }).start();
  }

  // ---------------------------------------------------------------- UAS

  /** @internal */
  _startUas(stx: ServerTransaction, script: InviteScript): void {
    this.serverTx = stx;
    stx.call = this;
    this.script = script;
    for (const [m, h] of Object.entries(script.handlers ?? {})) this.onRequest(m, h);
    const run = () => {
      const s = this.script;
      if (s.trying !== false) this.sendProvisional(100);
      if (s.ring !== undefined) this.ua._after(s.ring, () => this.ring({ status: s.ringStatus, sdp: s.ringSdp }));
      if (s.reject !== undefined) {
        const status = s.reject;
        this.ua._after(s.rejectAfter ?? 0, () => this.reject(status, { reason: s.rejectReason, headers: s.headers }));
      } else if (s.answer !== false) {
        this.ua._after(s.answerAfter ?? 0, () => this.answer({ sdp: s.sdp, headers: s.headers }));
      }
    };
    if (script.ignore === true) {
      stx.ignoring = true;
    } else if (script.ignoreFor !== undefined && script.ignoreFor > 0) {
      stx.ignoring = true;
      this.ua._after(script.ignoreFor, () => {
        stx.ignoring = false;
        run();
      });
    } else run();
  }

  private get uasTx(): ServerTransaction {
    if (this.role !== 'uas' || this.serverTx === undefined) throw new Error(`${this.label}: not a received call`);
    return this.serverTx;
  }

  private sendProvisional(status: number, sdp?: string, headers: HeaderList = []): SipResponse {
    const stx = this.uasTx;
    const res = createResponse(this.invite, status, {
      toTag: this.localTag,
      headers: status > 100 ? [['Contact', this.ua._contact], ...headers] : [...headers],
      body: toBuffer(sdp), contentType: sdp === undefined ? undefined : 'application/sdp',
    });
    stx.respond(res);
    this.provisional.push(res);
    if (status > 100) this.state = 'early';
    else if (this.state === 'calling') this.state = 'proceeding';
    return res;
  }

  /** UAS: sends a provisional response (180 by default), unless the call already has its final one. */
  ring(o: { status?: number; sdp?: string; headers?: HeaderList } = {}): SipResponse | undefined {
    if (this.finalResponse !== undefined) return undefined;
    return this.sendProvisional(o.status ?? 180, o.sdp, o.headers);
  }

  /**
   * UAS: answers 200 with Contact and SDP (the script's, or an answer to the offer, or an
   * offer when the INVITE had none), retransmitted over UDP until the ACK (§13.3.1.4).
   */
  answer(o: { sdp?: string; headers?: HeaderList; status?: number } = {}): SipResponse | undefined {
    const stx = this.uasTx;
    if (this.finalResponse !== undefined) return undefined;
    const sdp = o.sdp ?? (this.remoteSdp === undefined
      ? sdpOffer(this.ua.name, randomRtpPort(), { host: this.ua.host })
      : sdpAnswer(this.ua.name, randomRtpPort(), this.remoteSdp, { host: this.ua.host }));
    this.localSdp = sdp;
    const res = createResponse(this.invite, o.status ?? 200, {
      toTag: this.localTag,
      headers: [['Contact', this.ua._contact], ['Allow', ALLOW], ...(o.headers ?? [])],
      body: toBuffer(sdp), contentType: 'application/sdp',
    });
    this.ok = res;
    this.finalResponse = res;
    this.state = 'answered';
    stx.respond(res);
    this.expectAck(this.inviteSeq, res, stx, true);
    return res;
  }

  /** UAS: rejects the call with a final non-2xx (retransmitted over UDP until the ACK). */
  override reject(status: number, o: { reason?: string; headers?: HeaderList } = {}): SipResponse | undefined {
    const stx = this.uasTx;
    if (this.finalResponse !== undefined) return undefined;
    const res = createResponse(this.invite, status, { toTag: this.localTag, reason: o.reason, headers: o.headers });
    this.finalResponse = res;
    stx.respond(res);
    this.finish({ by: 'local', how: 'rejected', message: res, at: Date.now() });
    return res;
  }

  /** @internal A CANCEL of our INVITE server transaction arrived (and got its 200). */
  _onCancel(cancel: SipRequest): void {
    if (this.finalResponse !== undefined) return;
    this.end ??= { by: 'remote', how: 'cancel', message: cancel, at: Date.now() };
    this.reject(487);
  }

  /** @internal The ACK of our non-2xx final response. */
  _onAckOfFailure(ack: SipRequest): void {
    this.acks.push(ack);
  }
}
