import dgram from 'node:dgram';
import net from 'node:net';
import {
  createAck, createCancel, createInDialogRequest, createRequest, createResponse, NameAddr, parseMessage, parseNameAddr,
  parseUri, randomToken, serializeMessage, SipRequest, SipResponse, SipUri, StreamFramer, Via,
  type DialogRequestContext, type HeaderInput, type Param, type SipMessage, type Uri,
} from '@switchboard/sip';
import { bumpSdpVersion, randomRtpPort, sdpAnswer, sdpOffer } from './sdp.js';

/*
 * Scripted SIP user agents on real sockets, to play a PBX or a carrier in end-to-end tests
 * and benchmarks. Each UserAgent listens on one UDP socket or one TCP server, keeps every
 * message it sends or receives in `log`, and runs just enough of RFC 3261 to be a correct
 * peer: client and server transactions with their UDP retransmissions (timers A/B, E/F,
 * G/H, 2xx retransmission until ACK), dialogs with route sets and target refresh, CANCEL,
 * and automatic answers to in-dialog requests.
 */

export type SipTransport = 'udp' | 'tcp';

/** Where to send: a host (IP literal or localhost), a port, and the transport (the UA's own by default). */
export interface Target {
  host: string;
  port: number;
  transport?: SipTransport;
}

export type HeaderPair = readonly [string, HeaderInput];
export type HeaderList = Iterable<HeaderPair>;

/** A message as the UA sent or received it. */
export interface LogEntry {
  dir: 'in' | 'out';
  /** Date.now() when it was written to or read from the socket. */
  at: number;
  message: SipMessage;
  raw: Buffer;
  transport: SipTransport;
  /** The peer: destination of an 'out' entry, source of an 'in' one. */
  remote: { host: string; port: number };
  /**
   * 'out': a retransmission of bytes already sent. 'in': a request that matched a server
   * transaction already under way, or a final response after its transaction's first one.
   */
  retransmission: boolean;
}

/** Selects log entries; every given field must match. */
export interface LogFilter {
  dir?: 'in' | 'out';
  /** Requests of this method (responses never match). */
  method?: string;
  /** Responses with this status, or whose status the function accepts (requests never match). */
  status?: number | ((status: number) => boolean);
  /** The CSeq method: 'INVITE' with `status` picks the responses to INVITE. */
  cseqMethod?: string;
  callId?: string;
  retransmission?: boolean;
}

export type LogMatch = LogFilter | ((e: LogEntry) => boolean);

/** How to answer a request: a status, or a full response. */
export interface ResponseSpec {
  status: number;
  reason?: string;
  headers?: HeaderList;
  body?: string | Uint8Array;
  contentType?: string;
}

/** Decides the answer to a request; undefined falls back to the default behaviour. */
export type RequestHandler = (request: SipRequest, call?: Call) => ResponseSpec | number | undefined;

/** What the UAS side does with an incoming INVITE. Times are in ms from the INVITE's arrival. */
export interface InviteScript {
  /** Send 100 Trying at once (default true). */
  trying?: boolean;
  /** Send a 180 (or `ringStatus`) after this many ms. */
  ring?: number;
  ringStatus?: number;
  /** SDP in the provisional (183 with early media, say). */
  ringSdp?: string;
  /** Answer 200 after this many ms (default 0, unless `reject`, `ignore` or `answer: false`). */
  answerAfter?: number;
  /** false: never answer by itself (ring until cancelled, or until the test calls `call.answer()`). */
  answer?: boolean;
  /** Answer SDP (or the offer of a 200 to an INVITE without SDP); default sdpAnswer() of the offer. */
  sdp?: string;
  /** Extra headers on the 200 (or on the rejection). */
  headers?: HeaderList;
  /** Reject with this final status (486, 503, ...) after `rejectAfter` ms (default 0). */
  reject?: number;
  rejectAfter?: number;
  rejectReason?: string;
  /** No answer at all, ever, not even to CANCEL: a dead peer (lets the far side's Timer B fire). */
  ignore?: boolean;
  /** Like `ignore` for this many ms (retransmissions and CANCEL included), then the rest of the script runs. */
  ignoreFor?: number;
  /** Send BYE this many ms after the ACK. */
  hangupAfter?: number;
  /** Answers to in-dialog requests of this call, by method (see Call.onRequest). */
  handlers?: Record<string, RequestHandler>;
}

