import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { StreamFramer } from '@switchboard/sip';
import type { Flow } from './flow.js';
import type { AgentTls, SipTransport, TlsClient } from './options.js';

const CRLF_ONLY = /^[\r\n]*$/;

/** What the sockets tell their UA. */
export interface SocketEvents {
  /** A datagram, or a message framed out of a TCP stream. */
  message(data: Buffer, flow: Flow): void;
  /** A CRLFCRLF keep-alive (RFC 5626), answered with CRLF. */
  ping(): void;
  /** A frame the framer could not delimit; its connection is closed. */
  unparsed(raw: Buffer, error: unknown, remote: { host: string; port: number }): void;
  error(err: unknown): void;
  stopped(): boolean;
}

/**
 * A UA's one UDP socket, or its TCP (or TLS) server with the connections it accepted or
 * opened (reused in both directions, RFC 3261 §18). A TLS UA verifies its peers against its CA.
 */
export class AgentSockets {
  private readonly conns = new Map<string, net.Socket>();
  private readonly connecting = new Map<string, Promise<net.Socket>>();
  private readonly sockets = new Set<net.Socket>();
  /** The clients a TLS UA accepted, in order. */
  readonly tlsClients: TlsClient[] = [];
  private udp: dgram.Socket | undefined;
  private server: net.Server | undefined;

  constructor(
    private readonly name: string,
    private readonly transport: SipTransport,
    private readonly host: string,
    private readonly tlsOptions: AgentTls | undefined,
    private readonly events: SocketEvents,
  ) {}

  /** Binds the socket (UDP) or starts listening (TCP); resolves with the port. */
  async listen(port: number): Promise<number> {
    if (this.transport === 'udp') {
      const socket = dgram.createSocket(net.isIPv6(this.host) ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, this.host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      socket.on('error', (err) => this.events.error(err));
      socket.on('message', (data, rinfo) => {
        if (CRLF_ONLY.test(data.toString('latin1'))) return; // a keep-alive
        this.events.message(data, { transport: 'udp', host: rinfo.address, port: rinfo.port });
      });
      this.udp = socket;
      return socket.address().port;
    }
    const o = this.tlsOptions;
    const server = this.transport === 'tls' && o !== undefined
      ? tls.createServer(
        { cert: o.cert, key: o.key, ca: o.ca, requestCert: o.requestClientCert ?? false, rejectUnauthorized: o.rejectUnauthorized ?? true, minVersion: 'TLSv1.2' },
        (s) => {
          this.tlsClients.push({ cn: String(s.getPeerCertificate().subject?.CN ?? ''), authorized: s.authorized });
          this.attach(s);
        },
      )
      : net.createServer((s) => this.attach(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.events.error(err));
    this.server = server;
    return (server.address() as net.AddressInfo).port;
  }

  /**
   * Writes `raw` on `flow`, connecting first over TCP when needed; `onWrite` runs just
   * before the bytes go (not at all when the UA stopped while connecting).
   */
  async send(raw: Buffer, flow: Flow, onWrite: () => void): Promise<void> {
    if (flow.transport === 'udp') {
      const udp = this.udp;
      if (udp === undefined) throw new Error(`${this.name}: no UDP socket`);
      onWrite();
      await new Promise<void>((resolve, reject) => udp.send(raw, flow.port, flow.host, (err) => (err ? reject(err) : resolve())));
      return;
    }
    const socket = flow.socket !== undefined && !flow.socket.destroyed ? flow.socket
      : flow.socket !== undefined && flow.alt !== undefined ? await this.connect(flow.alt.host, flow.alt.port)
      : await this.connect(flow.host, flow.port);
    if (this.events.stopped()) return;
    onWrite();
    await new Promise<void>((resolve, reject) => socket.write(raw, (err) => (err ? reject(err) : resolve())));
  }

  private connect(host: string, port: number): Promise<net.Socket> {
    const key = `${host}:${port}`;
    const open = this.conns.get(key);
    if (open !== undefined && !open.destroyed) return Promise.resolve(open);
    let pending = this.connecting.get(key);
    if (pending === undefined) {
      pending = new Promise<net.Socket>((resolve, reject) => {
        const o = this.tlsOptions;
        const tlsClient = this.transport === 'tls' && o !== undefined;
        const s = tlsClient
          // over a socket of our own: tls.connect has no localAddress, and each UA has its own address
          ? tls.connect({ socket: net.connect({ host, port, localAddress: this.host }), host, cert: o.cert, key: o.key, ca: o.ca, minVersion: 'TLSv1.2' })
          : net.connect({ host, port, localAddress: this.host });
        s.once('error', reject);
        s.once(tlsClient ? 'secureConnect' : 'connect', () => {
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
    if (this.events.stopped()) {
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
    const flow: Flow = { transport: this.transport === 'tls' ? 'tls' : 'tcp', host, port, socket: s };
    s.on('data', (chunk: Buffer) => {
      for (const e of framer.push(chunk)) {
        if (e.type === 'message') this.events.message(e.data, flow);
        else if (e.type === 'ping') {
          this.events.ping();
          s.write('\r\n');
        } else {
          this.events.unparsed(e.head, e.error, { host, port });
          s.destroy();
        }
      }
    });
    s.on('error', (err) => this.events.error(err));
    s.on('close', () => {
      this.sockets.delete(s);
      for (const k of keys) if (this.conns.get(k) === s) this.conns.delete(k);
    });
  }

  /** Closes every TCP/TLS connection, keeping the server: as a peer whose connection dropped (a NAT timeout, a restart). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Closes every connection, the socket and the server. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const udp = this.udp;
    if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()));
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
