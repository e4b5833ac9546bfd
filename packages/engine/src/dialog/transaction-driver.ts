// The driver side of one leg's transactions: the pure machines (@switchboard/transactions) by key,
// the timers they and the leg arm, the 2xx retransmission (§13.3.1.4), and the requests a dialog
// sends on its own (in-dialog requests, the 2xx ACK, stateless answers). It runs what a machine
// asks of its driver (send, arm, disarm) and hands the rest to its subclass, the transaction user
// (RFC 3261 §17: the TU), through the abstract hooks, in the order the machine emitted them.
import { isIP } from 'node:net';
import { createInDialogRequest, createResponse, SipUri, type SipRequest, type SipResponse } from '@switchboard/sip';
import {
  clientTransaction, serverTransaction, serverTransactionKey, Uas2xxRetransmitter,
  type ClientTransaction, type Effect, type ServerTransaction, type TimerName,
} from '@switchboard/transactions';
import type { EngineContext } from '../context.js';
import type { ActorRef } from '../kernel/actor-kernel.js';
import type { Destination } from '../protocol/sip-link.js';
import type { DialogState } from './dialog-state.js';
import type { EarlyInviteSnapshot } from '../takeover/call-snapshot.js';
import { inviteHead } from '../takeover/early-invite.js';
import { contactFor, viaFor } from './leg-requests.js';
import { SettledTransactions } from './settled-transactions.js';
import type { RequestAnswered, RequestToken } from '../protocol/call-messages.js';
import type { LegMessage } from '../protocol/leg-messages.js';
import type { TransactionSnapshot } from '../takeover/call-snapshot.js';

/** How close to its snapshot's CSeq reservation a leg asks for a new snapshot (the reservation is 32 above). */
const CSEQ_MARGIN = 16;
/**
 * How long a request that would cross the reservation of the last snapshot written waits for the
 * next write to land; then it goes anyway (`snapshots.cseq-unreserved`): a dialog does not stall
 * on a slow bucket, and only an adoption in that window could reuse a number.
 */
export const CSEQ_HOLD_MS = 1_000;
/** The hold's bound, one leg timer (`leg|`, beside the transactions' keys). */
const CSEQ_HOLD_TIMER = 'leg|cseq-hold';

interface HeldRequest {
  readonly method: string;
  readonly owner: RequestOwner;
  readonly o: { headers?: [string, string][]; body?: Uint8Array; contentType?: string };
}

/**
 * Whose request a client transaction carries: the leg's own (BYE, CANCEL, a session refresh),
 * or one its call or a transfer asked for — answered to `replyTo` (default: the call) with its token.
 */
export type RequestOwner = 'bye' | 'cancel' | 'session-refresh' | { readonly token: RequestToken; readonly replyTo: ActorRef<RequestAnswered> | undefined };

export interface ClientEntry {
  readonly tx: ClientTransaction;
  /** None for the opening INVITE. */
  readonly owner: RequestOwner | undefined;
  /** Where it goes, when not to the leg's peer (a stray 2xx's BYE: that dialog's first Route or Contact). */
  readonly to: Destination | undefined;
}

/** Where a snapshotted call's legs ask for its next snapshot (the slot adopter's entry of the call: no closure per leg). */
export interface SnapshotRequests {
  due(): void;
}

/** The key the 2xx retransmission runs under, beside the transactions' (a branch never is `2xx`). */
const RETRANSMISSION = '2xx';