export type InviteScriptSource = InviteScript | ((invite: SipRequest) => InviteScript);

export interface UserAgentOptions {
  /** Names the UA in logs and errors; the default user part and SDP session name. */
  name: string;
  transport?: SipTransport;
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** User part of `uri`, `contactUri` and the default From (default `name`). */
  user?: string;
  /** RFC 3261 T1 and T2 (default 500 and 4000 ms); timers B, F, H and the 2xx retransmission give up after 64*T1. */
  t1?: number;
  t2?: number;
  /** Default timeout of every wait (default 10 s). */
  timeoutMs?: number;
  /** Where responses go: the source of the request (default, as with rport) or its top Via (RFC 3261 §18.2.2). */
  respondTo?: 'source' | 'via';
  /**
   * Where in-dialog requests go: 'route' (default) resolves the first Route, else the remote
   * target (Contact), when it is an IP literal; 'fixed' sends them where the dialog's INVITE
   * went (UAC) or came from (UAS). Either falls back to 'fixed' when the URI cannot be resolved.
   */
  dialogNextHop?: 'route' | 'fixed';
  /**
   * false (for benchmarks): keep no `log`, no `calls` list and no queue for `nextCall`, so
   * memory stays flat over many calls; `waitFor` and `nextCall` then reject. Default true.
   */
  keepHistory?: boolean;
}

export interface CallOptions {
  /** Request-URI (and To, unless `toHeader`). */
  to: string | Uri;
  /** Where to send the INVITE (the B2BUA); default: the `to` URI's host and port. */
  via?: Target;
  /** From (URI or name-addr); default `<sip:user@host>`. A tag is added unless present. */
  from?: string | NameAddr;
  toHeader?: string | NameAddr;
  /** The offer; default sdpOffer(name). `false`: no body (a delayed offer, answered in the ACK). */
  sdp?: string | false;
  /** Extra headers, in order, after the mandatory ones. */
  headers?: HeaderList;
  callId?: string;
  cseq?: number;
  /** Delay the ACK of the 2xx by this many ms (2xx retransmissions arrive meanwhile). */
  ackAfter?: number;
  /** Never ACK the 2xx. */
  noAck?: boolean;
  /** SDP for the ACK when the INVITE had none; default sdpAnswer() of the 200's offer. */
  ackSdp?: string;
  /** Send BYE this many ms after the ACK. */
  hangupAfter?: number;
  dialogNextHop?: 'route' | 'fixed';
  /** Answers to in-dialog requests of this call, by method (see Call.onRequest). */
  handlers?: Record<string, RequestHandler>;
}

export interface RequestOptions {
  headers?: HeaderList;
  body?: string | Uint8Array;
  contentType?: string;
  timeoutMs?: number;
}

export interface OutOfDialogOptions extends RequestOptions {
  to: string | Uri;
  via?: Target;
  from?: string | NameAddr;
  callId?: string;
}

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

export type CallEvent = 'ringing' | 'answered' | 'established' | 'failed' | 'outcome' | 'ended';

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY, MESSAGE';
const CRLF_ONLY = /^[\r\n]*$/;
const WITH_CONTACT = new Set(['INVITE', 'UPDATE', 'REFER', 'NOTIFY', 'SUBSCRIBE']);

