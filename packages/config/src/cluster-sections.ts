import { z } from 'zod';
import type { EnvOverride } from './load-config.js';

// The sections every Switchboard process reads from the cluster's configuration file.

export const NatsSection = z.object({
  servers: z.array(z.string().min(1)).min(1),
  user: z.string().optional(),
  pass: z.string().optional(),
});

export const RoutingSection = z.object({
  /** Keys the MAC in Via branches and dialog tags: the same on every process of a cluster. */
  secret: z.string().min(16, 'expected at least 16 characters'),
});

export const LogSection = z
  .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
  .default({ level: 'info' });

/**
 * The HTTP listener an orchestrator probes (/livez, /readyz; README "Health endpoints"). Absent,
 * as it is locally by default, no listener is opened.
 */
export const HealthSection = z
  .object({
    port: z.number().int().min(0).max(65535),
    host: z.string().min(1).default('0.0.0.0'),
  })
  .optional();

/** A node id as NATS subjects carry it. */
export const NodeId = z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'expected 1-32 letters or digits');

const csv = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** Environment overrides of the shared sections. */
export const CLUSTER_ENV: readonly EnvOverride[] = [
  { variable: 'SWITCHBOARD_NATS_URL', path: ['nats', 'servers'], parse: csv },
  { variable: 'SWITCHBOARD_NATS_USER', path: ['nats', 'user'] },
  { variable: 'SWITCHBOARD_NATS_PASS', path: ['nats', 'pass'] },
  { variable: 'SWITCHBOARD_ROUTING_SECRET', path: ['routing', 'secret'] },
  { variable: 'SWITCHBOARD_LOG_LEVEL', path: ['log', 'level'] },
  // a text that is no number becomes NaN, which validation refuses naming health.port
  { variable: 'SWITCHBOARD_HEALTH_PORT', path: ['health', 'port'], parse: (s) => (/^\s*\d+\s*$/.test(s) ? Number(s) : Number.NaN) },
  { variable: 'SWITCHBOARD_HEALTH_HOST', path: ['health', 'host'] },
];
