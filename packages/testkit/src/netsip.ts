import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './managed-process.js';
import type { Target } from './user-agent/options.js';

/*
 * An independent SIP stack for interoperability tests: Perl's Net::SIP (Debian package
 * libnet-sip-perl), driven by the small scripts in packages/testkit/perl/. Each script
 * prints one JSON object per line ({"event": ..., "at": ...}); see the scripts' headers.
 */

const PERL_DIR = fileURLToPath(new URL('../perl/', import.meta.url));

/** One line a Net::SIP script printed. */
export interface NetSipEvent {
  event: string;
  at?: string;
  [key: string]: unknown;
}

let available: boolean | undefined;

/** Whether perl can load Net::SIP here. */
export function netSipAvailable(): boolean {
  available ??= spawnSync('perl', ['-MNet::SIP', '-MJSON::PP', '-e', '1'], { stdio: 'ignore' }).status === 0;
  return available;
}

function requireNetSip(): void {
  if (!netSipAvailable()) {
    throw new Error('Perl Net::SIP is not installed: apt-get install -y libnet-sip-perl (the project test command installs it)');
  }
}

/** A running Net::SIP script. */
export class NetSipAgent {
  constructor(
    readonly process: ManagedProcess,
    /** Where its UDP socket listens. */
    readonly host: string,
    readonly port: number,
    readonly user: string,
  ) {}

  /** `sip:user@host:port`: where to call a Net::SIP UAS. */
  get uri(): string {
    return `sip:${this.user}@${this.host}:${this.port}`;
  }

  get address(): Required<Target> {
    return { host: this.host, port: this.port, transport: 'udp' };
  }

  /** Every JSON event printed so far. */
  get events(): NetSipEvent[] {
    return this.process.lines.flatMap((l) => (l.json !== undefined && typeof l.json.event === 'string' ? [l.json as NetSipEvent] : []));
  }

  /** The first `event` printed (already or to come), with its output in the error when it never comes. */
  async waitForEvent(event: string, timeoutMs = 10_000): Promise<NetSipEvent> {
    return (await this.process.waitForEvent(event, timeoutMs)) as NetSipEvent;
  }