/** Where a message came from or goes: for TCP, the connection when known. */
interface Flow {
  transport: SipTransport;
  host: string;
  port: number;
  socket?: net.Socket | undefined;
  /** TCP: where to connect when `socket` is closed (a request's Via sent-by, RFC 3261 §18.2.2). */
  alt?: { host: string; port: number } | undefined;
}

interface Waiter {
  check: () => boolean;
  fail: (err: Error) => void;
}

const toBuffer = (b: string | Uint8Array | undefined): Uint8Array | undefined =>
  b === undefined ? undefined : typeof b === 'string' ? Buffer.from(b, 'utf8') : b;

const bodyText = (m: SipMessage): string | undefined => (m.body.length === 0 ? undefined : Buffer.from(m.body).toString('utf8'));

function isSdp(m: SipMessage): boolean {
  if (m.body.length === 0) return false;
  const ct = m.headers.get('content-type');
  return ct === undefined || /application\/sdp/i.test(ct);
}

function bracketHost(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

function uriOf(u: string | Uri): Uri {
  return typeof u === 'string' ? parseUri(u) : u;
}

function nameAddrOf(v: string | NameAddr): NameAddr {
  return typeof v === 'string' ? parseNameAddr(v) : v;
}

/** One line per message: start line, CSeq, Call-ID. */
export function summarize(m: SipMessage): string {
  const cseq = m.headers.get('cseq') ?? '?';
  const callId = m.headers.get('call-id') ?? '?';
  return `${m.startLine}  [CSeq ${cseq}; Call-ID ${callId}]`;
}

function matches(e: LogEntry, f: LogMatch): boolean {
  if (typeof f === 'function') return f(e);
  const m = e.message;
  if (f.dir !== undefined && e.dir !== f.dir) return false;
  if (f.retransmission !== undefined && e.retransmission !== f.retransmission) return false;
  if (f.method !== undefined && (m.kind !== 'request' || m.method !== f.method)) return false;
  if (f.status !== undefined) {
    if (m.kind !== 'response') return false;
    if (typeof f.status === 'number' ? m.status !== f.status : !f.status(m.status)) return false;
  }
  if (f.cseqMethod !== undefined && m.headers.cseq?.method !== f.cseqMethod) return false;
  if (f.callId !== undefined && m.headers.get('call-id') !== f.callId) return false;
  return true;
}

/** A client transaction (RFC 3261 §17.1) with its retransmissions over UDP. */
class ClientTransaction {
  readonly key: string;
  readonly invite: boolean;
  final: SipResponse | undefined;
  provisional: SipResponse | undefined;
  error: Error | undefined;
  private raw: Buffer | undefined;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ua: UserAgent,
    readonly request: SipRequest,
    readonly flow: Flow,
    private readonly onResponse: (res: SipResponse, entry: LogEntry) => void,
    private readonly onFailure?: (err: Error, timedOut: boolean) => void,
  ) {
    this.invite = request.method === 'INVITE';
    this.key = `${request.headers.topVia?.branch ?? ''}|${request.method}`;
  }

  start(): this {
    this.ua._clientTxs.set(this.key, this);
    this.raw = serializeMessage(this.request);
    this.ua._fire(this.ua._send(this.request, this.flow, false, this.raw), (err) => this.fail(err));
    if (this.flow.transport === 'udp') this.scheduleRetransmit(this.ua.t1);
    this.timeoutTimer = this.ua._after(64 * this.ua.t1, () => {
      const what = this.invite ? 'Timer B' : 'Timer F';
      this.fail(new Error(`${this.ua.name}: no ${this.invite ? '' : 'final '}response to ${this.request.method} within 64*T1 (${what})`), true);
    });
    return this;
  }

  private scheduleRetransmit(interval: number): void {
    this.retransmitTimer = this.ua._after(interval, () => {
      if (this.final !== undefined || this.error !== undefined) return;
      if (this.invite && this.provisional !== undefined) return;
      this.ua._fire(this.ua._send(this.request, this.flow, true, this.raw));
      // Timer A doubles without bound; Timer E doubles up to T2, and is T2 once a provisional came
      const next = this.invite ? interval * 2 : this.provisional !== undefined ? this.ua.t2 : Math.min(interval * 2, this.ua.t2);
      this.scheduleRetransmit(next);
    });
  }

  receive(res: SipResponse, entry: LogEntry): void {
    if (this.error !== undefined) return;
    if (res.status < 200) {
      if (this.final !== undefined) return;
      this.provisional = res;
      if (this.invite) this.stopTimers();
    } else if (this.final === undefined) {
      this.final = res;
      this.stopTimers();
      // kept a while to absorb retransmitted final responses (and ACK retransmitted 2xx)
      this.ua._after(64 * this.ua.t1, () => this.ua._clientTxs.delete(this.key));
    } else {
      entry.retransmission = true;
    }
    this.onResponse(res, entry);
  }

  fail(err: Error, timedOut = false): void {
    if (this.final !== undefined || this.error !== undefined) return;
    this.error = err;
    this.stopTimers();
    this.ua._clientTxs.delete(this.key);
    this.onFailure?.(err, timedOut);
  }

  private stopTimers(): void {
    this.ua._clear(this.retransmitTimer);
    this.ua._clear(this.timeoutTimer);
    this.retransmitTimer = this.timeoutTimer = undefined;
  }
}

