// SIPp (Debian package sip-tester, binary sipp) as an external load generator for benchmarks:
// finding it, starting the long-lived carrier (UAS), running one PBX (UAC) load step, and
// reading what it leaves behind. A bench dependency only: the test command does not install it.
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManagedProcess } from '@switchboard/testkit';
import { repoRoot } from './paths.js';
import { udpSocketDrops } from './proc-stats.js';

export const SIPP_INSTALL_COMMAND = 'sudo apt-get install sip-tester';
export const SIPP_SCENARIOS = join(repoRoot, 'test/bench/sipp');

/** `SIPp v3.6.1-…` as `sipp -v` prints it, or undefined when sipp is not on the PATH. */
export function sippVersion(): string | undefined {
  const run = spawnSync('sipp', ['-v'], { encoding: 'utf8' });
  if (run.error !== undefined) return undefined;
  return /SIPp v\S+/.exec(`${run.stdout}${run.stderr}`)?.[0].replace(/\.$/, '') ?? 'SIPp (version not printed)';
}

/**
 * `taskset -c <cpus>` in front of sipp when `cpus` is set: pins the generator so that the
 * scheduler does not move it onto the cluster's core mid-step (measured in the README).
 */
function command(cpus: string | undefined, args: readonly string[]): { file: string; args: string[] } {
  return cpus === undefined || cpus === '' ? { file: 'sipp', args: [...args] } : { file: 'taskset', args: ['-c', cpus, 'sipp', ...args] };
}

/** Options every SIPp here runs with: UDP on one socket, no keyboard, a screen every 10 s (nobody reads it). */
function common(localPort: number): string[] {
  // SIPp's own socket buffers default to 64 KiB, under the kernel's default: a burst at 1,000
  // calls/s would then be dropped at the generator and look like the cluster's loss
  return ['-i', '127.0.0.1', '-p', String(localPort), '-t', 'u1', '-nostdin', '-f', '10', '-buff_size', String(1 << 20)];
}

/** A UDP port on `host` that was free a moment ago (for a SIPp process, or another, to bind). */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/**
 * The carrier: answers every INVITE 100/180/200 and every BYE 200 until stopped (SIGUSR1,
 * SIPp's soft exit). Resolves once it listens on `port` (a free one when not given).
 */
export async function startCarrierUas(o: { port?: number; dir: string; cpus?: string }): Promise<{ proc: ManagedProcess; port: number }> {
  const port = o.port ?? (await freeUdpPort());
  const args = ['-sf', join(SIPP_SCENARIOS, 'carrier-uas.xml'), ...common(port), '-trace_err', '-error_file', join(o.dir, 'carrier-errors.log')];
  const c = command(o.cpus, args);
  const proc = ManagedProcess.spawn('sipp-carrier', c.file, c.args);
  for (let waited = 0; udpSocketDrops(port) === undefined; waited += 50) {
    if (!proc.running || waited > 10_000) throw new Error(`the SIPp carrier did not open UDP port ${port}:\n${proc.output()}`);
    await sleep(50);
  }
  return { proc, port };
}

export interface PbxStep {
  /** Where calls go: the transport's UDP listener. */
  target: { host: string; port: number };
  localPort: number;
  rate: number;
  seconds: number;
  /** The dialled number (the Request-URI's user part). */
  number: string;
  /** How long each call stays up between its ACK and its BYE (default 100 ms). */
  holdMs?: number;
  dir: string;
  /** A name for the step's files. */
  name: string;
  cpus?: string;
}

export interface PbxStepFiles {
  stats: string;
  messages: string;
  errors: string;
}

/**
 * One load step: a UAC that places `rate` calls a second for `seconds` and exits once every
 * call has ended. It runs under `sh` so that the CPU time SIPp spent is read exactly once it
 * has exited (the shell's cutime/cstime, fields 16 and 17 of /proc/<pid>/stat, after its wait):
 * a process's own /proc entry is gone by the time Node reports its exit.
 */
