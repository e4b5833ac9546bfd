import net from 'node:net';
import {
  createRequest, createResponse, NameAddr, parseMessage, parseNameAddr, parseUri, randomToken, serializeMessage,
  SipUri, Via, type Param, type SipMessage, type SipRequest, type SipResponse, type Uri,
} from '@switchboard/sip';
import { randomRtpPort, sdpOffer } from '../sdp.js';
import { toBuffer } from './bodies.js';
import { Call } from './call.js';
import { ClientTransaction } from './client-transaction.js';
import { ALLOW } from './dialog.js';
import { resolveFlow, responseFlow, type Flow } from './flow.js';
import { matches, summarize, type LogEntry, type LogMatch } from './message-log.js';
import type {
  CallOptions, HeaderPair, InviteScriptSource, OutOfDialogOptions, RequestHandler, ResponseSpec, SipTransport, Target,
  TlsClient, UserAgentOptions,
} from './options.js';
import { ServerTransaction } from './server-transaction.js';
import { AgentSockets } from './sockets.js';
import { Waits } from './waits.js';

/*
 * Scripted SIP user agents on real sockets, to play a PBX or a carrier in end-to-end tests
 * and benchmarks. Each UserAgent listens on one UDP socket or one TCP server, keeps every
 * message it sends or receives in `log`, and runs just enough of RFC 3261 to be a correct
 * peer: client and server transactions with their UDP retransmissions (timers A/B, E/F,
 * G/H, 2xx retransmission until ACK), dialogs with route sets and target refresh, CANCEL,
 * and automatic answers to in-dialog requests.
 *
 * This file is the agent: its socket, its scripts, placing calls and dispatching what comes
 * in. Beside it: call.ts (the INVITE of a call, placed or received, and its waits), dialog.ts
 * (requests inside a call), client-transaction.ts and server-transaction.ts (RFC 3261 §17
 * with the UDP retransmissions), sockets.ts (UDP/TCP), flow.ts (where messages go),
 * message-log.ts (the log and its filters), waits.ts (timers and waits), bodies.ts (SDP,
 * sipfrag), options.ts (what a test passes in). Those below the agent see it through the
 * interfaces they declare (TransactionHost in transaction-host.ts, ClientTransactionHost,
 * ServerTransactionHost, DialogHost, CallHost), so none imports this file.
 */

