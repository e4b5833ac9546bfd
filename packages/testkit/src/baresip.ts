import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMessage, type SipMessage } from '@switchboard/sip';
import { freePort } from './free-port.js';
import { ManagedProcess, type LogLine } from './managed-process.js';
import type { Target } from './user-agent/options.js';

/*
 * A real softphone for interoperability tests: baresip (Debian package baresip, 1.0), with its
 * own configuration directory and no audio device. It is driven through its ctrl_tcp module
 * (netstring-framed JSON commands, answered and followed by JSON events on the same socket)
 * and runs with -s, whose SIP trace on stdout tells what it sent and received.
 */

/** Where Debian puts baresip's modules. */
const MODULE_PATH = '/usr/lib/baresip/modules';

/** An event baresip's ctrl_tcp module sent (ua_event: CALL_ESTABLISHED, CALL_CLOSED, TRANSFER_FAILED…). */
export interface BaresipEvent {
  type: string;
  /** The account the event is about (its AoR). */
  accountaor?: string;
  direction?: 'incoming' | 'outgoing';
  peeruri?: string;
  /** The call's id: its Call-ID. */
  id?: string;
  /** Free text: the reason of a CALL_CLOSED, the status of a TRANSFER_FAILED… */
  param?: string;
}

/** A SIP message from baresip's trace, as it went over the wire. */
export interface BaresipSip {
  dir: 'in' | 'out';
  /** `host:port` of the other end. */
  peer: string;
  message: SipMessage;
}

let available: boolean | undefined;

/** Whether baresip and its ctrl_tcp module are installed here. */
export function baresipAvailable(): boolean {
  available ??= spawnSync('baresip', ['-h'], { stdio: 'ignore' }).error === undefined && existsSync(`${MODULE_PATH}/ctrl_tcp.so`);
  return available;
}

/** Netstring frames (`<length>:<bytes>,`) out of a byte stream, as ctrl_tcp writes them. */
export class NetstringReader {
  private buffer = Buffer.alloc(0);

  /** The payloads completed by `chunk`; throws on a malformed frame. */
  push(chunk: Buffer): string[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const out: string[] = [];
    for (;;) {
      const colon = this.buffer.indexOf(0x3a);
      if (colon < 0) break;
      const header = this.buffer.subarray(0, colon).toString('latin1');
      if (!/^\d{1,9}$/.test(header)) throw new Error(`bad netstring length '${header}'`);
      const end = colon + 1 + Number(header);
      if (this.buffer.length <= end) break;
      if (this.buffer[end] !== 0x2c) throw new Error('netstring without its trailing comma');
      out.push(this.buffer.subarray(colon + 1, end).toString('utf8'));
      this.buffer = this.buffer.subarray(end + 1);
    }
    return out;
  }
}

export const netstring = (payload: string): string => `${Buffer.byteLength(payload)}:${payload},`;

// libre's trace prints each message as ESC[36;1m "#", "<PROTO> <src> -> <dst>", the message, ESC[;m.
const TRACE_START = /\x1b\[36;1m#$/;
const TRACE_ADDRESSES = /^(?:UDP|TCP|TLS) (\S+) -> (\S+)$/;
const TRACE_END = '\x1b[;m';

/**
 * The SIP messages in baresip's -s trace. `self` is its own `host:port`, which tells sent from
 * received. Line breaks are those of the wire (CRLF) before the output was split into lines.
 */
export function parseSipTrace(lines: readonly string[], self: string): BaresipSip[] {
  const out: BaresipSip[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!TRACE_START.test(lines[i] ?? '')) continue;
    const addresses = TRACE_ADDRESSES.exec(lines[i + 1] ?? '');
    if (addresses === null) continue;
    const body: string[] = [];
    let j = i + 2;
    let closedOnItsOwnLine = false;
    for (; j < lines.length; j++) {
      const line = lines[j] ?? '';
      const end = line.indexOf(TRACE_END);
      if (end < 0) {
        body.push(line);
        continue;
      }
      if (end > 0) body.push(line.slice(0, end));
      else closedOnItsOwnLine = true;
      break;
    }
    if (j >= lines.length) break; // still being printed
    i = j;
    const text = body.join('\r\n') + (closedOnItsOwnLine ? '\r\n' : '');
    let message: SipMessage;
    try {
      message = parseMessage(Buffer.from(text, 'utf8'), { framing: 'datagram' });
    } catch {
      continue;
    }
    const [, src = '', dst = ''] = addresses;
    out.push(src === self ? { dir: 'out', peer: dst, message } : { dir: 'in', peer: src, message });
  }
  return out;
}

/**
 * A port on `host` free for SIP over both UDP and TCP (baresip listens on both), and another one
 * for its control connection. The SIP port's sockets stay bound while the control port is
 * chosen: a UDP port just let go can come back as the next TCP one (seen in CI: baresip then
 * failed to bind its SIP TCP socket on its own control port).
 */
