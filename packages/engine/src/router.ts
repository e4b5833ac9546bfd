import { createResponse, parseMessage, SipParseError, SipRequest, SipResponse } from '@switchboard/sip';
import { scopeOf, type InboundSip, type SendFailure } from '@switchboard/wire';
import { CallActor } from './call/call-actor.js';
import { answerStray, isStrayAnswer } from './takeover/stray-answers.js';
import { ALLOW, SUPPORTED } from './dialog/capabilities.js';
import { inspectRequest } from './dialog/request-inspection.js';
import type { LegMessage } from './protocol/leg-messages.js';
import type { EngineContext } from './context.js';
import type { Destination } from './protocol/sip-link.js';
import { DestinationTable } from './destination-table.js';
import { cancelTargetKey, serverTransactionKey } from '@switchboard/transactions';
import type { JoinReply, JoinRequest } from './protocol/bridge-messages.js';
import type { BridgedMessage } from './protocol/call-messages.js';
import type { CallMessage } from './protocol/call-messages.js';


/**
 * The worker's front door: each inbound message goes to the actor that owns it — the leg
 * named by the scope in our Via branch (responses) or our tag (in-dialog requests), the leg
 * of the INVITE server transaction (retransmissions, CANCEL), or a new call.
 */
export class InboundRouter {
  draining = false;
  private readonly destinations = new DestinationTable();

  constructor(readonly ctx: EngineContext) {}

  /** `traceparent`: the NATS header's, read by the worker only when tracing is on (a new call's span is its child). */
  onInbound(env: InboundSip, traceparent?: string): void {
    const t = env.transport;
    const from = this.destinations.of(t);
    let msg;
    try {
      // a copy: the envelope's bytes are a view of a NATS read buffer, which a message kept
      // by a transaction (and its body) would otherwise keep alive whole
      msg = parseMessage(Buffer.from(env.sip), { framing: t.protocol === 'udp' ? 'datagram' : 'stream' });
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      this.ctx.log.info({ event: 'dropped', reason: err.reason, callId: env.route.callId }, 'unparseable message dropped');
      return;
    }
    if (msg instanceof SipResponse) {
      const leg = this.legOf(env.route.branch);
      if (leg !== undefined) return leg.tell({ type: 'response', response: msg });
      // a CANCEL shares its INVITE's branch (§9.1): its transaction has a key of its own
      const settled = this.ctx.settled.response(msg.headers.cseq?.method === 'CANCEL' ? `${env.route.branch}|CANCEL` : env.route.branch, msg);
      if (settled === 'absorbed') return;
      // §13.2.2.4: a 2xx to an INVITE of ours whose leg is gone (its worker died, we cancelled it) is ACKed and ended
      const scope = scopeOf(env.route.branch);
      if (scope !== undefined && isStrayAnswer(msg)) return answerStray(this.ctx, scope, msg, from);
      this.ctx.log.info({ event: 'dropped', reason: 'no-leg', callId: env.route.callId, status: msg.status }, 'response for no leg dropped');
      return;
    }
    this.onRequest(msg, from, env.route.toTag, traceparent, env.receivedAt);
  }

  onSendFailure(f: SendFailure): void {
    if (f.ref === undefined) return;
    this.legOf(f.ref.split('|')[0] ?? '')?.tell({ type: 'send-failure', ref: f.ref });
  }

