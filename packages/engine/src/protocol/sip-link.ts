import type { SipMessage } from '@switchboard/sip';
import type { ListenerAddress, Protocol, TlsFiles } from '@switchboard/wire';
import type { CallSpan } from '../tracing/call-tracer.js';

/** Where a message goes: a peer, and the transport node (and its listener) that reaches it. */
export interface Destination {
  protocol: Protocol;
  address: string;
  port: number;
  /** TLS: the name the peer's certificate must carry (the target URI's host, RFC 5922 §4). */
  serverName?: string;
  /** TLS: the peer's own PEM files (its carrier's or trunk's `tls`), over the transport node's defaults. */
  tlsFiles?: TlsFiles;
  /** The TCP connection to reuse, when the peer came to us on one. */
  connectionId?: string;
  /** An in-dialog request's remote target: where to connect when `connectionId`'s connection is gone. */
  fallback?: { address: string; port: number };
  /** The transport node that sends it. */
  nodeId: string;
  /** That node's listener, for our Via sent-by and Contact. */
  localAddress: string;
  localPort: number;
  /** That node's listener of each transport: where a call that came in over one leaves over another. */
  udp?: ListenerAddress;
  tcp?: ListenerAddress;
  tls?: ListenerAddress;
}

/** How actors send SIP: the worker publishes it to the transport node of the destination. */
export interface SipLink {
  /**
   * `ref` comes back in a send failure (the client transaction's branch). `trace`: the span of
   * the traced call sending it (added by `tracedContext`; actors never pass it themselves).
   */
  send(message: SipMessage, to: Destination, ref?: string, trace?: CallSpan): void;
}