export abstract class TransactionDriver {
  self!: ActorRef<LegMessage>;
  /** UAS: the INVITE that created the call, while its transaction runs. */
  protected invite: { key: string; tx: ServerTransaction } | undefined;
  /** UAC: the INVITE that opens the leg, while its transaction runs. */
  protected uacInvite: { branch: string; request: SipRequest } | undefined;
  /** UAC: a provisional arrived, so a CANCEL may be sent (§9.1); until then a hangup only marks it pending. */
  protected provisionalSeen = false;
  // Created on first use and dropped when empty (see `compact`): a call that is up and quiet
  // holds no transaction, so it should hold no table either (measured: ~16 Maps per call).
  private serversTable: Map<string, ServerTransaction> | undefined;
  private clientsTable: Map<string, ClientEntry> | undefined;
  private pendingTable: Map<string, ServerTransaction> | undefined;
  private timersTable: Map<string, NodeJS.Timeout> | undefined;
  private retransmitter: Uas2xxRetransmitter | undefined;
  /** Delayed offer (RFC 3261 §13.2.1): the SDP our ACK to the first INVITE's 2xx carries as the answer. */
  protected ackOffer: { body: Uint8Array; contentType: string | undefined } | undefined;
  /** The CSeq the last snapshot reserved up to (takeover/call-snapshot.ts); none until one is taken. */
  protected cseqReserved = Number.POSITIVE_INFINITY;
  /** Set while the leg's call is snapshotted: where it asks for a new snapshot (a flag, written later). */
  snapshots: SnapshotRequests | undefined;
  /** The reservation of the last snapshot write that landed (or of the adoption's rewrite); none until one lands. */
  private cseqLanded = Number.POSITIVE_INFINITY;
  /** Requests waiting for a write to land before their CSeq crosses the reservation, in order. */
  private held: HeldRequest[] | undefined;

  constructor(
    protected readonly ctx: EngineContext,
    readonly scope: string,
    protected peer: Destination,
    protected readonly dialog: DialogState,
  ) {}

  // ---- what the transaction user hears ------------------------------------------------------

  /** A final or provisional response the client transaction `entry` passed up (§17.1). */
  protected abstract passedUp(entry: ClientEntry, response: SipResponse): void;
  /** Timer B, F or H fired, or the transport failed (§17.1.4, §17.2.4). */
  protected abstract transactionFailed(key: string, why: 'timeout' | 'transport-error'): void;
  /** §13.3.1.4: no ACK for our 2xx within 64*T1. */
  protected abstract ackTimedOut(): void;
  /** The transaction under `key` is gone with its timers. */
  protected abstract transactionEnded(key: string): void;
  /** A held request dropped because its dialog ended before it could go (its owner hears 481). */
  protected heldDropped(_owner: RequestOwner): void {}

  // ---- the tables ------------------------------------------------------------------------------

  protected get servers(): Map<string, ServerTransaction> {
    return (this.serversTable ??= new Map());
  }

  protected get clients(): Map<string, ClientEntry> {
    return (this.clientsTable ??= new Map());
  }

  /** Requests passed to the call, by token, waiting for its answer. */
  protected get pendingAnswers(): Map<string, ServerTransaction> {
    return (this.pendingTable ??= new Map());
  }

  private get timers(): Map<string, NodeJS.Timeout> {
    return (this.timersTable ??= new Map());
  }

  /** No transaction left: an ended leg may stop. */
  protected get idle(): boolean {
    return (this.serversTable?.size ?? 0) === 0 && (this.clientsTable?.size ?? 0) === 0 && this.held === undefined;
  }

  /** Idle once what is left only answers retransmissions: that goes to the worker's settled table (an ended leg's, to stop now). */
  protected settle(): boolean {
    const servers = [...(this.serversTable ?? [])];
    const clients = [...(this.clientsTable ?? [])];
    if (this.held !== undefined || this.retransmitter !== undefined || !SettledTransactions.canTake([...servers.map(([, tx]) => tx), ...clients.map(([, c]) => c.tx)])) return false;
    for (const [key, tx] of servers) this.ctx.settled.server(key, tx);
    for (const [key, { tx, to }] of clients) this.ctx.settled.client(key, tx, to ?? this.peer);
    this.releaseTransactions();
    return true;
  }

  /**
   * §14.1: an INVITE of ours still waiting for its final response (a re-INVITE now is glare); one held for the
   * snapshot write counts, as does a held UPDATE with a body (an offer, RFC 3311 §5.1): both go out after the peer's.
   */
  protected get invitePending(): boolean {
    if (this.held?.some((r) => r.method === 'INVITE' || (r.method === 'UPDATE' && (r.o.body?.length ?? 0) > 0)) === true) return true;
    for (const { tx } of this.clientsTable?.values() ?? []) {
      if (tx.kind === 'invite' && (tx.state === 'Calling' || tx.state === 'Proceeding')) return true;
    }
    return false;
  }

