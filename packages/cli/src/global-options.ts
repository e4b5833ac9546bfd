// The options every command takes: where NATS is, how to log in, how long to wait, JSON or a table.
import { Option, type Command } from 'commander';
import { CliError } from './exit-codes.js';
import { parseServers, parseTimeoutMs } from './option-values.js';

export const DEFAULT_SERVER = 'nats://127.0.0.1:4222';
export const DEFAULT_TIMEOUT_MS = 5_000;

export interface GlobalOptions {
  server: string[];
  user?: string;
  password?: string;
  creds?: string;
  timeout: number;
  json?: boolean;
}

/** How to reach NATS, resolved from the global options. */
export interface NatsTarget {
  servers: string[];
  /** Bounds the connect, each request and the close. */
  timeoutMs: number;
  auth: { kind: 'none' } | { kind: 'user'; user: string; pass?: string } | { kind: 'creds'; file: string };
}

export function addGlobalOptions(program: Command): void {
  program
    .addOption(new Option('--server <url>', 'NATS server URL, or several separated by commas').env('SWITCHBOARD_NATS_URL')
      .argParser(parseServers).default([DEFAULT_SERVER], DEFAULT_SERVER))
    .addOption(new Option('--user <user>', 'NATS user').env('SWITCHBOARD_NATS_USER'))
    .addOption(new Option('--password <password>', "NATS user's password (SWITCHBOARD_NATS_PASS, the cluster's name for it, works too)")
      .env('SWITCHBOARD_NATS_PASSWORD'))
    .addOption(new Option('--creds <file>', 'NATS credentials file (JWT and NKey seed), instead of --user/--password'))
    .addOption(new Option('--timeout <ms>', 'how long to wait for NATS and for each answer').argParser(parseTimeoutMs)
      .default(DEFAULT_TIMEOUT_MS))
    .addOption(new Option('--json', 'print the result as JSON (on stdout, nothing else)'));
}

export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/**
 * `--creds` and `--user`/`--password` are two ways to log in: both on the command line is a
 * usage error, while a user and password from the environment give way to `--creds`.
 */
export function natsTargetOf(command: Command): NatsTarget {
  const options = globalsOf(command);
  const fromCli = (key: string) => command.getOptionValueSourceWithGlobals(key) === 'cli';
  const base = { servers: options.server, timeoutMs: options.timeout };
  if (options.creds !== undefined) {
    if (fromCli('user') || fromCli('password')) throw new CliError('usage', '--creds: cannot be combined with --user/--password, give one of them');
    return { ...base, auth: { kind: 'creds', file: options.creds } };
  }
  const pass = options.password ?? process.env['SWITCHBOARD_NATS_PASS'];
  if (options.user === undefined) {
    if (fromCli('password')) throw new CliError('usage', '--password: needs --user');
    return { ...base, auth: { kind: 'none' } };
  }
  return { ...base, auth: pass === undefined ? { kind: 'user', user: options.user } : { kind: 'user', user: options.user, pass } };
}