/** A server transaction (RFC 3261 §17.2): answers retransmitted requests with the last response. */
class ServerTransaction {
  response: SipResponse | undefined;
  raw: Buffer | undefined;
  /** Drop the request's retransmissions (and a CANCEL of it) without a word. */
  ignoring = false;
  acked = false;
  call: Call | undefined;
  readonly flow: Flow;
  private timerG: NodeJS.Timeout | undefined;

  constructor(
    private readonly ua: UserAgent,
    readonly request: SipRequest,
    source: Flow,
    readonly key: string,
  ) {
    this.flow = ua._responseFlow(request, source);
    ua._serverTxs.set(key, this);
    // an INVITE's lives until its final response (a CANCEL must still find it), the others a while
    if (request.method !== 'INVITE') this.expire();
  }

  private expire(): void {
    this.ua._after(64 * this.ua.t1 + 5_000, () => {
      if (this.ua._serverTxs.get(this.key) === this) this.ua._serverTxs.delete(this.key);
    });
  }

  respond(res: SipResponse): Buffer {
    if (this.request.method === 'INVITE' && res.status >= 200 && (this.response === undefined || this.response.status < 200)) this.expire();
    this.response = res;
    this.raw = serializeMessage(res);
    this.ua._fire(this.ua._send(res, this.flow, false, this.raw));
    if (this.request.method === 'INVITE' && res.status >= 300 && this.flow.transport === 'udp') {
      // Timer G: retransmit the final non-2xx until the ACK, Timer H gives up
      const deadline = Date.now() + 64 * this.ua.t1;
      const again = (interval: number) => {
        this.timerG = this.ua._after(interval, () => {
          if (this.acked || Date.now() >= deadline || this.response !== res) return;
          this.ua._fire(this.ua._send(res, this.flow, true, this.raw));
          again(Math.min(interval * 2, this.ua.t2));
        });
      };
      again(this.ua.t1);
    }
    return this.raw;
  }

  /** The request came again: the last response goes again. */
  retransmitted(): void {
    if (this.ignoring || this.response === undefined) return;
    this.ua._fire(this.ua._send(this.response, this.flow, true, this.raw));
  }