  protected compact(): void {
    if (this.serversTable?.size === 0) this.serversTable = undefined;
    if (this.clientsTable?.size === 0) this.clientsTable = undefined;
    if (this.pendingTable?.size === 0) this.pendingTable = undefined;
    if (this.timersTable?.size === 0) this.timersTable = undefined;
  }

  // ---- transactions in and out ---------------------------------------------------------------

  /** Opens and starts the client transaction that sends `request` to the peer, under `key`. */
  protected startClient(key: string, request: SipRequest, owner?: RequestOwner, to?: Destination): void {
    const tx = clientTransaction(request, { reliable: (to ?? this.peer).protocol !== 'udp', timers: this.ctx.timers });
    // one shape for every entry (no spreads: this runs for every request a leg sends)
    this.clients.set(key, { tx, owner, to });
    this.run(key, tx.handle({ type: 'start' }), to ?? this.requestPeer());
  }

  /** Opens and starts the server transaction of `request`, received from `from`, under `key`. */
  protected startServer(key: string, request: SipRequest, from: Destination): ServerTransaction {
    const tx = serverTransaction(request, { reliable: from.protocol !== 'udp', timers: this.ctx.timers });
    this.servers.set(key, tx);
    this.run(key, tx.handle({ type: 'start' }), from);
    return tx;
  }

  protected respond(key: string, tx: ServerTransaction, response: SipResponse): void {
    this.run(key, tx.handle({ type: 'respond', response }), this.peer);
  }

  /** An early leg's INVITE, as an early record keeps it: the caller's still unanswered, or ours still unanswered by the carrier. */
  protected earlyInvite(): EarlyInviteSnapshot | undefined {
    if (this.dialog.phase !== 'early') return undefined;
    if (this.invite?.tx.state === 'Proceeding') return { head: inviteHead(this.invite.tx.request), provisionalSeen: true };
    if (this.uacInvite !== undefined) return { head: inviteHead(this.uacInvite.request), provisionalSeen: this.provisionalSeen };
    return undefined;
  }

  /**
   * Worker takeover of a ringing call: its INVITE transaction as the dead worker left it
   * (Proceeding), sending nothing, so the leg's hangup ends it as it would have there: the
   * caller's with a final response, ours with a CANCEL (§9.1), a crossing 2xx with ACK and BYE.
   * Returns the caller's INVITE's transaction key (for the worker's index of INVITEs).
   */
  protected resumeInvite(request: SipRequest, provisionalSeen: boolean): string | undefined {
    const reliable = this.peer.protocol !== 'udp';
    if (this.dialog.role === 'uas') {
      const key = serverTransactionKey(request) ?? `${request.headers.callId}|${request.headers.cseq?.seq}`;
      const tx = serverTransaction(request, { reliable, timers: this.ctx.timers }); // not started: no 100 again
      this.servers.set(key, tx);
      this.invite = { key, tx };
      return key;
    }
    const tx = clientTransaction(request, { reliable, timers: this.ctx.timers });
    if (tx.kind === 'invite') tx.resume();
    const branch = request.headers.topVia?.branch ?? '';
    this.clients.set(branch, { tx, owner: undefined, to: undefined });
    this.uacInvite = { branch, request };
    this.provisionalSeen = provisionalSeen;
    // its Timer B died with the worker that sent it: a carrier that never answers ends the leg all the same
    if (!provisionalSeen) this.startLegTimer('cancel-wait', 64 * this.ctx.timers.t1);
    return undefined;
  }

  protected respondStateless(req: SipRequest, status: number, reason: string | undefined, to: Destination, headers: [string, string][] = []): void {
    this.ctx.link.send(createResponse(req, status, { toTag: this.dialog.localTag, reason, headers }), to);
  }

  /** What a snapshot keeps of the transactions running: the peer's requests not answered yet, and ours in the dialog. */
  protected transactionsInProgress(): TransactionSnapshot[] {
    const out: TransactionSnapshot[] = [];
    for (const tx of this.pendingTable?.values() ?? []) out.push({ method: tx.method, cseq: tx.cseq, side: 'inbound' });
    for (const { tx, owner } of this.clientsTable?.values() ?? []) {
      if (owner !== undefined && owner !== 'cancel') out.push({ method: tx.method, cseq: tx.cseq, side: 'outbound' });
    }
    return out;
  }