  /** Waits for the script to exit by itself (it does once its calls are over). */
  async exited(timeoutMs = 10_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.process.name} did not exit within ${timeoutMs} ms:\n${this.process.output()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.process.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** What it printed, for assertion messages. */
  output(): string {
    return this.process.output();
  }

  stop(): Promise<number | null> {
    return this.process.stop('SIGTERM', 2_000);
  }
}

async function spawnScript(name: string, script: string, args: string[], host: string, user: string): Promise<NetSipAgent> {
  requireNetSip();
  const path = PERL_DIR + script;
  if (!existsSync(path)) throw new Error(`missing Net::SIP script ${path}`);
  const proc = ManagedProcess.spawn(name, 'perl', [path, ...args]);
  let listening: Record<string, unknown>;
  try {
    listening = await proc.waitForEvent('listening', 10_000);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return new NetSipAgent(proc, host, Number(listening.port), user);
}

export interface NetSipUasOptions {
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** User part of its URI (default 'netsip'). */
  user?: string;
  /** Send 180 Ringing and wait this long before the 200 (default: 200 at once). */
  ringMs?: number;
  /** Send BYE this many ms after the ACK (default: wait for the caller's BYE). */
  hangupAfterMs?: number;
  /** Reject every INVITE with this status instead of answering. */
  reject?: number;
  /** Exit once this many calls have ended (default 1). */
  calls?: number;
  /** Exit after this long in any case (default 30 s). */
  maxMs?: number;
}

/**
 * Starts a Net::SIP UAS on UDP that answers INVITEs with 200 and its own SDP. Events:
 * listening, invite {call_id, from, to, contact, sdp}, ringing, rejected {code}, established, bye-received,
 * bye-sent {code}, exit {calls} (timeout first when maxMs ran out).
 */
export function startNetSipUas(o: NetSipUasOptions = {}): Promise<NetSipAgent> {
  const host = o.host ?? '127.0.0.1';
  const user = o.user ?? 'netsip';
  const args = ['--host', host, '--port', String(o.port ?? 0), '--user', user, '--calls', String(o.calls ?? 1), '--max-seconds', String((o.maxMs ?? 30_000) / 1000)];
  if (o.ringMs !== undefined) args.push('--ring-ms', String(o.ringMs));
  if (o.reject !== undefined) args.push('--reject', String(o.reject));
  if (o.hangupAfterMs !== undefined) args.push('--hangup-after', String(o.hangupAfterMs / 1000));
  return spawnScript('netsip-uas', 'netsip-uas.pl', args, host, user);
}

export interface NetSipUacOptions {
  /** Request-URI of the call. */
  to: string;
  /** Send the INVITE here (an outgoing proxy, the B2BUA) instead of to the URI's host. */
  via?: Target;
  host?: string;
  port?: number;
  /** User part of its From and Contact (default 'netsip'). */
  user?: string;
  /** Send BYE this many ms after the answer unless the peer hangs up first (default 1000). */
  hangupAfterMs?: number;
  maxMs?: number;
}

/**
 * Starts a Net::SIP UAC on UDP that places one call, hangs up after `hangupAfterMs` and
 * exits. Events: listening, provisional {code}, final {status: OK|FAIL, code, sdp},
 * bye-received, bye-sent {code}, exit {result} (timeout first when maxMs ran out).
 */
export function startNetSipUac(o: NetSipUacOptions): Promise<NetSipAgent> {
  const host = o.host ?? '127.0.0.1';
  const user = o.user ?? 'netsip';
  const args = [
    '--host', host, '--port', String(o.port ?? 0), '--user', user, '--to', o.to,
    '--hangup-after', String((o.hangupAfterMs ?? 1_000) / 1000), '--max-seconds', String((o.maxMs ?? 30_000) / 1000),
  ];
  if (o.via !== undefined) {
    if (o.via.transport !== undefined && o.via.transport !== 'udp') throw new Error('the Net::SIP UAC speaks UDP only');
    args.push('--proxy', `${o.via.host}:${o.via.port}`);
  }
  return spawnScript('netsip-uac', 'netsip-uac.pl', args, host, user);
}

export interface NetSipTransferorOptions {
  /** Request-URI of the call. */
  to: string;
  /** The REFER's Refer-To URI. */
  referTo: string;
  /** Send the INVITE (and so every request of the dialog) here instead of to the URI's host. */
  via?: Target;
  host?: string;
  port?: number;
  /** User part of its From and Contact (default 'netsip'). */
  user?: string;
  /** Send the REFER this many ms after the answer (default 200). */
  referAfterMs?: number;
  /** Send BYE this many ms after the NOTIFY that ends the subscription (default 200). */
  byeAfterMs?: number;
  maxMs?: number;
}

/**
 * Starts a Net::SIP transferor on UDP (a PBX): it places one call, sends an in-dialog REFER
 * `referAfterMs` after the answer, answers each NOTIFY with 200, hangs up `byeAfterMs` after
 * the NOTIFY with Subscription-State: terminated (RFC 5589 §6) and exits. Events: listening,
 * provisional {code}, final {status: OK|FAIL, code, call_id}, refer-sent {refer_to, cseq},
 * refer-response {code, refer_sub}, notify {cseq, event_header, subscription_state,
 * content_type, status, sipfrag}, bye-received, bye-sent {code}, exit {result}
 * (timeout first when maxMs ran out).
 */
export function startNetSipTransferor(o: NetSipTransferorOptions): Promise<NetSipAgent> {
  const host = o.host ?? '127.0.0.1';
  const user = o.user ?? 'netsip';
  const args = [
    '--host', host, '--port', String(o.port ?? 0), '--user', user, '--to', o.to, '--refer-to', o.referTo,
    '--refer-after', String((o.referAfterMs ?? 200) / 1000), '--bye-after', String((o.byeAfterMs ?? 200) / 1000),
    '--max-seconds', String((o.maxMs ?? 30_000) / 1000),
  ];
  if (o.via !== undefined) {
    if (o.via.transport !== undefined && o.via.transport !== 'udp') throw new Error('the Net::SIP transferor speaks UDP only');
    args.push('--proxy', `${o.via.host}:${o.via.port}`);
  }
  return spawnScript('netsip-transferor', 'netsip-transferor.pl', args, host, user);
}
