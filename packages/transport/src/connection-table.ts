import type { Socket } from 'node:net';
import { StreamFramer } from '@switchboard/sip';

export interface TcpConnection {
  readonly id: string;
  /** TLS connections are framed as TCP (RFC 3261 §26) but never reused for plain TCP, nor the reverse. */
  readonly protocol: 'tcp' | 'tls';
  readonly socket: Socket;
  readonly framer: StreamFramer;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The socket's last error (`ECONNREFUSED`, ...), to explain a failed send. */
  lastError?: string;
}

const peerKey = (protocol: string, address: string, port: number): string => `${protocol}|${address}|${port}`;

/**
 * Open TCP and TLS connections by id (what workers name in their envelopes) and by peer address,
 * so answers and new requests for a peer reuse its connection (RFC 3261 §18.2.2, §18.1.1).
 */
export class ConnectionTable {
  private readonly byId = new Map<string, TcpConnection>();
  private readonly byPeer = new Map<string, TcpConnection>();
  private next = 0;

  newId(): string {
    return `c${++this.next}`;
  }

  add(c: TcpConnection): void {
    this.byId.set(c.id, c);
    this.byPeer.set(peerKey(c.protocol, c.remoteAddress, c.remotePort), c);
  }

  remove(c: TcpConnection): void {
    this.byId.delete(c.id);
    const key = peerKey(c.protocol, c.remoteAddress, c.remotePort);
    if (this.byPeer.get(key) === c) this.byPeer.delete(key);
  }

  get(id: string): TcpConnection | undefined {
    return this.byId.get(id);
  }

  forPeer(protocol: 'tcp' | 'tls', address: string, port: number): TcpConnection | undefined {
    return this.byPeer.get(peerKey(protocol, address, port));
  }

  get size(): number {
    return this.byId.size;
  }

  all(): IterableIterator<TcpConnection> {
    return this.byId.values();
  }
}