  /**
   * The highest CSeq a request may take now: an adopter starts above the reservation of the
   * snapshot it finds, so none of ours may go above the one stored (the last that landed; before
   * the first lands, the one being written). None while the call is not snapshotted.
   */
  private get cseqLimit(): number {
    if (this.snapshots === undefined) return Number.POSITIVE_INFINITY;
    return Number.isFinite(this.cseqLanded) ? this.cseqLanded : this.cseqReserved;
  }

  /** A snapshot of this leg reserving CSeqs up to `cseq` is in the bucket: requests held for it go. */
  reservationLanded(cseq: number): void {
    this.cseqLanded = cseq;
    if (!Number.isFinite(this.cseqReserved)) this.cseqReserved = cseq;
    this.sendHeld(false);
  }

  /** §12.2.1.1: a new request in the dialog, with the next CSeq, in a client transaction of its own. */
  protected sendInDialog(method: string, owner: RequestOwner, o: { headers?: [string, string][]; body?: Uint8Array; contentType?: string }): void {
    // RFC 3261 §12.2.2: a number an adopter may take too would be a reuse; a BYE, the dialog's
    // last word, is never held (its call is ending: no write of it is coming), and what was held
    // must not follow it with a higher CSeq (§15): dropped
    if (method === 'BYE') this.dropHeld();
    else if (this.held !== undefined || this.dialog.localCSeq + 1 > this.cseqLimit) return this.hold({ method, owner, o });
    this.transmit(method, owner, o);
  }

  private hold(request: HeldRequest): void {
    this.ctx.counters.add('snapshots.cseq-held');
    (this.held ??= []).push(request);
    this.snapshots?.due();
    // through the mailbox, as every leg timer: what sending throws reaches the actor's crash handling
    if (this.timersTable?.has(CSEQ_HOLD_TIMER) !== true) this.startLegTimer('cseq-hold', CSEQ_HOLD_MS);
  }

  /** The hold's bound is over: what is still held goes, crossing the reservation (counted). */
  protected holdExpired(): void {
    this.sendHeld(true);
  }

  /**
   * The dialog is over (our BYE, the peer's, the leg's end): nothing held may go after it (§15);
   * each request's owner hears 481, as for a request asked of a leg with no dialog.
   */
  protected dropHeld(): void {
    const held = this.held;
    this.held = undefined;
    this.stopLegTimer('cseq-hold');
    for (const r of held ?? []) this.heldDropped(r.owner);
  }

  /** Sends what was held, in order, while it fits under the reservation (`force`: the wait is over, all of it). */
  private sendHeld(force: boolean): void {
    if (this.dialog.phase !== 'confirmed') return this.dropHeld();
    while (this.held !== undefined) {
      if (!force && this.dialog.localCSeq + 1 > this.cseqLimit) {
        this.snapshots?.due();
        return;
      }
      const next = this.held.shift();
      if (this.held.length === 0) {
        this.held = undefined;
        this.stopLegTimer('cseq-hold');
      }
      if (next === undefined) return;
      if (force) this.ctx.counters.add('snapshots.cseq-unreserved');
      this.transmit(next.method, next.owner, next.o);
    }
  }

  private transmit(method: string, owner: RequestOwner, o: { headers?: [string, string][]; body?: Uint8Array; contentType?: string }): void {
    const branch = this.ctx.ids.newBranch(this.scope);
    const request = createInDialogRequest(this.dialog.requestContext(contactFor(this.peer, this.dialog.secure)), method, { via: viaFor(this.peer, branch), cseq: this.dialog.nextCSeq(), ...o });
    this.startClient(branch, request, owner);
    // a transaction starting is worth a snapshot; and RFC 3261 §12.2.2: an adopter must start above
    // every number we used, so the snapshot must be rewritten before we reach its reservation
    if (this.snapshots !== undefined && this.dialog.localCSeq + CSEQ_MARGIN >= this.cseqReserved) this.ctx.counters.add('snapshots.cseq-near-reservation');
    this.snapshots?.due();
  }

