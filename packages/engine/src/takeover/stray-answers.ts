// A 2xx to one of our INVITEs that no leg on this worker owns: the INVITE came from a worker that
// died while the call rang (its slot is ours now), from a leg we cancelled or gave up on, or from a
// transfer's ringing leg that is gone. RFC 3261 §13.2.2.4: the UAC core must ACK every 2xx to its
// INVITE and, not wanting the session, end it with a BYE (§15). Without this the far end
// retransmits its 2xx for 32 s and then ends the call itself, or (a carrier) bills a call nobody
// hears. See docs/architecture.md "Worker takeover".
import { isIP } from 'node:net';
import { createInDialogRequest, createResponse, SipUri, type SipRequest, type SipResponse } from '@switchboard/sip';
import type { EngineContext } from '../context.js';
import type { ActorBehaviour } from '../kernel/actor-kernel.js';
import { DialogState } from '../dialog/dialog-state.js';
import { contactFor, viaFor } from '../dialog/leg-requests.js';
import { TransactionDriver, type ClientEntry } from '../dialog/transaction-driver.js';
import type { LegMessage } from '../protocol/leg-messages.js';
import type { Destination } from '../protocol/sip-link.js';

/** RFC 3326: why the far end's answered call is ended at once (Q.850 41: temporary failure, as for a call lost at takeover). */
export const STRAY_ANSWER_REASON = 'Q.850;cause=41;text="answer to a call that no longer exists"';

/** Is `res` a 2xx to an INVITE, the one kind of stray response that asks for something (an ACK and a BYE)? */
export function isStrayAnswer(res: SipResponse): boolean {
  return res.status >= 200 && res.status < 300 && res.headers.cseq?.method === 'INVITE';
}

/**
 * The worker's answer to stray 2xx: one short-lived actor per leg scope (named as the leg would be,
 * `leg-<scope>`, so the responses to its BYE and the far end's 2xx retransmissions find it by our
 * branch). Costs nothing per call: only a stray 2xx makes one.
 */
export function answerStray(ctx: EngineContext, scope: string, res: SipResponse, from: Destination): void {
  const id = `leg-${scope}`;
  let ref = ctx.kernel.find<LegMessage>(id);
  if (ref === undefined) {
    const stray = new StrayAnswer(ctx, scope, from, res);
    ref = stray.self = ctx.kernel.spawn(id, stray);
  }
  ref.tell({ type: 'response', response: res });
}

/** The dialog a 2xx of ours creates, as its UAC (§12.1.2), from the 2xx alone: the INVITE is gone with its leg. */
function dialogOf(res: SipResponse): DialogState {
  const h = res.headers;
  const from = h.from;
  const to = h.to;
  if (from === undefined || to === undefined) throw new Error('a 2xx without From or To');
  const dialog = new DialogState('uac', h.callId ?? '', from, to, from.tag ?? '', to.uri);
  dialog.learnFromResponse(res);
  dialog.localCSeq = h.cseq?.seq ?? 1;
  dialog.confirm();
  return dialog;
}

/**
 * Where the ACK and BYE of a stray 2xx go (RFC 3261 §13.2.2.4, §12.2.1.1, §8.1.2): the first Route
 * of the dialog's route set (loose or strict routing alike), else its remote target (the 2xx's
 * Contact). Only an IP literal is taken: the worker has no resolver (as `requestPeer`), so a host
 * name falls back to the 2xx's source. Over TCP or TLS the connection the 2xx came on is reused,
 * with the target as where to connect once it is gone (as a leg's in-dialog requests).
 */
export function strayDestination(dialog: DialogState, source: Destination): Destination {
  const uri = dialog.routeSet[0]?.uri ?? dialog.remoteTarget;
  if (!(uri instanceof SipUri)) return source;
  const host = uri.host.startsWith('[') ? uri.host.slice(1, -1) : uri.host;
  if (isIP(host) === 0) return source;
  const port = uri.port ?? (uri.scheme === 'sips' || source.protocol === 'tls' ? 5061 : 5060);
  if (host === source.address && port === source.port) return source;
  if (source.protocol !== 'udp' && source.connectionId !== undefined) return { ...source, fallback: { address: host, port } };
  return { ...source, address: host, port };
}