export function startPbxStep(s: PbxStep): { proc: ManagedProcess; files: PbxStepFiles } {
  const files = { stats: join(s.dir, `${s.name}-stats.csv`), messages: join(s.dir, `${s.name}-messages.tsv`), errors: join(s.dir, `${s.name}-errors.log`) };
  const calls = Math.round(s.rate * s.seconds);
  const args = [
    `${s.target.host}:${s.target.port}`, '-sf', join(SIPP_SCENARIOS, 'pbx-uac.xml'), '-s', s.number, ...common(s.localPort),
    '-r', String(s.rate), '-rp', '1000', '-m', String(calls), '-d', String(s.holdMs ?? 100),
    // SIPp's default ceiling on calls in progress (3 × scenario length × rate) would slow the
    // offered rate down by itself when answers are late: the step must offer what it says
    '-l', String(calls),
    '-recv_timeout', '30000', '-timeout', `${s.seconds + 120}s`,
    '-trace_stat', '-stf', files.stats, '-fd', '1',
    // microsecond timestamps of every message sent and received: SIPp 3.6's own response
    // times (rtd, -trace_rtt) read CLOCK_MONOTONIC_COARSE, 4 ms ticks on this machine's kernel
    '-trace_shortmsg', '-shortmessage_file', files.messages,
    '-trace_err', '-error_file', files.errors,
  ];
  const c = command(s.cpus, args);
  const script = '"$@"; status=$?; echo "sipp-children-cpu $(cut -d" " -f16,17 /proc/$$/stat)"; exit $status';
  return { proc: ManagedProcess.spawn(`sipp-pbx-${s.name}`, 'sh', ['-c', script, 'sh', c.file, ...c.args]), files };
}

/** The clock ticks SIPp used (user + system) as the wrapping shell printed them after SIPp exited. */
export function childrenCpuTicks(proc: ManagedProcess): number | undefined {
  const line = proc.lines.find((l) => l.text.startsWith('sipp-children-cpu '));
  if (line === undefined) return undefined;
  const [user, system] = line.text.split(' ').slice(1).map(Number);
  return (user ?? NaN) + (system ?? NaN);
}

/** The last row of a `-trace_stat` file: cumulative counters by name (the `(C)` columns). */
export function readFinalStats(file: string): Record<string, number> {
  const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = rows[0]?.split(';') ?? [];
  const last = rows[rows.length - 1]?.split(';') ?? [];
  const out: Record<string, number> = {};
  header.forEach((name, i) => {
    const m = /^(\w+)\(C\)$/.exec(name);
    if (m?.[1] !== undefined) out[m[1]] = Number(last[i]);
  });
  return out;
}

export interface InviteTimes {
  /** Calls whose INVITE was sent. */
  invites: number;
  /** INVITE (first send) → first 200 to it, in ms, of each answered call, sorted. */
  latenciesMs: number[];
  /** When the first and the last call's INVITE left, in µs since the epoch. */
  firstInviteUs: number;
  lastInviteUs: number;
}

/**
 * Reads a `-trace_shortmsg` file: one tab-separated row per message sent (S) or received (R):
 * date, time, seconds.microseconds, S|R, Call-ID, `CSeq:<n> <method>`, first line.
 * Retransmissions are rows too: the first INVITE sent and the first 200 received count.
 */
export function readInviteTimes(file: string): InviteTimes {
  const sent = new Map<string, number>();
  const answered = new Map<string, number>();
  let firstInviteUs = Infinity;
  let lastInviteUs = -Infinity;
  for (const row of readFileSync(file, 'utf8').split('\n')) {
    const f = row.split('\t');
    if (f.length < 7 || f[5] !== 'CSeq:1 INVITE') continue;
    const [seconds, micros] = (f[2] ?? '').split('.');
    // as integers: seconds since the epoch with six decimals are past a double's precision
    const us = Number(seconds) * 1_000_000 + Number((micros ?? '').padEnd(6, '0'));
    const callId = f[4] ?? '';
    if (f[3] === 'S' && f[6]?.startsWith('INVITE ') === true && !sent.has(callId)) {
      sent.set(callId, us);
      firstInviteUs = Math.min(firstInviteUs, us);
      lastInviteUs = Math.max(lastInviteUs, us);
    } else if (f[3] === 'R' && f[6]?.startsWith('SIP/2.0 200') === true && !answered.has(callId)) {
      answered.set(callId, us);
    }
  }
  const latenciesMs: number[] = [];
  for (const [callId, at] of answered) {
    const from = sent.get(callId);
    if (from !== undefined) latenciesMs.push((at - from) / 1000);
  }
  return { invites: sent.size, latenciesMs: latenciesMs.sort((a, b) => a - b), firstInviteUs, lastInviteUs };
}