  protected sendAck(res: SipResponse): void {
    // §13.2.2.4: the ACK for a 2xx is a new transaction-less request in the dialog, same CSeq number
    const branch = this.ctx.ids.newBranch(this.scope);
    const seq = res.headers.cseq?.seq ?? this.dialog.localCSeq;
    const offer = seq === 1 ? this.ackOffer : undefined;
    const ack = createInDialogRequest(this.dialog.requestContext(contactFor(this.peer, this.dialog.secure)), 'ACK', { via: viaFor(this.peer, branch), cseq: seq, body: offer?.body, contentType: offer?.contentType });
    this.ctx.link.send(ack, this.requestPeer());
  }

  /**
   * Where a request of ours goes: the peer, and for a peer that connected to us over TCP or TLS
   * also its next hop, where the transport connects once the peer's own connection is gone
   * (RFC 5923 reuses a connection only while it lives): the first route when there is a route set
   * (RFC 3261 §12.2.1.1, §8.1.2: the proxy that Record-Routed), else the remote target. Only an IP
   * literal: a name would need DNS. The new connection verifies TLS against that address (no name).
   */
  private requestPeer(): Destination {
    const peer = this.peer;
    if (peer.protocol === 'udp' || peer.connectionId === undefined) return peer;
    const hop = this.dialog.routeSet[0]?.uri ?? this.dialog.remoteTarget;
    if (!(hop instanceof SipUri)) return peer;
    const host = hop.host.startsWith('[') ? hop.host.slice(1, -1) : hop.host;
    if (isIP(host) === 0) return peer;
    const port = hop.port ?? (peer.protocol === 'tls' ? 5061 : 5060);
    return host === peer.address && port === peer.port ? peer : { ...peer, fallback: { address: host, port } };
  }

  /** A response from the wire, to the client transaction it matches (§17.1.3). */
  protected onResponse(res: SipResponse): void {
    const branch = res.headers.topVia?.branch ?? '';
    // a CANCEL shares its INVITE's branch (§9.1): its transaction is kept under its own key
    const key = res.headers.cseq?.method === 'CANCEL' ? `${branch}|CANCEL` : branch;
    const entry = this.clients.get(key);
    if (entry !== undefined) {
      this.run(key, entry.tx.handle({ type: 'response', response: res }), entry.to ?? this.peer);
      // answered (Accepted): too late for a CANCEL, so nothing needs our INVITE any more (nor does its transaction)
      if (this.uacInvite?.branch === key && entry.tx.state === 'Accepted') this.uacInvite = undefined;
    } else if (res.headers.cseq?.method === 'INVITE' && res.status >= 200 && res.status < 300) {
      this.sendAck(res); // a 2xx retransmission after the INVITE transaction is gone: ACK it again (§13.2.2.4)
    }
  }

  /**
   * An ACK for a non-2xx final matches its INVITE transaction by key (§17.2.3); one for a 2xx has
   * its own branch, and goes to the INVITE transaction that sent the 2xx (Accepted). Returns
   * whether it was the ACK for a 2xx we were retransmitting (§13.3.1.4), which stops now.
   */
  protected ackServerTransactions(ack: SipRequest, key: string): boolean {
    const own = this.servers.get(key);
    if (own !== undefined) this.ackTo(key, own, ack);
    else for (const [k, tx] of this.servers) this.ackTo(k, tx, ack);
    const retransmitter = this.retransmitter;
    if (retransmitter === undefined) return false;
    this.retransmitter = undefined;
    this.run(RETRANSMISSION, retransmitter.handle({ type: 'ack' }), this.peer);
    return true;
  }

  private ackTo(key: string, tx: ServerTransaction, ack: SipRequest): void {
    if (tx.kind === 'invite' && (tx.state === 'Completed' || tx.state === 'Accepted')) this.run(key, tx.handle({ type: 'ack', request: ack }), this.peer);
  }

  /** A request its server transaction already has: the transaction answers it again (§17.2.3). */
  protected retransmitted(key: string, req: SipRequest, from: Destination): boolean {
    const tx = this.serversTable?.get(key);
    if (tx !== undefined) this.run(key, tx.handle({ type: 'request', request: req }), from);
    return tx !== undefined;
  }

  /** An ended leg still lets its transactions answer retransmissions, and 481s anything new. */
  protected onRequestAfterEnd(req: SipRequest, from: Destination): void {
    const key = serverTransactionKey(req) ?? '';
    const tx = this.servers.get(key);
    if (tx !== undefined) this.run(key, tx.handle(req.method === 'ACK' ? { type: 'ack', request: req } : { type: 'request', request: req }), from);
    else if (req.method !== 'ACK') this.respondStateless(req, 481, undefined, from);
  }