function bracketHost(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

function uriOf(u: string | Uri): Uri {
  return typeof u === 'string' ? parseUri(u) : u;
}

function nameAddrOf(v: string | NameAddr): NameAddr {
  return typeof v === 'string' ? parseNameAddr(v) : v;
}

/** A user agent on one real socket. Create with `UserAgent.start`. */
export class UserAgent {
  readonly name: string;
  readonly transport: SipTransport;
  readonly host: string;
  readonly user: string;
  readonly t1: number;
  readonly t2: number;
  timeoutMs: number;
  readonly respondTo: 'source' | 'via';
  readonly dialogNextHop: 'route' | 'fixed';
  /** Every message sent and received, in order. */
  readonly log: LogEntry[] = [];
  /** Datagrams or frames that did not parse. */
  readonly unparsed: { at: number; raw: Buffer; error: unknown; remote: { host: string; port: number } }[] = [];
  /** Transport errors and errors thrown while handling a message. */
  readonly errors: unknown[] = [];
  /** Every call, placed or received, in order of creation. */
  readonly calls: Call[] = [];
  /** CRLFCRLF keep-alive pings answered (TCP). */
  pings = 0;
  /** Messages received and sent (retransmissions included), counted even without history. */
  readonly counts = { in: 0, out: 0 };
  readonly keepHistory: boolean;
  readonly startedAt = Date.now();

  /** @internal */ readonly _clientTxs = new Map<string, ClientTransaction>();
  /** @internal */ readonly _serverTxs = new Map<string, ServerTransaction>();
  /** @internal */ readonly _dialogs = new Map<string, Call>();
  private readonly incoming: Call[] = [];
  private readonly answers = new Map<string, RequestHandler>();
  private defaultScript: InviteScriptSource = {};
  private readonly onceScripts: InviteScriptSource[] = [];
  private readonly waits: Waits;
  private readonly sockets: AgentSockets;
  private _port = 0;

  private constructor(o: UserAgentOptions) {
    this.name = o.name;
    this.transport = o.transport ?? 'udp';
    this.host = o.host ?? '127.0.0.1';
    this.user = o.user ?? o.name;
    this.t1 = o.t1 ?? 500;
    this.t2 = o.t2 ?? 4_000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.respondTo = o.respondTo ?? 'source';
    this.dialogNextHop = o.dialogNextHop ?? 'route';
    this.keepHistory = o.keepHistory ?? true;
    this.waits = new Waits(this.name, this.errors, () => this.describe());
    if (this.transport === 'tls' && o.tls === undefined) throw new Error(`${this.name}: a TLS UA needs options.tls`);
    this.sockets = new AgentSockets(this.name, this.transport, this.host, o.tls, {
      message: (data, flow) => this.onData(data, flow),
      ping: () => this.pings++,
      unparsed: (raw, error, remote) => this.unparsed.push({ at: Date.now(), raw, error, remote }),
      error: (err) => this.errors.push(err),
      stopped: () => this.stopped,
    });
  }

  /** Binds the socket (UDP) or starts listening (TCP) and returns the running UA. */
  static async start(o: UserAgentOptions): Promise<UserAgent> {
    const ua = new UserAgent(o);
    await ua.listen(o.port ?? 0);
    return ua;
  }

  private async listen(port: number): Promise<void> {
    this._port = await this.sockets.listen(port);
  }

  private get stopped(): boolean {
    return this.waits.stopped;
  }

  get port(): number {
    return this._port;
  }

  /** Closes the UA's TCP/TLS connections (accepted and opened); it keeps listening. */
  dropConnections(): void {
    this.sockets.dropConnections();
  }

  /** The clients a TLS UA accepted (a refused handshake is not one): what certificate each showed. */
  tlsClients(): readonly TlsClient[] {
    return this.sockets.tlsClients;
  }

  /** Where to reach this UA: `{ host, port, transport }`. */
  get address(): Required<Target> {
    return { host: this.host, port: this.port, transport: this.transport };
  }

  /** `sip:user@host:port` (with `;transport=tcp` or `;transport=tls` over a stream). */
  get uri(): SipUri {
    return new SipUri({
      user: this.user, host: bracketHost(this.host), port: this.port,
      params: this.transport === 'udp' ? [] : [{ name: 'transport', value: this.transport }],
    });
  }

  /** The URI this UA puts in Contact (the same as `uri`). */
  get contactUri(): SipUri {
    return this.uri;
  }

  /** @internal */
  get _contact(): NameAddr {
    return new NameAddr(this.contactUri);
  }

  /** A new Via for a request of ours: a fresh z9hG4bK branch, rport over UDP. */
  newVia(): Via {
    const params: Param[] = [{ name: 'branch', value: `z9hG4bK${randomToken(10)}` }];
    if (this.transport === 'udp') params.push({ name: 'rport', value: null });
    return new Via(this.transport.toUpperCase(), bracketHost(this.host), this.port, params);
  }

  // ---------------------------------------------------------------- scripts and handlers

  /** What to do with each INVITE that no `onNextInvite` script claims (default: answer at once). */
  onInvite(script: InviteScriptSource): this {
    this.defaultScript = script;
    return this;
  }

  /** What to do with the next INVITE only (queued: several calls take several scripts in order). */
  onNextInvite(script: InviteScriptSource): this {
    this.onceScripts.push(script);
    return this;
  }

  /** How to answer out-of-dialog requests of `method` (default: 200 to OPTIONS, 501 to the others). */
  answerRequests(method: string, answer: number | ResponseSpec | RequestHandler): this {
    this.answers.set(method.toUpperCase(), typeof answer === 'function' ? answer : () => answer);
    return this;
  }

  /** The next incoming call (received INVITE) not yet returned by nextCall. */
  nextCall(timeoutMs = this.timeoutMs): Promise<Call> {
    if (!this.keepHistory) return Promise.reject(new Error(`${this.name}: nextCall needs keepHistory`));
    return this.until(() => this.incoming.shift(), timeoutMs, 'an incoming call (INVITE)');
  }

  // ---------------------------------------------------------------- UAC

  /** Places a call: sends the INVITE at once and returns the Call. */
  call(o: CallOptions): Call {
    const toUri = uriOf(o.to);
    const flow = this.flowTo(o.via, toUri);
    let from = o.from === undefined ? new NameAddr(new SipUri({ user: this.user, host: bracketHost(this.host) })) : nameAddrOf(o.from);
    const localTag = from.tag ?? randomToken(6);
    from = from.withTag(localTag);
    const to = o.toHeader === undefined ? new NameAddr(toUri) : nameAddrOf(o.toHeader);
    const sdp = o.sdp === false ? undefined : (o.sdp ?? sdpOffer(this.name, randomRtpPort(), { host: this.host }));
    const extra = [...(o.headers ?? [])];
    const headers: HeaderPair[] = extra.some(([n]) => n.toLowerCase() === 'allow') ? [] : [['Allow', ALLOW]];
    headers.push(...extra);
    const invite = createRequest({
      method: 'INVITE', uri: toUri, via: this.newVia(), from, to,
      callId: o.callId ?? `${randomToken(10)}@${bracketHost(this.host)}`,
      cseq: o.cseq ?? 1, contact: this._contact, headers,
      body: toBuffer(sdp), contentType: sdp === undefined ? undefined : 'application/sdp',
    });
    const call = new Call(this, 'uac', invite, flow, localTag, o.dialogNextHop ?? this.dialogNextHop);
    call._startUac(o, sdp);
    return call;
  }

  /** Sends an out-of-dialog request (OPTIONS, MESSAGE, ...) and resolves with its final response. */
  request(method: string, o: OutOfDialogOptions): Promise<SipResponse> {
    const toUri = uriOf(o.to);
    const flow = this.flowTo(o.via, toUri);
    const from = (o.from === undefined ? new NameAddr(new SipUri({ user: this.user, host: bracketHost(this.host) })) : nameAddrOf(o.from));
    const req = createRequest({
      method, uri: toUri, via: this.newVia(), from: from.tag === undefined ? from.withTag(randomToken(6)) : from,
      to: new NameAddr(toUri), callId: o.callId ?? `${randomToken(10)}@${bracketHost(this.host)}`, cseq: 1,
      contact: this._contact, headers: o.headers, body: toBuffer(o.body),
      contentType: o.body === undefined ? undefined : (o.contentType ?? 'text/plain'),
    });
    const tx = new ClientTransaction(this, req, flow, () => undefined).start();
    return this._transaction(tx, o.timeoutMs ?? this.timeoutMs, `the final response to ${method} ${toUri}`);
  }

  private flowTo(via: Target | undefined, uri: Uri): Flow {
    if (via !== undefined) {
      if (via.transport !== undefined && via.transport !== this.transport) {
        throw new Error(`${this.name} is a ${this.transport} UA: it cannot send over ${via.transport}`);
      }
      return { transport: this.transport, host: via.host, port: via.port };
    }
    const f = this._resolve(uri);
    if (f === undefined) throw new Error(`${this.name}: cannot tell where to send to ${uri}: give \`via\``);
    return f;
  }

  /** @internal A flow for a SIP URI whose host is an IP literal (or localhost): RFC 3263 without DNS. */
  _resolve(uri: Uri): Flow | undefined {
    return resolveFlow(uri, this.transport, this.host);
  }

  /** @internal Where a response to `req` goes. */
  _responseFlow(req: SipRequest, source: Flow): Flow {
    return responseFlow(req, source, this.respondTo);
  }

  // ---------------------------------------------------------------- the log

  /** Log entries that match. */
  entries(match: LogMatch = {}): LogEntry[] {
    return this.log.filter((e) => matches(e, match));
  }

  /** Requests of `method` received (retransmissions included), optionally of one Call-ID. */
  received(method: string, callId?: string): SipRequest[] {
    return this.entries({ dir: 'in', method, callId }).map((e) => e.message as SipRequest);
  }

  /** Requests of `method` sent (retransmissions included), optionally of one Call-ID. */
  sent(method: string, callId?: string): SipRequest[] {
    return this.entries({ dir: 'out', method, callId }).map((e) => e.message as SipRequest);
  }

  /** Responses received, optionally by status and CSeq method. */
  receivedResponses(status?: number | ((s: number) => boolean), cseqMethod?: string): SipResponse[] {
    return this.entries({ dir: 'in', status: status ?? (() => true), cseqMethod }).map((e) => e.message as SipResponse);
  }

  /** Responses sent, optionally by status and CSeq method. */
  sentResponses(status?: number | ((s: number) => boolean), cseqMethod?: string): SipResponse[] {
    return this.entries({ dir: 'out', status: status ?? (() => true), cseqMethod }).map((e) => e.message as SipResponse);
  }

  /** The log's length now: pass it as `since` to wait only for what comes after. */
  mark(): number {
    return this.log.length;
  }

  /** The first entry at index `since` or later (already logged or to come) that matches. */
  waitFor(match: LogMatch, timeoutMs = this.timeoutMs, since = 0): Promise<LogEntry> {
    if (!this.keepHistory) return Promise.reject(new Error(`${this.name}: waitFor needs keepHistory`));
    let i = since;
    const what = typeof match === 'function' ? 'a matching message' : `a message matching ${JSON.stringify(match, (_, v: unknown) => (typeof v === 'function' ? '(fn)' : v))}`;
    return this.until(() => {
      for (; i < this.log.length; i++) {
        const e = this.log[i] as LogEntry;
        if (matches(e, match)) return e;
      }
      return undefined;
    }, timeoutMs, what);
  }

  /** The log as text, one message a line, for assertion messages. */
  describe(last = 60): string {
    const shown = this.log.slice(-last);
    const head = `${this.name} (${this.transport} ${this.host}:${this.port}) logged ${this.log.length} messages${this.log.length > shown.length ? `, the last ${shown.length}` : ''}:`;
    const lines = shown.map((e) => {
      const arrow = e.dir === 'in' ? '<-' : '->';
      return `  +${String(e.at - this.startedAt).padStart(5)}ms ${arrow} ${e.remote.host}:${e.remote.port} ${summarize(e.message)}${e.retransmission ? ' (retransmission)' : ''}`;
    });
    if (shown.length === 0) lines.push('  (nothing)');
    if (this.unparsed.length > 0) lines.push(`  and ${this.unparsed.length} unparseable datagrams/frames`);
    if (this.errors.length > 0) lines.push(`  errors: ${this.errors.map(String).join('; ')}`);
    return [head, ...lines].join('\n');
  }

  /**
   * Resolves with the first value `check` returns other than undefined, re-checking after
   * every message and timer; rejects when `check` throws, or after `timeoutMs` with the log.
   */
  until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return this.waits.until(check, timeoutMs, what);
  }

  /** @internal Re-checks the waiters once the current handler is done. */
  _poke(): void {
    this.waits.poke();
  }

  /** @internal The final response of a transaction, or its error, within `timeoutMs`. */
  _transaction(tx: ClientTransaction, timeoutMs: number, what: string): Promise<SipResponse> {
    return this.until(() => {
      if (tx.error !== undefined) throw new Error(`${tx.error.message}\n${this.describe()}`);
      return tx.final;
    }, timeoutMs, what);
  }

  // ---------------------------------------------------------------- timers

  /** @internal A timer cleared by stop(); unref'd (the sockets keep a test alive). */
  _after(ms: number, fn: () => void): NodeJS.Timeout {
    return this.waits.after(ms, fn);
  }

  /** @internal */
  _clear(t: NodeJS.Timeout | undefined): void {
    this.waits.clear(t);
  }

  /** @internal Runs a send in the background: a failure is kept in `errors` (and given to `onError`). */
  _fire(p: Promise<void>, onError?: (err: Error) => void): void {
    p.catch((err: unknown) => {
      this.errors.push(err);
      onError?.(err instanceof Error ? err : new Error(String(err)));
      this._poke();
    });
  }

  // ---------------------------------------------------------------- transport

  /** @internal Sends `msg` (or `raw`, its bytes) on `flow`, logging it when it is written. */
  async _send(msg: SipMessage, flow: Flow, retransmission = false, raw: Buffer = serializeMessage(msg)): Promise<void> {
    if (this.stopped) return;
    await this.sockets.send(raw, flow, () => this.logOut(msg, raw, flow, retransmission));
  }

  private logOut(message: SipMessage, raw: Buffer, flow: Flow, retransmission: boolean): void {
    this.counts.out++;
    this._poke();
    if (!this.keepHistory) return;
    this.log.push({ dir: 'out', at: Date.now(), message, raw, transport: flow.transport, remote: { host: flow.host, port: flow.port }, retransmission });
  }

  // ---------------------------------------------------------------- receiving

  private onData(data: Buffer, flow: Flow): void {
    if (this.stopped) return;
    let msg: SipMessage;
    try {
      msg = parseMessage(data, { framing: flow.transport === 'udp' ? 'datagram' : 'stream' });
    } catch (error) {
      this.unparsed.push({ at: Date.now(), raw: data, error, remote: { host: flow.host, port: flow.port } });
      this._poke();
      return;
    }
    const entry: LogEntry = {
      dir: 'in', at: Date.now(), message: msg, raw: data, transport: flow.transport,
      remote: { host: flow.host, port: flow.port }, retransmission: false,
    };
    this.counts.in++;
    if (this.keepHistory) this.log.push(entry);
    try {
      if (msg.kind === 'response') this.onResponse(msg, entry);
      else this.onRequest(msg, flow, entry);
    } catch (err) {
      this.errors.push(err);
    }
    this._poke();
  }

  private onResponse(res: SipResponse, entry: LogEntry): void {
    const key = `${res.headers.topVia?.branch ?? ''}|${res.headers.cseq?.method ?? ''}`;
    this._clientTxs.get(key)?.receive(res, entry);
  }

  private serverKey(req: SipRequest, method: string): string {
    const via = req.headers.topVia;
    return `${via?.branch ?? ''}|${via?.host ?? ''}:${via?.port ?? ''}|${method}`;
  }

  private onRequest(req: SipRequest, flow: Flow, entry: LogEntry): void {
    if (req.method === 'ACK') {
      // the ACK of a non-2xx final shares the INVITE's branch (§17.1.1.3); that of a 2xx is the dialog's
      const stx = this._serverTxs.get(this.serverKey(req, 'INVITE'));
      if (stx !== undefined && stx.response !== undefined && stx.response.status >= 300) {
        if (stx.acked) entry.retransmission = true;
        stx.ack();
        stx.call?._onAckOfFailure(req);
        return;
      }
      this.dialogOf(req)?._onAck(req, entry);
      return;
    }
    const key = this.serverKey(req, req.method);
    const existing = this._serverTxs.get(key);
    if (existing !== undefined) {
      entry.retransmission = true;
      existing.retransmitted();
      return;
    }
    const stx = new ServerTransaction(this, req, flow, key);
    if (req.method === 'CANCEL') return this.onCancel(req, stx);
    if (req.headers.to?.tag !== undefined) {
      const call = this.dialogOf(req);
      if (call === undefined) stx.respond(createResponse(req, 481));
      else call._onRequest(req, stx);
      return;
    }
    if (req.method === 'INVITE') return this.onNewInvite(req, stx);
    this.onOutOfDialog(req, stx);
  }

  private dialogOf(req: SipRequest): Call | undefined {
    return this._dialogs.get(`${req.headers.callId ?? ''}|${req.headers.to?.tag ?? ''}`);
  }

  private onCancel(cancel: SipRequest, stx: ServerTransaction): void {
    const invite = this._serverTxs.get(this.serverKey(cancel, 'INVITE'));
    if (invite === undefined) {
      stx.respond(createResponse(cancel, 481));
      return;
    }
    if (invite.ignoring) {
      this._serverTxs.delete(stx.key); // dropped: a retransmission is handled afresh
      return;
    }
    stx.respond(createResponse(cancel, 200, { toTag: invite.call?.localTag }));
    invite.call?._onCancel(cancel);
  }

  private onNewInvite(req: SipRequest, stx: ServerTransaction): void {
    const source = this.onceScripts.shift() ?? this.defaultScript;
    const script = typeof source === 'function' ? source(req) : source;
    const call = new Call(this, 'uas', req, stx.flow, randomToken(6), this.dialogNextHop);
    call._startUas(stx, script);
    if (this.keepHistory) this.incoming.push(call);
  }

  private onOutOfDialog(req: SipRequest, stx: ServerTransaction): void {
    const handler = this.answers.get(req.method);
    const answer = handler?.(req) ?? (req.method === 'OPTIONS' ? 200 : 501);
    const spec: ResponseSpec = typeof answer === 'number' ? { status: answer } : answer;
    const headers: HeaderPair[] = [];
    if (req.method === 'OPTIONS' || spec.status === 405 || spec.status === 501) headers.push(['Allow', ALLOW]);
    headers.push(...(spec.headers ?? []));
    stx.respond(createResponse(req, spec.status, {
      reason: spec.reason, headers, body: toBuffer(spec.body),
      contentType: spec.body === undefined ? undefined : (spec.contentType ?? 'text/plain'),
    }));
  }

  /** Closes the socket, every connection and timer; pending waits reject. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.waits.stop();
    await this.sockets.close();
  }
}
