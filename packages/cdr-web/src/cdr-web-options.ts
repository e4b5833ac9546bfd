import { healthListenFromEnv, type HealthListen } from '@switchboard/health';

/** How the CDR page service is started: from its command line and environment. */
export interface CdrWebOptions {
  host: string;
  port: number;
  /** The orchestrator's /livez and /readyz, on a port of their own (README "Health endpoints"); none when absent. */
  health?: HealthListen;
  natsServers: string[];
  natsUser?: string;
  natsPass?: string;
  logLevel: string;
}

export const DEFAULT_LISTEN = '127.0.0.1:8080';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export const USAGE = `usage: switchboard-cdr-web [--listen host:port]
  --listen host:port   where to serve the page (default ${DEFAULT_LISTEN}; env SWITCHBOARD_CDR_WEB_LISTEN)
environment:
  SWITCHBOARD_NATS_URL        NATS servers, comma-separated (default ${DEFAULT_NATS_URL})
  SWITCHBOARD_NATS_USER       NATS user, if the server asks for one
  SWITCHBOARD_NATS_PASSWORD   its password (SWITCHBOARD_NATS_PASS, as the other services read it, works too)
  SWITCHBOARD_LOG_LEVEL       pino level (default info)
  SWITCHBOARD_HEALTH_PORT     serve /livez and /readyz on this port (default: not served)
  SWITCHBOARD_HEALTH_HOST     ... on this address (default 0.0.0.0)
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type CdrWebOptionsResult = { ok: true; options: CdrWebOptions } | { ok: false; message: string; help: boolean };

export function parseCdrWebOptions(argv: readonly string[], env: NodeJS.ProcessEnv): CdrWebOptionsResult {
  let listen = nonEmpty(env.SWITCHBOARD_CDR_WEB_LISTEN) ?? DEFAULT_LISTEN;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return { ok: false, message: 'serves the Call Detail Records page', help: true };
    if (arg === '--listen') {
      const value = argv[++i];
      if (value === undefined) return { ok: false, message: '--listen needs host:port', help: false };
      listen = value;
    } else if (arg.startsWith('--listen=')) {
      listen = arg.slice('--listen='.length);
    } else {
      return { ok: false, message: `unknown argument ${JSON.stringify(arg)}`, help: false };
    }
  }
  const address = parseListen(listen);
  if (address === undefined) return { ok: false, message: `--listen: expected host:port (such as ${DEFAULT_LISTEN} or [::1]:8080), got ${JSON.stringify(listen)}`, help: false };

  const natsServers = (nonEmpty(env.SWITCHBOARD_NATS_URL) ?? DEFAULT_NATS_URL).split(',').map((s) => s.trim()).filter((s) => s !== '');
  const logLevel = nonEmpty(env.SWITCHBOARD_LOG_LEVEL) ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) return { ok: false, message: `SWITCHBOARD_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}`, help: false };
  const health = healthListenFromEnv(env);
  if (!health.ok) return { ok: false, message: health.message, help: false };
  const options: CdrWebOptions = { ...address, natsServers, logLevel };
  if (health.listen !== undefined) options.health = health.listen;
  const user = nonEmpty(env.SWITCHBOARD_NATS_USER);
  const pass = nonEmpty(env.SWITCHBOARD_NATS_PASSWORD) ?? nonEmpty(env.SWITCHBOARD_NATS_PASS);
  if (user !== undefined) options.natsUser = user;
  if (pass !== undefined) options.natsPass = pass;
  return { ok: true, options };
}

/** `127.0.0.1:8080`, `localhost:8080`, `[::1]:8080`. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