  /**
   * §13.3.1.4: our 2xx to an INVITE is the UAS core's to retransmit until its ACK; a new 2xx (to a
   * re-INVITE) replaces the last.
   */
  protected retransmit(response: SipResponse): void {
    this.retransmitter?.handle({ type: 'stop' });
    this.retransmitter = new Uas2xxRetransmitter(response, this.ctx.timers);
    this.run(RETRANSMISSION, this.retransmitter.handle({ type: 'start' }), this.peer);
  }

  protected onTimer(key: string, timer: TimerName): void {
    const client = this.clientsTable?.get(key);
    const machine = key === RETRANSMISSION ? this.retransmitter : (this.serversTable?.get(key) ?? client?.tx);
    if (machine !== undefined) this.run(key, machine.handle({ type: 'timer', timer }), client?.to ?? this.peer);
  }

  /** The transport could not deliver what the client transaction `ref` sent (§17.1.4). */
  protected onSendFailure(ref: string): void {
    const entry = this.clientsTable?.get(ref);
    if (entry !== undefined) this.run(ref, entry.tx.handle({ type: 'transport-error' }), entry.to ?? this.peer);
  }

  // ---- the effects --------------------------------------------------------------------------------

  private run(key: string, effects: Effect[], to: Destination): void {
    for (const e of effects) {
      switch (e.type) {
        case 'send':
          this.ctx.link.send(e.message, to, e.message.kind === 'request' ? key : undefined);
          break;
        case 'start-timer': {
          const { timer } = e;
          this.arm(`${key}|${timer}`, e.ms, () => this.self.tell({ type: 'timer', key, timer }));
          break;
        }
        case 'cancel-timer':
          this.disarm(`${key}|${e.timer}`);
          break;
        case 'pass-up': {
          const entry = this.clientsTable?.get(key);
          if (e.message.kind === 'response' && entry !== undefined) this.passedUp(entry, e.message);
          break;
        }
        case 'timeout':
        case 'transport-error':
          this.transactionFailed(key, e.type);
          break;
        case 'ack-timeout':
          this.ackTimedOut();
          break;
        case 'terminated':
          this.forgetTransaction(key);
          break;
      }
    }
  }

  /** Drops the transaction under `key` and every timer it had armed. */
  protected forgetTransaction(key: string): void {
    this.serversTable?.delete(key);
    this.clientsTable?.delete(key);
    for (const [id, t] of this.timersTable ?? []) {
      if (id.startsWith(`${key}|`)) {
        clearTimeout(t);
        this.timersTable?.delete(id);
      }
    }
    this.transactionEnded(key);
    this.compact();
  }

  // ---- timers ---------------------------------------------------------------------------------------

  /** A timer of the leg itself; kept with the transactions' (under `leg|`), so `release` frees them alike. */
  protected startLegTimer(name: 'no-answer' | 'cancel-wait' | 'cseq-hold', ms: number): void {
    // the hold's bound never keeps a process up on its own (as the session timers)
    this.arm(`leg|${name}`, ms, () => this.self.tell({ type: 'leg-timer', name }), name === 'cseq-hold');
  }

  protected stopLegTimer(name: 'no-answer' | 'cancel-wait' | 'cseq-hold'): void {
    this.disarm(`leg|${name}`);
  }

  private arm(id: string, ms: number, fire: () => void, unref = false): void {
    clearTimeout(this.timers.get(id));
    const t = setTimeout(() => {
      this.timersTable?.delete(id);
      fire();
    }, ms);
    if (unref) t.unref();
    this.timers.set(id, t);
  }

  private disarm(id: string): void {
    const t = this.timersTable?.get(id);
    if (t === undefined) return;
    clearTimeout(t);
    this.timersTable?.delete(id);
  }

  /** Frees every timer and transaction (also on a crash). */
  protected releaseTransactions(): void {
    for (const t of this.timersTable?.values() ?? []) clearTimeout(t);
    this.held = undefined;
    this.serversTable = undefined;
    this.clientsTable = undefined;
    this.pendingTable = undefined;
    this.timersTable = undefined;
    this.retransmitter = undefined;
  }
}
