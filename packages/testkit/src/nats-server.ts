import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { ManagedProcess } from './managed-process.js';

export interface NatsServerHandle {
  url: string;
  port: number;
  process: ManagedProcess;
  /** Kills the server at once (SIGKILL), as a crash would; its store stays. */
  kill(): Promise<void>;
  /** Starts it again after `kill()`, on the same port; `emptyStore`: with its JetStream store wiped first. */
  start(options?: NatsRestartOptions): Promise<void>;
  /** Stops it as an operator would (SIGTERM, waiting for the exit) and starts it again on the same port and store. */
  restart(options?: NatsRestartOptions): Promise<void>;
  /** Stops it for good and removes its store. */
  stop(): Promise<void>;
}

export interface NatsRestartOptions {
  /** Start on an empty store, as a server whose disk was lost: every stream and bucket gone. */
  readonly emptyStore?: boolean;
}

function findBinary(): string {
  for (const p of ['/usr/bin/nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server']) if (existsSync(p)) return p;
  throw new Error('nats-server is not installed: run the README test command (it installs the Debian package nats-server)');
}

async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * A real nats-server with JetStream, on a free port of 127.0.0.1 with its store in a new
 * temporary directory, removed again by `stop()`. `config` is extra nats-server
 * configuration text (accounts and permissions, say).
 */
export async function startNatsServer(opts: { config?: string } = {}): Promise<NatsServerHandle> {
  const bin = findBinary();
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-nats-'));
  const port = await freePort();
  const store = join(dir, 'jetstream');
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store];
  if (opts.config !== undefined) {
    const file = join(dir, 'nats.conf');
    await writeFile(file, opts.config);
    args.push('-c', file);
  }
  const launch = async (): Promise<ManagedProcess> => {
    const proc = ManagedProcess.spawn('nats-server', bin, args);
    const deadline = Date.now() + 10_000;
    while (!(await reachable(port))) {
      if (!proc.running || Date.now() > deadline) {
        await proc.stop('SIGKILL');
        throw new Error(`nats-server did not start:\n${proc.output()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return proc;
  };
  const handle: NatsServerHandle = {
    url: `nats://127.0.0.1:${port}`,
    port,
    process: await launch(),
    async kill() {
      await handle.process.stop('SIGKILL');
    },
    async start(options = {}) {
      if (handle.process.running) throw new Error('nats-server is running: kill() it first, or restart()');
      if (options.emptyStore === true) await rm(store, { recursive: true, force: true });
      handle.process = await launch();
    },
    async restart(options = {}) {
      if (handle.process.running) await handle.process.stop('SIGTERM', 5_000);
      await handle.start(options);
    },
    async stop() {
      await handle.process.stop('SIGTERM', 3_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}
