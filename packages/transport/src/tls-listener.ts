import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { plainAddress } from './peer-address.js';
import type { TlsCredentials } from './tls-credentials.js';
import type { TransportCounters } from './transport-counters.js';

/** TLS 1.0 and 1.1 are deprecated (RFC 8996); SIP over TLS peers speak 1.2 at least. */
export const MIN_TLS_VERSION = 'TLSv1.2';

export interface TlsListenerOptions {
  credentials: TlsCredentials;
  /** Ask for a client certificate and refuse the handshake without a verified one. */
  verifyClient: boolean;
  handshakeTimeoutMs: number;
  /** A connection whose handshake succeeded: framed as TCP from here on (RFC 3261 §18.3). */
  onSecure(socket: tls.TLSSocket): void;
  /** Handshakes counted; a failed one (plain TCP on the port, an unverified client, a timeout) logged and its socket closed. */
  counters: TransportCounters['tls'];
  log: Logger;
}

/**
 * A SIP over TLS listener (RFC 3261 §26.2.1). New credentials apply to the handshakes after
 * them (`setSecureContext`); connections already up keep theirs, so a renewal drops no call.
 */
export function createTlsListener(o: TlsListenerOptions): tls.Server {
  const server = tls.createServer(
    {
      ...o.credentials.current,
      minVersion: MIN_TLS_VERSION,
      requestCert: o.verifyClient,
      rejectUnauthorized: o.verifyClient,
      handshakeTimeout: o.handshakeTimeoutMs,
    },
    (socket) => {
      o.counters.handshakes++;
      o.onSecure(socket);
    },
  );
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    o.counters.handshakeFailed++;
    const reason = err.code === undefined ? err.message : `${err.code}: ${err.message}`;
    o.log.info({ event: 'tls-handshake-failed', reason, remote: plainAddress(socket.remoteAddress ?? ''), port: socket.remotePort }, 'TLS handshake failed: connection closed');
    socket.destroy();
  });
  o.credentials.onChange((next) => server.setSecureContext({ ...next, minVersion: MIN_TLS_VERSION }));
  return server;
}