async function freeSipAndControlPorts(host: string): Promise<{ sip: number; control: number }> {
  for (let attempt = 0; ; attempt++) {
    const tcp = net.createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, host, resolve);
    });
    const { port } = tcp.address() as net.AddressInfo;
    const udp = dgram.createSocket('udp4');
    const udpBound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, host, () => resolve(true));
    });
    try {
      if (udpBound) return { sip: port, control: await freePort() };
      if (attempt >= 20) throw new Error(`no port on ${host} free for both UDP and TCP after ${attempt + 1} tries`);
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      if (udpBound) await new Promise<void>((resolve) => udp.close(() => resolve()));
      else udp.unref();
    }
  }
}

/** baresip could not bind one of its sockets: another process took the port first. */
class PortTakenError extends Error {}

interface Pending {
  resolve: (data: string) => void;
  reject: (err: Error) => void;
}

/** A running baresip and its control connection. */
export class Baresip {
  readonly events: BaresipEvent[] = [];
  private readonly waiters = new Set<{ match: (e: BaresipEvent) => boolean; resolve: (e: BaresipEvent) => void }>();
  private readonly pending = new Map<string, Pending>();
  private nextToken = 1;

  private constructor(
    readonly process: ManagedProcess,
    private readonly control: net.Socket,
    private readonly configDir: string,
    /** Where its SIP UDP socket listens. */
    readonly host: string,
    readonly port: number,
    /** The user parts of its accounts; the first places the calls. */
    readonly users: readonly string[],
  ) {
    const reader = new NetstringReader();
    control.on('data', (chunk: Buffer) => {
      for (const payload of reader.push(chunk)) this.onControl(JSON.parse(payload) as Record<string, unknown>);
    });
    // a reset connection ends in 'close' too, where pending commands fail
    control.on('error', () => undefined);
    control.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error(`baresip's control connection closed:\n${this.output()}`));
      this.pending.clear();
    });
  }

  static async start(o: BaresipOptions = {}): Promise<Baresip> {
    if (!baresipAvailable()) {
      throw new Error('baresip is not installed: apt-get install -y baresip (the project test command installs it)');
    }
    // baresip binds more than the ports chosen here (its SIP/TLS socket takes the SIP port + 1),
    // so another process can take one of them in between (seen in CI): start again on new ports
    for (let attempt = 1; ; attempt++) {
      try {
        return await Baresip.startOnce(o);
      } catch (err) {
        const portTaken = err instanceof PortTakenError;
        if (!portTaken || attempt >= 5 || (o.port !== undefined && o.port !== 0)) throw err;
      }
    }
  }

  private static async startOnce(o: BaresipOptions): Promise<Baresip> {
    const host = o.host ?? '127.0.0.1';
    const ports = o.port === undefined || o.port === 0 ? await freeSipAndControlPorts(host) : { sip: o.port, control: await freePort() };
    const port = ports.sip;
    const users = o.users ?? ['baresip'];
    const controlPort = ports.control;
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-baresip-'));
    writeFileSync(join(dir, 'config'), configText(host, port, controlPort));
    writeFileSync(join(dir, 'accounts'), users.map((u) => accountLine(u, host, o)).join('\n') + '\n');
    // -t: baresip quits by itself after that long, whatever happens to this process
    const seconds = Math.ceil((o.maxMs ?? 60_000) / 1000);
    const proc = ManagedProcess.spawn('baresip', 'baresip', ['-f', dir, '-s', '-t', String(seconds)]);
    let control: net.Socket;
    try {
      await Promise.race([
        proc.waitFor((l) => l.text.includes('baresip is ready.'), 10_000),
        proc.exited.then((code) => {
          const message = `baresip exited (${code}) before it was ready:\n${proc.output()}`;
          throw proc.output().includes('Address already in use') ? new PortTakenError(message) : new Error(message);
        }),
      ]);
      control = await connectControl(controlPort);
    } catch (err) {
      await proc.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new Baresip(proc, control, dir, host, port, users);
  }

  /** `host:port` of its SIP socket, as its trace prints it. */
  get self(): string {
    return `${this.host}:${this.port}`;
  }

  /** `sip:user@host:port` of one of its accounts (the first by default). */
  uri(user = this.users[0] ?? ''): string {
    return `sip:${user}@${this.self}`;
  }

  get address(): Required<Target> {
    return { host: this.host, port: this.port, transport: 'udp' };
  }

  /** Runs one of its commands (menu's long names: dial, accept, hangup, transfer, …); resolves with its output. */
  command(command: string, params = '', timeoutMs = 5_000): Promise<string> {
    const token = String(this.nextToken++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip: no answer to '${command}' within ${timeoutMs} ms\n${this.output()}`));
      }, timeoutMs);
      this.pending.set(token, {
        resolve: (data) => (clearTimeout(timer), resolve(data)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      this.control.write(netstring(JSON.stringify({ command, params, token })));
    });
  }

  /** Places a call from its first account (through its outbound proxy when it has one). */
  dial(uri: string): Promise<string> {
    return this.command('dial', uri);
  }

  /** Hangs up its current call. */
  hangup(): Promise<string> {
    return this.command('hangup');
  }

  /** Blind transfer of its current call: REFER with Refer-To `uri` (RFC 3515). */
  transfer(uri: string): Promise<string> {
    return this.command('transfer', uri);
  }

  /** How many events it sent so far: a `since` for waitForEvent. */
  mark(): number {
    return this.events.length;
  }

  /** The first event of `type` from index `since` on that `match` accepts, already sent or to come. */
  waitForEvent(type: string, o: { since?: number; match?: (e: BaresipEvent) => boolean; timeoutMs?: number } = {}): Promise<BaresipEvent> {
    const since = o.since ?? 0;
    const accept = (e: BaresipEvent) => e.type === type && (o.match?.(e) ?? true);
    const seen = this.events.slice(since).find(accept);
    if (seen !== undefined) return Promise.resolve(seen);
    const timeoutMs = o.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const waiter = { match: accept, resolve: (e: BaresipEvent) => (clearTimeout(timer), resolve(e)) };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`baresip: no ${type} event within ${timeoutMs} ms. Events: ${this.events.map((e) => e.type).join(' ')}\n${this.output()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Every SIP message it sent or received so far. */
  get sip(): BaresipSip[] {
    return parseSipTrace(this.process.lines.map((l) => l.text), this.self);
  }

  /** The first traced SIP message that `match` accepts, already printed or to come. */
  async waitForSip(match: (m: BaresipSip) => boolean, timeoutMs = 10_000): Promise<BaresipSip> {
    const find = () => this.sip.find(match);
    const seen = find();
    if (seen !== undefined) return seen;
    // a message is whole once its trace's end marker is printed
    let found: BaresipSip | undefined;
    await this.process.waitFor((l: LogLine) => l.text.includes(TRACE_END) && (found = find()) !== undefined, timeoutMs);
    if (found === undefined) throw new Error('unreachable: waitFor resolved without a match');
    return found;
  }

  /** What it printed, for assertion messages. */
  output(last = 80): string {
    return this.process.output(last).replaceAll(/\x1b\[[0-9;]*m/g, '');
  }

  /** Asks it to quit, and kills it when it does not within `graceMs`. */
  async stop(graceMs = 2_000): Promise<number | null> {
    if (this.process.running && !this.control.destroyed) {
      this.control.write(netstring(JSON.stringify({ command: 'quit', params: '', token: 'quit' })));
    }
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.process.exited,
      new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), graceMs); }),
    ]);
    clearTimeout(timer);
    const exit = this.process.running ? await this.process.stop('SIGKILL') : code;
    this.control.destroy();
    rmSync(this.configDir, { recursive: true, force: true });
    return exit;
  }

  private onControl(json: Record<string, unknown>): void {
    if (json.response === true) {
      const pending = this.pending.get(String(json.token));
      if (pending === undefined) return;
      this.pending.delete(String(json.token));
      const data = typeof json.data === 'string' ? json.data : '';
      if (json.ok === true) pending.resolve(data);
      else pending.reject(new Error(`baresip: command failed: ${data}\n${this.output()}`));
      return;
    }
    if (json.event !== true || typeof json.type !== 'string') return;
    const event: BaresipEvent = { type: json.type };
    for (const key of ['accountaor', 'peeruri', 'id', 'param'] as const) {
      const value = json[key];
      if (typeof value === 'string') event[key] = value;
    }
    if (json.direction === 'incoming' || json.direction === 'outgoing') event.direction = json.direction;
    this.events.push(event);
    for (const w of this.waiters) {
      if (w.match(event)) {
        this.waiters.delete(w);
        w.resolve(event);
      }
    }
  }
}

