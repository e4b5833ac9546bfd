import dgram from 'node:dgram';
import net from 'node:net';
import { parseMessage, SipParseError, StreamFramer, type SipMessage } from '@switchboard/sip';

export interface Received {
  data: Buffer;
  /** Undefined when the bytes did not parse (kept in `data` for the assertion). */
  message: SipMessage | undefined;
  at: number;
}

/** A queue of received messages that tests consume in order or by predicate. */
class Inbox {
  readonly all: Received[] = [];
  private readonly queue: Received[] = [];
  private readonly waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];

  push(data: Buffer): void {
    let message: SipMessage | undefined;
    try {
      message = parseMessage(data);
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
    }
    const r: Received = { data, message, at: Date.now() };
    this.all.push(r);
    const i = this.waiters.findIndex((w) => w.match(r));
    if (i !== -1) {
      const [w] = this.waiters.splice(i, 1);
      w?.resolve(r);
      return;
    }
    this.queue.push(r);
  }

  /** The next received message `match` accepts, parsed or not, taken out of the queue. */
  next(match: (r: Received) => boolean, timeoutMs: number, who: string): Promise<Received> {
    const i = this.queue.findIndex(match);
    if (i !== -1) return Promise.resolve(this.queue.splice(i, 1)[0] as Received);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (r: Received) => (clearTimeout(timer), resolve(r)) };
      const timer = setTimeout(() => {
        const k = this.waiters.indexOf(waiter);
        if (k !== -1) this.waiters.splice(k, 1);
        const seen = this.all.map((r) => r.data.toString('latin1').split('\r\n')[0]).join(' | ');
        reject(new Error(`${who}: no matching SIP message within ${timeoutMs} ms (received: ${seen || 'nothing'})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

const any = () => true;
const parsed = (match: (m: SipMessage) => boolean) => (r: Received) => r.message !== undefined && match(r.message);

/** A SIP peer on a real UDP socket. */
export class UdpSipClient {
  private readonly inbox = new Inbox();
  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (data) => this.inbox.push(data));
  }

  static open(host = '127.0.0.1'): Promise<UdpSipClient> {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve(new UdpSipClient(socket)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }
  get address(): string {
    return this.socket.address().address;
  }
  get received(): readonly Received[] {
    return this.inbox.all;
  }

  send(data: string | Uint8Array, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, host, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** The next message that parses and that `match` accepts. */
  async next(match: (m: SipMessage) => boolean = any, timeoutMs = 5_000): Promise<SipMessage> {
    return (await this.inbox.next(parsed(match), timeoutMs, `UDP client :${this.port}`)).message as SipMessage;
  }

  /** The next datagram or frame whose bytes `match` accepts, parsed or not (a reply to malformed input may not parse). */
  async nextRaw(match: (data: Buffer) => boolean, timeoutMs = 5_000): Promise<Buffer> {
    return (await this.inbox.next((r) => match(r.data), timeoutMs, `UDP client :${this.port}`)).data;
  }

  close(): void {
    this.socket.close();
  }
}

/** A SIP peer on a real TCP connection, framing what it reads by Content-Length. */
export class TcpSipClient {
  private readonly inbox = new Inbox();
  private readonly framer = new StreamFramer();
  /** Keep-alive pongs (bare CRLFs) received between messages. */
  pongs = 0;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      // a lone CRLF between messages is a pong (RFC 5626 §4.4.1)
      if (chunk.length === 2 && chunk[0] === 13 && chunk[1] === 10 && this.framer.pending === 0) {
        this.pongs++;
        return;
      }
      for (const e of this.framer.push(chunk)) if (e.type === 'message') this.inbox.push(e.data);
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<TcpSipClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TcpSipClient(socket));
      });
    });
  }

  get port(): number {
    return this.socket.localPort ?? 0;
  }
  get received(): readonly Received[] {
    return this.inbox.all;
  }
  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readyState === 'closed';
  }

  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.write(typeof data === 'string' ? Buffer.from(data) : data, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** The next message that parses and that `match` accepts. */
  async next(match: (m: SipMessage) => boolean = any, timeoutMs = 5_000): Promise<SipMessage> {
    return (await this.inbox.next(parsed(match), timeoutMs, `TCP client :${this.port}`)).message as SipMessage;
  }

  /** The next datagram or frame whose bytes `match` accepts, parsed or not (a reply to malformed input may not parse). */
  async nextRaw(match: (data: Buffer) => boolean, timeoutMs = 5_000): Promise<Buffer> {
    return (await this.inbox.next((r) => match(r.data), timeoutMs, `TCP client :${this.port}`)).data;
  }

  close(): void {
    this.socket.destroy();
  }
}
