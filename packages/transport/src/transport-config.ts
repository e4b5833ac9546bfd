import { loadConfig, type EnvOverride } from '@switchboard/config';
import { z } from 'zod';

const NODE_ID = /^[A-Za-z0-9]{1,32}$/;

const Listener = z.object({
  protocol: z.enum(['udp', 'tcp']),
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(5060),
  /**
   * The address workers write in Via and Contact for this listener. Default: `host`, or for a
   * wildcard host (0.0.0.0, ::) the machine's first non-internal address of that family.
   */
  advertise: z.string().min(1).optional(),
});

export const TransportConfigSchema = z.object({
  transport: z.object({
    id: z.string().regex(NODE_ID, 'expected 1-32 letters or digits'),
    listen: z.array(Listener).min(1).default([
      { protocol: 'udp', host: '0.0.0.0', port: 5060 },
      { protocol: 'tcp', host: '0.0.0.0', port: 5060 },
    ]),
    tcp: z
      .object({
        idleTimeoutMs: z.number().int().positive().default(300_000),
        connectTimeoutMs: z.number().int().positive().default(5_000),
      })
      .default({ idleTimeoutMs: 300_000, connectTimeoutMs: 5_000 }),
    /** Retry-After (seconds) on the 503 sent when no worker is live. */
    retryAfterSeconds: z.number().int().min(0).max(3600).default(5),
    maxMessageBytes: z.number().int().min(1024).max(65_535).default(65_535),
    shutdownGraceMs: z.number().int().min(0).default(5_000),
  }),
  nats: z.object({
    servers: z.array(z.string().min(1)).min(1),
    user: z.string().optional(),
    pass: z.string().optional(),
  }),
  routing: z.object({
    secret: z.string().min(16, 'expected at least 16 characters'),
  }),
  log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).default({ level: 'info' }),
});

export type TransportConfig = z.output<typeof TransportConfigSchema>;

const csv = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** Environment variables that override the file (documented in the README). */
export const TRANSPORT_ENV: readonly EnvOverride[] = [
  { variable: 'SWITCHBOARD_TRANSPORT_ID', path: ['transport', 'id'] },
  { variable: 'SWITCHBOARD_NATS_URL', path: ['nats', 'servers'], parse: csv },
  { variable: 'SWITCHBOARD_NATS_USER', path: ['nats', 'user'] },
  { variable: 'SWITCHBOARD_NATS_PASS', path: ['nats', 'pass'] },
  { variable: 'SWITCHBOARD_ROUTING_SECRET', path: ['routing', 'secret'] },
  { variable: 'SWITCHBOARD_LOG_LEVEL', path: ['log', 'level'] },
];

export function loadTransportConfig(file: string, env: NodeJS.ProcessEnv = process.env): TransportConfig {
  return loadConfig(file, TransportConfigSchema, TRANSPORT_ENV, env);
}