/**
 * Each dialog of the stray INVITE (a forking proxy may answer more than once, §13.2.2.4), by its
 * remote tag: every 2xx is ACKed, the first of each dialog ends it with a BYE. The actor lingers
 * 64*T1 after the last 2xx (the far end's 2xx retransmission window, §13.3.1.4), so a 2xx whose
 * ACK was lost is ACKed again instead of drawing a second BYE.
 */
class StrayAnswer extends TransactionDriver implements ActorBehaviour<LegMessage> {
  private readonly dialogs = new Map<string, DialogState>();
  private lingering = true;

  constructor(ctx: EngineContext, scope: string, private readonly source: Destination, first: SipResponse) {
    super(ctx, scope, source, dialogOf(first));
  }

  receive(m: LegMessage): void {
    switch (m.type) {
      case 'response':
        return isStrayAnswer(m.response) ? this.onAnswer(m.response) : this.onResponse(m.response);
      case 'timer':
        return this.onTimer(m.key, m.timer);
      case 'send-failure':
        return this.onSendFailure(m.ref);
      case 'leg-timer':
        this.lingering = false;
        return this.stopIfDone();
      case 'request':
        return this.onRequest(m.request, m.from);
      case 'send-request':
        return m.replyTo?.tell({ type: 'request-answered', leg: 'a', token: m.token, status: 481, reason: 'Call/Transaction Does Not Exist' });
      case 'join':
        return m.replyTo.tell({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
    }
  }

  crashed(error: unknown): void {
    this.ctx.log.error({ err: error, scope: this.scope }, 'stray answer actor failed');
  }

  stopped(): void {
    this.releaseTransactions();
  }

  private onAnswer(res: SipResponse): void {
    const tag = res.headers.to?.tag ?? '';
    let dialog = this.dialogs.get(tag);
    const first = dialog === undefined;
    if (dialog === undefined) {
      dialog = this.dialogs.size === 0 ? this.dialog : dialogOf(res);
      this.dialogs.set(tag, dialog);
    }
    const d = dialog.requestContext(contactFor(this.peer, dialog.secure));
    const seq = res.headers.cseq?.seq ?? dialog.localCSeq;
    const to = strayDestination(dialog, this.source);
    this.ctx.link.send(createInDialogRequest(d, 'ACK', { via: viaFor(this.peer, this.ctx.ids.newBranch(this.scope)), cseq: seq }), to);
    this.startLegTimer('cancel-wait', 64 * this.ctx.timers.t1);
    if (!first) {
      this.ctx.counters.add('stray-answers.re-acked');
      return;
    }
    this.ctx.counters.add('stray-answers.ended');
    this.ctx.log.info({ event: 'stray-answer', callId: dialog.callId, status: res.status, cseq: seq }, 'a 2xx for no leg of ours: ACKed and ended with BYE');
    // §12.2.1.1: any number above the INVITE's; the one after it, as the dead leg would have sent
    const branch = this.ctx.ids.newBranch(this.scope);
    const bye = createInDialogRequest(d, 'BYE', { via: viaFor(this.peer, branch), cseq: dialog.nextCSeq(), headers: [['Reason', STRAY_ANSWER_REASON]] });
    dialog.terminate();
    this.startClient(branch, bye, 'bye', to); // sent, and retransmitted, where its dialog's ACK went
  }

  /** The far end's BYE crossing ours ends the dialog all the same (200); anything else is for no dialog of ours. */
  private onRequest(req: SipRequest, from: Destination): void {
    if (req.method === 'ACK') return;
    const status = req.method === 'BYE' && this.dialogs.has(req.headers.from?.tag ?? '') ? 200 : 481;
    this.ctx.link.send(createResponse(req, status, { toTag: req.headers.to?.tag ?? this.ctx.ids.newTag(this.scope) }), from);
  }

  protected passedUp(_entry: ClientEntry, _response: SipResponse): void {}

  protected transactionFailed(): void {}

  protected ackTimedOut(): void {}

  protected transactionEnded(): void {
    this.stopIfDone();
  }

  private stopIfDone(): void {
    if (!this.lingering && this.idle) this.ctx.kernel.stop(`leg-${this.scope}`);
  }
}
