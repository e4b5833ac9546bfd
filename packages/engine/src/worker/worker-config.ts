import { CLUSTER_ENV, HealthSection, LogSection, NatsSection, NodeId, RoutingSection, loadConfig, nodeIdFromName, type EnvOverride } from '@switchboard/config';
import { DEFAULT_LEASE_MS, DEFAULT_LIMIT_TIMEOUT_MS, DEFAULT_LIMITS_BUCKET } from '@switchboard/limits';
import { z } from 'zod';
import { DEFAULT_DIALOGS_BUCKET } from '../takeover/dialogs-bucket.js';

const EARLY_AFTER_MS = 'expected "off" or a whole number of milliseconds, 0 or more';

export const WorkerConfigSchema = z.object({
  worker: z.object({
    id: NodeId,
    /** How long a slow drain waits for calls to end before exiting anyway. */
    drainTimeoutMs: z.number().int().min(0).default(60_000),
    /**
     * SIGTERM's drain (docs/architecture.md "Worker takeover"): `handover` gives the worker's slots,
     * and their calls, to the others and exits in seconds; `slow` waits for the calls to end.
     */
    drain: z
      .object({
        mode: z.enum(['handover', 'slow']).default('handover'),
        /** Handover: how long ringing calls get to be answered or end first; those still ringing then go as early records, and their new owner ends them. */
        earlyWaitMs: z.number().int().min(0).default(5_000),
      })
      .default({ mode: 'handover', earlyWaitMs: 5_000 }),
    /** Routing slots (docs/architecture.md "Worker takeover"). */
    slots: z
      .object({
        /** Free slots claimed at start; adopted slots beyond this are given back once they hold no call. */
        count: z.number().int().min(1).max(4096).default(64),
        bucket: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, "-" or "_"').default('sb-slots'),
      })
      .default({ count: 64, bucket: 'sb-slots' }),
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
        bucket: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, "-" or "_"').default(DEFAULT_LIMITS_BUCKET),
        /** A crashed worker's calls stop counting this long after its last refresh. */
        leaseMs: z.number().int().min(300).default(DEFAULT_LEASE_MS),
        /** Longer than this without a verdict, a limited call is refused (503) rather than kept waiting. */
        timeoutMs: z.number().int().positive().default(DEFAULT_LIMIT_TIMEOUT_MS),
      })
      .default({ bucket: DEFAULT_LIMITS_BUCKET, leaseMs: DEFAULT_LEASE_MS, timeoutMs: DEFAULT_LIMIT_TIMEOUT_MS }),
    /** Worker takeover (docs/architecture.md): confirmed calls' snapshots in a KV bucket (file storage, jetstream.replicas). */
    snapshots: z
      .object({
        /** false: no call is snapshotted (a worker's death loses its calls; its slots are still taken over). For comparisons. */
        enabled: z.boolean().default(true),
        bucket: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, "-" or "_"').default(DEFAULT_DIALOGS_BUCKET),
        /** Snapshot writes at once, across calls. */
        maxInFlight: z.number().int().positive().default(64),
        /** Calls waiting for a write; beyond it a change is not written (counted as snapshots.dropped). */
        maxPending: z.number().int().positive().default(10_000),
        /**
         * How long a call rings (from its first relayed 18x) before it gets an early record, so
         * that a worker's death ends it cleanly (a final response to the caller, CANCEL to the
         * carrier): one more KV write for each call ringing longer. 'off' or 0: none (a handover
         * still carries ringing calls).
         */
        earlyAfterMs: z
          .union([z.literal('off'), z.number()], { error: EARLY_AFTER_MS })
          .refine((v) => v === 'off' || (Number.isInteger(v) && v >= 0), { error: EARLY_AFTER_MS })
          .default(1_000),
      })
      .default({ enabled: true, bucket: DEFAULT_DIALOGS_BUCKET, maxInFlight: 64, maxPending: 10_000, earlyAfterMs: 1_000 }),
    /** The SIP held while NATS is unreachable, sent when it is back; past either bound the oldest is dropped (and counted). */
    outageQueue: z
      .object({
        maxMessages: z.number().int().positive().default(10_000),
        maxBytes: z.number().int().positive().default(16 * 1024 * 1024),
      })
      .default({ maxMessages: 10_000, maxBytes: 16 * 1024 * 1024 }),
  }),
  trunking: z.object({
    /** The trunks, carriers and numbers (YAML or JSON), relative to this file. */
    file: z.string().min(1),
  }),
  /** Call detail records (README "Call detail records"). */
  cdr: z
    .object({
      /** Records wait here until the CDR stream confirmed them (one folder per worker under it); relative to this file. */
      spoolDir: z.string().min(1).default('spool/cdr'),
      /** Used when the worker creates the stream; an existing stream keeps its own settings. */
      retentionDays: z.number().int().positive().default(90),
      /** A record published again within this window (a retry) is stored once. */
      duplicateWindowMs: z.number().int().min(1_000).default(3_600_000),
      /** Copies of SB_CDR when it is created; absent: jetstream.replicas. */
      replicas: z.number().int().min(1).max(5).optional(),
      /** A publish not confirmed within this is retried (the record stays spooled). */
      publishTimeoutMs: z.number().int().positive().default(5_000),
      /** Whether this worker answers CDR queries (sb.cdr.query). */
      query: z.boolean().default(true),
    })
    .default({ spoolDir: 'spool/cdr', retentionDays: 90, duplicateWindowMs: 3_600_000, publishTimeoutMs: 5_000, query: true }),
  /**
   * What the worker creates in JetStream when it is missing — at start and again after a NATS
   * outage finds it gone: the limits bucket, the sb-config bucket, the SB_CDR stream. All in file
   * storage, so a nats-server restart keeps them.
   */
  jetstream: z
    .object({
      /** Copies of each in a JetStream cluster: 1 on a single server, 3 in production. An existing one keeps its own. */
      replicas: z.number().int().min(1).max(5).default(1),
    })
    .default({ replicas: 1 }),
  nats: NatsSection.extend({
    /**
     * The validated config service's own NATS user (README "Security"): the only one that may
     * write the sb-config bucket. Absent, the worker's connection writes it (a server without
     * per-role permissions).
     */
    configWriter: z.object({ user: z.string().min(1), pass: z.string().min(1) }).optional(),
  }),
  routing: RoutingSection,
  log: LogSection,
  health: HealthSection,
});

export type WorkerConfig = z.output<typeof WorkerConfigSchema>;

export const WORKER_ENV: readonly EnvOverride[] = [
  // a pod name (Kubernetes downward API) made into an id; before SWITCHBOARD_WORKER_ID, which wins when both are set
  { variable: 'SWITCHBOARD_WORKER_ID_FROM', path: ['worker', 'id'], parse: nodeIdFromName },
  { variable: 'SWITCHBOARD_WORKER_ID', path: ['worker', 'id'] },
  { variable: 'SWITCHBOARD_TRUNKING_FILE', path: ['trunking', 'file'] },
  { variable: 'SWITCHBOARD_CDR_SPOOL_DIR', path: ['cdr', 'spoolDir'] },
  { variable: 'SWITCHBOARD_NATS_CONFIG_WRITER_USER', path: ['nats', 'configWriter', 'user'] },
  { variable: 'SWITCHBOARD_NATS_CONFIG_WRITER_PASS', path: ['nats', 'configWriter', 'pass'] },
  ...CLUSTER_ENV,
];

export function loadWorkerConfig(file: string, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return loadConfig(file, WorkerConfigSchema, WORKER_ENV, env);
}