  ack(): void {
    this.acked = true;
    this.ua._clear(this.timerG);
  }
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
  private readonly waiters = new Set<Waiter>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly conns = new Map<string, net.Socket>();
  private readonly connecting = new Map<string, Promise<net.Socket>>();
  private readonly sockets = new Set<net.Socket>();
  private readonly answers = new Map<string, RequestHandler>();
  private defaultScript: InviteScriptSource = {};
  private readonly onceScripts: InviteScriptSource[] = [];
  private pokeScheduled = false;
  private stopped = false;
  private _port = 0;
  private udp: dgram.Socket | undefined;
  private server: net.Server | undefined;

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
  }

  /** Binds the socket (UDP) or starts listening (TCP) and returns the running UA. */
  static async start(o: UserAgentOptions): Promise<UserAgent> {
    const ua = new UserAgent(o);
    await ua.listen(o.port ?? 0);
    return ua;
  }

  private async listen(port: number): Promise<void> {
    if (this.transport === 'udp') {
      const socket = dgram.createSocket(net.isIPv6(this.host) ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, this.host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      socket.on('error', (err) => this.errors.push(err));
      socket.on('message', (data, rinfo) => {
        if (CRLF_ONLY.test(data.toString('latin1'))) return; // a keep-alive
        this.onData(data, { transport: 'udp', host: rinfo.address, port: rinfo.port });
      });
      this.udp = socket;
      this._port = socket.address().port;
    } else {
      const server = net.createServer((s) => this.attach(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.errors.push(err));
      this.server = server;
      this._port = (server.address() as net.AddressInfo).port;
    }
  }

  get port(): number {
    return this._port;
  }

  /** Where to reach this UA: `{ host, port, transport }`. */
  get address(): Required<Target> {
    return { host: this.host, port: this.port, transport: this.transport };
  }

  /** `sip:user@host:port` (with `;transport=tcp` over TCP). */
  get uri(): SipUri {
    return new SipUri({
      user: this.user, host: bracketHost(this.host), port: this.port,
      params: this.transport === 'tcp' ? [{ name: 'transport', value: 'tcp' }] : [],
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
    if (!(uri instanceof SipUri)) return undefined;
    let host = uri.host;
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    if (host.toLowerCase() === 'localhost') host = net.isIPv6(this.host) ? '::1' : '127.0.0.1';
    if (net.isIP(host) === 0) return undefined;
    return { transport: this.transport, host, port: uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060) };
  }

  /** @internal Where a response to `req` goes. */
  _responseFlow(req: SipRequest, source: Flow): Flow {
    const via = req.headers.topVia;
    if (via === undefined) return source;
    const sentBy = { host: via.host.startsWith('[') ? via.host.slice(1, -1) : via.host, port: via.port ?? 5060 };
    // over TCP the connection the request came on; when it is gone, a new one to the sent-by
    if (source.transport === 'tcp') return { ...source, alt: sentBy };
    if (this.respondTo === 'source') return source;
    const rport = via.rport;
    let host = via.received ?? sentBy.host;
    if (host.startsWith('[')) host = host.slice(1, -1);
    return { ...source, host, port: typeof rport === 'number' ? rport : sentBy.port };
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
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        check: () => {
          let v: T | undefined;
          try {
            v = check();
          } catch (err) {
            waiter.fail(err instanceof Error ? err : new Error(String(err)));
            return true;
          }
          if (v === undefined) return false;
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(v);
          return true;
        },
        fail: (err) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(err);
        },
      };
      if (waiter.check()) return;
      if (this.stopped) return waiter.fail(new Error(`${this.name}: stopped while waiting for ${what}`));
      timer = setTimeout(() => waiter.fail(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.describe()}`)), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** @internal Re-checks the waiters once the current handler is done. */
  _poke(): void {
    if (this.pokeScheduled) return;
    this.pokeScheduled = true;
    queueMicrotask(() => {
      this.pokeScheduled = false;
      for (const w of [...this.waiters]) w.check();
    });
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
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopped) return;
      try {
        fn();
      } catch (err) {
        this.errors.push(err);
      }
      this._poke();
    }, ms);
    t.unref();
    this.timers.add(t);
    return t;
  }

  /** @internal */
  _clear(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.timers.delete(t);
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
    if (flow.transport === 'udp') {
      const udp = this.udp;
      if (udp === undefined) throw new Error(`${this.name}: no UDP socket`);
      this.logOut(msg, raw, flow, retransmission);
      await new Promise<void>((resolve, reject) => udp.send(raw, flow.port, flow.host, (err) => (err ? reject(err) : resolve())));
      return;
    }
    const socket = flow.socket !== undefined && !flow.socket.destroyed ? flow.socket
      : flow.socket !== undefined && flow.alt !== undefined ? await this.connect(flow.alt.host, flow.alt.port)
      : await this.connect(flow.host, flow.port);
    if (this.stopped) return;
    this.logOut(msg, raw, flow, retransmission);
    await new Promise<void>((resolve, reject) => socket.write(raw, (err) => (err ? reject(err) : resolve())));
  }

  private logOut(message: SipMessage, raw: Buffer, flow: Flow, retransmission: boolean): void {
    this.counts.out++;
    this._poke();
    if (!this.keepHistory) return;
    this.log.push({ dir: 'out', at: Date.now(), message, raw, transport: flow.transport, remote: { host: flow.host, port: flow.port }, retransmission });
  }

  private connect(host: string, port: number): Promise<net.Socket> {
    const key = `${host}:${port}`;
    const open = this.conns.get(key);
    if (open !== undefined && !open.destroyed) return Promise.resolve(open);
    let pending = this.connecting.get(key);
    if (pending === undefined) {
      pending = new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host, port, localAddress: this.host });
        s.once('error', reject);
        s.once('connect', () => {
          s.off('error', reject);
          this.attach(s, key);
          resolve(s);
        });
      }).finally(() => this.connecting.delete(key));
      this.connecting.set(key, pending);
    }
    return pending;
  }

  private attach(s: net.Socket, dialed?: string): void {
    if (this.stopped) {
      s.destroy();
      return;
    }
    const host = s.remoteAddress ?? '?';
    const port = s.remotePort ?? 0;
    const keys = [`${host}:${port}`];
    if (dialed !== undefined) keys.push(dialed);
    for (const k of keys) this.conns.set(k, s);
    this.sockets.add(s);
    s.setNoDelay(true);
    const framer = new StreamFramer();
    const flow: Flow = { transport: 'tcp', host, port, socket: s };
    s.on('data', (chunk: Buffer) => {
      for (const e of framer.push(chunk)) {
        if (e.type === 'message') this.onData(e.data, flow);
        else if (e.type === 'ping') {
          this.pings++;
          s.write('\r\n');
        } else {
          this.unparsed.push({ at: Date.now(), raw: e.head, error: e.error, remote: { host, port } });
          s.destroy();
        }
      }
    });
    s.on('error', (err) => this.errors.push(err));
    s.on('close', () => {
      this.sockets.delete(s);
      for (const k of keys) if (this.conns.get(k) === s) this.conns.delete(k);
    });
  }

  // ---------------------------------------------------------------- receiving

  private onData(data: Buffer, flow: Flow): void {
    if (this.stopped) return;
    let msg: SipMessage;
    try {
      msg = parseMessage(data, { framing: flow.transport === 'tcp' ? 'stream' : 'datagram' });
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
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of [...this.waiters]) w.fail(new Error(`${this.name}: stopped`));
    for (const s of this.sockets) s.destroy();
    const udp = this.udp;
    if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()));
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A call as one UA sees it, placed (role 'uac') or received ('uas'): a dialog and its transactions. */
export class Call {
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
  /** 1xx received (UAC) or sent (UAS), 100 included. */
  readonly provisional: SipResponse[] = [];
  /** The final response to the initial INVITE, received or sent (a local 408 after Timer B). */
  finalResponse: SipResponse | undefined;
  /** No response at all to the INVITE (Timer B). */
  timedOut = false;
  error: Error | undefined;
  end: CallEnd | undefined;
  /** In-dialog requests received (ACKs apart), in order. */
  readonly requests: SipRequest[] = [];
  readonly notifies: SipRequest[] = [];
  readonly refers: SipRequest[] = [];
  /** ACKs received (UAS: of our 2xx and non-2xx) or sent for the 2xx (UAC). */
  readonly acks: SipRequest[] = [];
  /** The CANCEL we sent, and its response. */
  cancelRequest: SipRequest | undefined;
  cancelResponse: SipResponse | undefined;

  private ok: SipResponse | undefined;
  private ack2xx: SipRequest | undefined;
  private ackFailure: SipRequest | undefined;
  private cancelRequested = false;
  private serverTx: ServerTransaction | undefined;
  private script: InviteScript = {};
  private opts: CallOptions | undefined;
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly pending2xx = new Map<number, { timer: NodeJS.Timeout | undefined; initial: boolean }>();
  private readonly inviteSeq: number;

  /** @internal Use UserAgent.call() or UserAgent.nextCall(). */
  constructor(
    readonly ua: UserAgent,
    readonly role: 'uac' | 'uas',
    /** The initial INVITE, as sent or received. */
    readonly invite: SipRequest,
    private readonly flow: Flow,
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
    if (ua.keepHistory) ua.calls.push(this);
    ua._dialogs.set(`${this.callId}|${localTag}`, this);
  }

  get callId(): string {
    return this.invite.headers.get('call-id') ?? '';
  }

  /** Every logged message of this call (by Call-ID). */
  get log(): LogEntry[] {
    return this.ua.entries({ callId: this.callId });
  }

  private get label(): string {
    return `${this.ua.name}: ${this.role === 'uac' ? 'placed' : 'received'} call ${this.callId}`;
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
    this.handlers.set(method.toUpperCase(), typeof handler === 'function' ? handler : () => handler);
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
  cancel(timeoutMs = this.ua.timeoutMs): Promise<SipResponse> {
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
  reject(status: number, o: { reason?: string; headers?: HeaderList } = {}): SipResponse | undefined {
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

  /** Retransmits a 2xx to an INVITE until its ACK (UDP), gives up after 64*T1 with a BYE. */
  private expectAck(seq: number, res: SipResponse, stx: ServerTransaction, initial: boolean): void {
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
  private context(method: string): DialogRequestContext {
    return {
      callId: this.callId, local: this.local, remote: this.remote, remoteTarget: this.remoteTarget,
      routeSet: this.routeSet, contact: WITH_CONTACT.has(method) ? this.ua._contact : undefined,
    };
  }

  /** Where an in-dialog request goes: the first route or the remote target, else the dialog's flow. */
  private dialogFlow(): Flow {
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
    const custom = this.handlers.get(method)?.(req, this);
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

  private finish(end: CallEnd): void {
    this.end ??= end;
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    for (const [, p] of this.pending2xx) this.ua._clear(p.timer);
    this.pending2xx.clear();
    // the dialog lingers to answer stray requests, then goes
    const key = `${this.callId}|${this.localTag}`;
    this.ua._after(64 * this.ua.t1, () => {
      if (this.ua._dialogs.get(key) === this) this.ua._dialogs.delete(key);
    });
  }
}

/** The status line carried by a NOTIFY's message/sipfrag body ('SIP/2.0 200 OK' → 200). */
export function sipfragStatus(notify: SipRequest): number | undefined {
  const m = /^SIP\/2\.0 (\d{3})/.exec(bodyText(notify) ?? '');
  return m === null ? undefined : Number(m[1]);
}

/** True when the NOTIFY ends its subscription (Subscription-State: terminated). */
export function isFinalNotify(notify: SipRequest): boolean {
  return /^\s*terminated/i.test(notify.headers.get('subscription-state') ?? '');
}