export interface BaresipOptions {
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /**
   * One account per user part (default ['baresip']): baresip takes an incoming INVITE only for
   * an account whose user is the Request-URI's; the first account places the calls.
   */
  users?: readonly string[];
  /** Send every out-of-dialog request here (the account's outbound proxy). */
  outboundProxy?: Target;
  /** 'auto' (default): answer every incoming call at once. */
  answer?: 'auto' | 'manual';
  /** baresip quits by itself after this long (default 60 s). */
  maxMs?: number;
}

/** Starts baresip on UDP with one account per user and its control socket connected. */
export function startBaresip(o: BaresipOptions = {}): Promise<Baresip> {
  return Baresip.start(o);
}

function configText(host: string, port: number, controlPort: number): string {
  // No audio source or player module is loaded, so no device is opened: the calls carry G.711
  // SDP, and audio stays silent. menu provides the commands that ctrl_tcp runs.
  return [
    'poll_method epoll',
    `sip_listen ${host}:${port}`,
    'sip_trans_def udp',
    `module_path ${MODULE_PATH}`,
    'module g711.so',
    'module_app account.so',
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${controlPort}`,
    'statmode_default off',
    '',
  ].join('\n');
}

function accountLine(user: string, host: string, o: BaresipOptions): string {
  const proxy = o.outboundProxy === undefined ? '' : `;outbound="sip:${o.outboundProxy.host}:${o.outboundProxy.port}"`;
  return `<sip:${user}@${host}>;regint=0;answermode=${o.answer ?? 'auto'}${proxy}`;
}

/** ctrl_tcp listens once baresip is ready; a refused connection is retried for a while. */
async function connectControl(port: number, timeoutMs = 5_000): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => { socket.off('error', reject); resolve(socket); });
        socket.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
