import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A line a process printed: parsed when it is JSON (pino), raw otherwise. */
export interface LogLine {
  text: string;
  json?: Record<string, unknown>;
}

/** Children still running: a test or benchmark that ends (or throws) without stopping them does not leave them behind. */
const running = new Set<ChildProcess>();
let reaping = false;

function reapOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (reaping) return;
  reaping = true;
  // SIGTERM, not SIGKILL: a supervisor among them (./scripts/start) stops its own children
  process.once('exit', () => {
    for (const c of running) c.kill('SIGTERM');
  });
}

/**
 * A child process whose output is kept line by line, so a test can wait for what it logs
 * ("listening") and show what it said when something fails. One still running when this
 * process exits gets SIGTERM.
 */
export class ManagedProcess {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const onLine = (text: string) => {
      let json: Record<string, unknown> | undefined;
      if (text.startsWith('{')) {
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
      }
      const line: LogLine = json === undefined ? { text } : { text, json };
      this.lines.push(line);
      for (const w of this.waiters) {
        if (w.match(line)) {
          this.waiters.delete(w);
          w.resolve(line);
        }
      }
    };
    reapOnExit(child);
    if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        resolve(this.exitCode);
      });
    });
  }

  static spawn(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ManagedProcess {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ManagedProcess(name, child);
  }

  /** Runs a compiled Node script of the workspace. */
  static node(name: string, script: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): ManagedProcess {
    // SWITCHBOARD_PROFILE_DIR=<dir>: every child writes a V8 CPU profile there on exit (benchmarks)
    const dir = process.env.SWITCHBOARD_PROFILE_DIR;
    const profile = dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
    // SWITCHBOARD_NODE_FLAGS="--flag …": Node/V8 flags for every child, those NODE_OPTIONS refuses too (benchmarks)
    const flags = (process.env.SWITCHBOARD_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
    return ManagedProcess.spawn(name, process.execPath, [...profile, ...flags, '--enable-source-maps', script, ...args], env);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Resolves with the first line (already printed or to come) that `match` accepts. */
  waitFor(match: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (l: LogLine) => (clearTimeout(timer), resolve(l)) };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.name}: no matching line within ${timeoutMs} ms. Output:\n${this.output()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Waits for a pino line whose `event` field is `event`. */
  waitForEvent(event: string, timeoutMs?: number): Promise<Record<string, unknown>> {
    return this.waitFor((l) => l.json?.event === event, timeoutMs).then((l) => l.json ?? {});
  }

  output(last = 60): string {
    return this.lines.slice(-last).map((l) => `  [${this.name}] ${l.text}`).join('\n');
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
