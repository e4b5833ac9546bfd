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
    transfer: z
      .object({
        /** After a successful transfer, how long to wait for the transferor's BYE before sending ours (RFC 5589 §6). */
        transferorByeMs: z.number().int().positive().default(32_000),
      })
      .default({ transferorByeMs: 32_000 }),
    /** Cluster-wide call limits (JetStream KV; see docs/architecture.md "Limits"). */
    limits: z
      .object({
        bucket: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, "-" or "_"').default('sb-limits'),
        /** A crashed worker's calls stop counting this long after its last refresh. */
        leaseMs: z.number().int().min(300).default(15_000),
        /** Longer than this without a verdict, a limited call is refused (503) rather than kept waiting. */
        timeoutMs: z.number().int().positive().default(1_000),
      })
      .default({ bucket: 'sb-limits', leaseMs: 15_000, timeoutMs: 1_000 }),
  }),
  trunking: z.object({
    /** The trunks, carriers and numbers (YAML or JSON), relative to this file. */
    file: z.string().min(1),
  }),
  nats: NatsSection,
  routing: RoutingSection,
  log: LogSection,
});

export type WorkerConfig = z.output<typeof WorkerConfigSchema>;

export const WORKER_ENV: readonly EnvOverride[] = [
  { variable: 'SWITCHBOARD_WORKER_ID', path: ['worker', 'id'] },
  { variable: 'SWITCHBOARD_TRUNKING_FILE', path: ['trunking', 'file'] },
  ...CLUSTER_ENV,
];

export function loadWorkerConfig(file: string, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return loadConfig(file, WorkerConfigSchema, WORKER_ENV, env);
}
