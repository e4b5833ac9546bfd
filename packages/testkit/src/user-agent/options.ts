import type { HeaderInput, NameAddr, SipRequest, SipResponse, Uri } from '@switchboard/sip';

/* What a test gives a UserAgent: its options, the scripts of its calls, the answers to requests. */

/** `tls`: SIP over TLS (RFC 3261 §26), framed as TCP; needs `UserAgentOptions.tls`. */
export type SipTransport = 'udp' | 'tcp' | 'tls';

/** A TLS UA's certificate (PEM), the CA it verifies its peers against, and whether it asks clients for a certificate. */
export interface AgentTls {
  cert: string;
  key: string;
  ca: string;
  /** Ask each client that connects for its certificate (a peer that requires ours: a carrier, a PBX). */
  requestClientCert?: boolean;
  /**
   * With `requestClientCert`: refuse the handshake of a client without a certificate of `ca`
   * (default true, as node's); false accepts it, and `UserAgent.tlsClients()` says it did not verify.
   */
  rejectUnauthorized?: boolean;
}

/** A client that connected to a TLS UA: the CN of the certificate it showed ('' for none) and whether it verified. */
export interface TlsClient {
  cn: string;
  authorized: boolean;
}

/** Where to send: a host (IP literal or localhost), a port, and the transport (the UA's own by default). */
export interface Target {
  host: string;
  port: number;
  transport?: SipTransport;
}

export type HeaderPair = readonly [string, HeaderInput];
export type HeaderList = Iterable<HeaderPair>;

/** How to answer a request: a status, or a full response. */
export interface ResponseSpec {
  status: number;
  reason?: string;
  headers?: HeaderList;
  body?: string | Uint8Array;
  contentType?: string;
  /** In-dialog requests: answer this many ms later (the transaction absorbs retransmissions meanwhile). */
  delayMs?: number;
}

/**
 * The call an in-dialog request came in, as its handler may use it: a Call (call.ts) is one.
 * Declared here rather than imported, so these options stay a leaf that the agent builds on.
 */
export interface HandledCall {
  readonly callId: string;
  readonly role: 'uac' | 'uas';
  readonly invite: SipRequest;
  /** In-dialog requests received (ACKs apart), in order. */
  readonly requests: readonly SipRequest[];
  readonly localSdp: string | undefined;
  readonly remoteSdp: string | undefined;
  request(method: string, o?: RequestOptions): Promise<SipResponse>;
  reinvite(sdp?: string, o?: RequestOptions): Promise<SipResponse>;
  refer(referTo: string | Uri | NameAddr, o?: RequestOptions & { referSub?: boolean; referredBy?: string }): Promise<SipResponse>;
  notify(sipfrag: string, subscriptionState?: string, o?: RequestOptions & { event?: string }): Promise<SipResponse>;
  hangup(o?: RequestOptions): Promise<SipResponse>;
}

/** Decides the answer to a request; undefined falls back to the default behaviour. */
export type RequestHandler = (request: SipRequest, call?: HandledCall) => ResponseSpec | number | undefined;

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
  /** Required with transport `tls`. */
  tls?: AgentTls;
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
