import net from 'node:net';
import tls from 'node:tls';
import type { TlsCredentials } from './tls-credentials.js';
import { MIN_TLS_VERSION } from './tls-listener.js';

/** Where a new outbound stream goes. */
export interface StreamPeer {
  protocol: 'tcp' | 'tls';
  address: string;
  port: number;
  /** TLS: the name the certificate must carry, sent as SNI; absent, the address is checked. */
  serverName?: string | undefined;
}

/**
 * Opens a TCP or TLS connection to `peer`. Over TLS the server's certificate is verified against
 * `client`'s CAs (the system's without) and `serverName` (RFC 5922 §7.2: the domain we meant to
 * reach); a certificate that fails is a handshake error, so the write that asked for it fails.
 * The connect timeout runs until the connection is usable, TLS handshake included.
 */
export function dialStream(peer: StreamPeer, client: TlsCredentials | undefined, connectTimeoutMs: number): net.Socket {
  let socket: net.Socket;
  let ready: string;
  if (peer.protocol === 'tls') {
    const identity = peer.serverName ?? peer.address;
    socket = tls.connect({
      ...client?.current,
      host: peer.address,
      port: peer.port,
      // RFC 6066 §3: SNI carries host names only, never an address literal
      ...(net.isIP(identity) === 0 ? { servername: identity } : {}),
      minVersion: MIN_TLS_VERSION,
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(identity, cert),
    });
    ready = 'secureConnect';
  } else {
    socket = net.connect({ host: peer.address, port: peer.port });
    ready = 'connect';
  }
  const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), connectTimeoutMs);
  socket.once(ready, () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
  return socket;
}

/**
 * Calls `done` once: true when a new connection is usable (TLS: its handshake done), false when
 * it closed first. A write is held until then: node calls back a write held for a TLS handshake
 * as written even when the handshake then fails (a refused certificate), which would hide the
 * failure from the worker waiting to fail over.
 */
export function onceUsable(socket: net.Socket, protocol: 'tcp' | 'tls', done: (usable: boolean) => void): void {
  const ready = protocol === 'tls' ? 'secureConnect' : 'connect';
  const onReady = () => {
    socket.off('close', onClose);
    done(true);
  };
  const onClose = () => {
    socket.off(ready, onReady);
    done(false);
  };
  socket.once(ready, onReady);
  socket.once('close', onClose);
}