  private onRequest(req: SipRequest, from: Destination, toTag: string, traceparent: string | undefined, receivedAt: number): void {
    if (toTag !== '') {
      const leg = this.legOf(toTag);
      if (leg === undefined) {
        if (!this.ctx.settled.request(serverTransactionKey(req), req, from) && req.method !== 'ACK') this.reply(req, 481, from);
      } else if (!this.refusedOnInspection(req, from)) leg.tell({ type: 'request', request: req, from, receivedAt });
      return;
    }
    switch (req.method) {
      case 'INVITE': {
        const key = serverTransactionKey(req);
        const owner = key === undefined ? undefined : this.ctx.invites.get(key);
        if (owner !== undefined) {
          this.ctx.kernel.find<LegMessage>(owner)?.tell({ type: 'request', request: req, from, receivedAt });
          return;
        }
        // a retransmission of the INVITE of a call that ended (Accepted, Timer L): absorbed, not a new call
        if (this.ctx.settled.request(key, req, from)) return;
        if (this.draining) {
          this.reply(req, 503, from, [['Retry-After', '1']]);
          return;
        }
        if (this.refusedOnInspection(req, from)) return;
        // no slot ready (all being adopted or handed over): as for a draining worker, another takes the retry
        const slot = this.ctx.slots.pickSlot();
        if (slot === undefined) {
          this.reply(req, 503, from, [['Retry-After', '1']]);
          return;
        }
        CallActor.start(this.ctx, req, from, key ?? `${req.headers.callId}|${req.headers.cseq?.seq}`, slot, traceparent);
        return;
      }
      case 'CANCEL': {
        const key = cancelTargetKey(req);
        const owner = key === undefined ? undefined : this.ctx.invites.get(key);
        const leg = owner === undefined ? undefined : this.ctx.kernel.find<LegMessage>(owner);
        if (leg !== undefined) leg.tell({ type: 'request', request: req, from, receivedAt });
        else if (!this.ctx.settled.request(serverTransactionKey(req), req, from)) this.reply(req, 481, from);
        return;
      }
      case 'ACK':
        return; // an ACK matching nothing is dropped (§17.2.3)
    }
    // outside a dialog, only customers and carriers are answered; anyone else learns nothing
    if (!this.ctx.trunking.current.policy.knowsSource(from.address)) {
      this.ctx.counters.add('refused.unknown-source');
      this.reply(req, 403, from);
      return;
    }
    if (this.refusedOnInspection(req, from)) return;
    switch (req.method) {
      case 'OPTIONS':
        // PBXs ping trunks with OPTIONS: answer for the engine (§11.2)
        this.reply(req, 200, from, [['Allow', ALLOW], ['Supported', SUPPORTED], ['Accept', 'application/sdp']]);
        return;
      case 'BYE':
      case 'UPDATE':
      case 'INFO':
      case 'PRACK':
        this.reply(req, 481, from);
        return;
      default:
        this.reply(req, 405, from, [['Allow', ALLOW]]);
    }
  }

  /** Attended transfer: another call (maybe on another worker) asks for the far party of one of our dialogs. */
  onJoin(request: JoinRequest, respond: (reply: JoinReply) => void): void {
    const leg = this.ctx.kernel.find<LegMessage>(`leg-${request.legScope}`);
    if (leg === undefined) respond({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
    else leg.tell({ type: 'join', callId: request.callId, tags: request.tags, master: request.master, replyTo: { id: `join-${request.legScope}`, tell: respond } });
  }

  /** A message between the halves of a call joined across workers. */
  onBridged(call: string, message: BridgedMessage): void {
    this.ctx.kernel.find<CallMessage>(`call-${call}`)?.tell({ type: 'bridged', message });
  }

  private legOf(branchOrTag: string) {
    const scope = scopeOf(branchOrTag);
    return scope === undefined ? undefined : this.ctx.kernel.find<LegMessage>(`leg-${scope}`);
  }

  /**
   * §8.2.1–§8.2.2, for every request but ACK and one retransmitted to its INVITE transaction (its
   * first copy passed): the one place an unknown method, URI scheme or required extension is refused.
   */
  private refusedOnInspection(req: SipRequest, from: Destination): boolean {
    const refusal = inspectRequest(req);
    if (refusal === undefined) return false;
    this.ctx.counters.add(`refused.${refusal.cause}`);
    this.reply(req, refusal.status, from, refusal.headers, refusal.reason);
    return true;
  }

  private reply(req: SipRequest, status: number, to: Destination, headers: [string, string][] = [], reason?: string): void {
    // a stateless answer: no dialog comes of it, so its tag names no slot anyone routes back to
    const opts = { toTag: this.ctx.ids.newTag(), headers, ...(reason === undefined ? {} : { reason }) };
    this.ctx.link.send(createResponse(req, status, opts), to);
  }
}
