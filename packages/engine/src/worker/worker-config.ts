import { CLUSTER_ENV, LogSection, NatsSection, NodeId, RoutingSection, loadConfig, type EnvOverride } from '@switchboard/config';
import { z } from 'zod';

export const WorkerConfigSchema = z.object({
  worker: z.object({
    id: NodeId,
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
    /** How long a placed call may ring before the engine cancels it (408 to the caller). */
    noAnswerMs: z.number().int().positive().default(180_000),
    /** Where new calls go until trunk routing exists. */
    nextHop: z.object({
      protocol: z.enum(['udp', 'tcp']).default('udp'),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(5060),
    }),
  }),
  nats: NatsSection,
  routing: RoutingSection,
  log: LogSection,
});

export type WorkerConfig = z.output<typeof WorkerConfigSchema>;

export const WORKER_ENV: readonly EnvOverride[] = [{ variable: 'SWITCHBOARD_WORKER_ID', path: ['worker', 'id'] }, ...CLUSTER_ENV];

export function loadWorkerConfig(file: string, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return loadConfig(file, WorkerConfigSchema, WORKER_ENV, env);
}
