import { loadConfig, type EnvOverride } from '@switchboard/config';
import { z } from 'zod';

export const WorkerConfigSchema = z.object({
  worker: z.object({
    id: z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'expected 1-32 letters or digits'),
    /** How long SIGTERM waits for calls to end before exiting anyway. */
    drainTimeoutMs: z.number().int().min(0).default(60_000),
    timers: z
      .object({
        t1: z.number().int().positive().default(500),
        t2: z.number().int().positive().default(4_000),
        t4: z.number().int().positive().default(5_000),
      })
      .default({ t1: 500, t2: 4_000, t4: 5_000 }),
    sessionTimers: z
      .object({
        // RFC 4028 §5 requires at least 90 s on the wire; lower values exist for tests only
        minSE: z.number().int().min(1).default(90),
      })
      .default({ minSE: 90 }),
    /** Where new calls go until trunk routing exists. */
    nextHop: z.object({
      protocol: z.enum(['udp', 'tcp']).default('udp'),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(5060),
    }),
  }),
  nats: z.object({
    servers: z.array(z.string().min(1)).min(1),
    user: z.string().optional(),
    pass: z.string().optional(),
  }),
  routing: z.object({ secret: z.string().min(16, 'expected at least 16 characters') }),
  log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).default({ level: 'info' }),
});

export type WorkerConfig = z.output<typeof WorkerConfigSchema>;

const csv = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

export const WORKER_ENV: readonly EnvOverride[] = [
  { variable: 'SWITCHBOARD_WORKER_ID', path: ['worker', 'id'] },
  { variable: 'SWITCHBOARD_NATS_URL', path: ['nats', 'servers'], parse: csv },
  { variable: 'SWITCHBOARD_NATS_USER', path: ['nats', 'user'] },
  { variable: 'SWITCHBOARD_NATS_PASS', path: ['nats', 'pass'] },
  { variable: 'SWITCHBOARD_ROUTING_SECRET', path: ['routing', 'secret'] },
  { variable: 'SWITCHBOARD_LOG_LEVEL', path: ['log', 'level'] },
];

export function loadWorkerConfig(file: string, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return loadConfig(file, WorkerConfigSchema, WORKER_ENV, env);
}
