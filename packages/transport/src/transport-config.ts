import { readFileSync } from 'node:fs';
import { CLUSTER_ENV, ConfigError, HealthSection, LogSection, NatsSection, NodeId, RoutingSection, loadConfig, nodeIdFromName, type EnvOverride } from '@switchboard/config';
import { z } from 'zod';
import { isWildcard } from './peer-address.js';
import { isAddressOrBlock } from './source-guard.js';

const EDGE_DEFAULTS = { perSourceRate: 400, burst: 800, banSeconds: 30, maxBans: 10_000, maxTracked: 100_000, overrides: [] };

const NOT_A_WILDCARD = 'a wildcard address (0.0.0.0, ::) cannot be advertised: name the address peers reach this node at';

/** PEM files of a TLS listener (RFC 3261 §26.2.1), re-read when they change. */
const TlsServerFiles = z.object({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  /** The CAs a client's certificate must chain to; without it, the system's. */
  caFile: z.string().min(1).optional(),
  /** Ask each client for a certificate and close the connection when it does not verify. */
  verifyClient: z.boolean().default(false),
});

const Listener = z
  .object({
    protocol: z.enum(['udp', 'tcp', 'tls']),
    host: z.string().min(1).default('0.0.0.0'),
    /** Default: 5060, or 5061 for TLS (RFC 3261 §19.1.2). */
    port: z.number().int().min(0).max(65535).optional(),
    /**
     * The address workers write in Via and Contact for this listener. Default: `host`, or for a
     * wildcard host (0.0.0.0, ::) the machine's first non-internal address of that family.
     */
    advertise: z.string().min(1).refine((a) => !isWildcard(a), NOT_A_WILDCARD).optional(),
    tls: TlsServerFiles.optional(),
  })
  .superRefine((l, ctx) => {
    if (l.protocol === 'tls' && l.tls === undefined) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'expected certFile and keyFile: a TLS listener needs a certificate' });
    if (l.protocol !== 'tls' && l.tls !== undefined) ctx.addIssue({ code: 'custom', path: ['tls'], message: `a ${l.protocol} listener has no certificate: set protocol tls` });
  })
  .transform((l) => ({ ...l, port: l.port ?? (l.protocol === 'tls' ? 5061 : 5060) }));

/** Outbound TLS (carriers, `sips:` targets): whom we trust, and what we show when asked. */
const TlsClientFiles = z
  .object({
    /** The CAs a server's certificate must chain to; without it, the system's. */
    caFile: z.string().min(1).optional(),
    /** A client certificate, for peers that ask for one (both or neither). */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  })
  .refine((c) => (c.certFile === undefined) === (c.keyFile === undefined), { message: 'expected certFile and keyFile together', path: ['keyFile'] });

export const TransportConfigSchema = z.object({
  transport: z.object({
    id: NodeId,
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
    tls: z
      .object({
        client: TlsClientFiles.default({}),
        /** How often the PEM files are checked for a change (a renewed certificate, a rotated Secret). */
        reloadCheckMs: z.number().int().min(100).default(2_000),
        /** A handshake not done by then is abandoned (a client that connects and says nothing). */
        handshakeTimeoutMs: z.number().int().positive().default(5_000),
        /**
         * Where the peers' own PEM files (carriers' and trunks' `tls`) may be; default: the
         * directories of this node's own TLS files. Files elsewhere are refused.
         */
        peerFilesDirs: z.array(z.string().min(1).refine((d) => d.startsWith('/'), 'expected an absolute directory')).optional(),
      })
      .default({ client: {}, reloadCheckMs: 2_000, handshakeTimeoutMs: 5_000 }),
    /** Retry-After (seconds) on the 503 sent when no worker is live. */
    retryAfterSeconds: z.number().int().min(0).max(3600).default(5),
    maxMessageBytes: z.number().int().min(1024).max(65_535).default(65_535),
    shutdownGraceMs: z.number().int().min(0).default(5_000),
    /** While NATS is unreachable: what is held for the workers, and how much (README "NATS outages"). */
    natsOutage: z
      .object({
        /** In-dialog TCP messages held per connection; past it a request gets 503 + Retry-After. */
        heldPerConnection: z.number().int().min(1).max(10_000).default(64),
        /** The same across every connection. */
        heldTotal: z.number().int().min(1).max(1_000_000).default(4_096),
        /** In-dialog UDP requests dropped during an outage whose first receive time is kept for their retransmission. */
        firstReceipts: z.number().int().min(1).max(1_000_000).default(10_000),
      })
      .default({ heldPerConnection: 64, heldTotal: 4_096, firstReceipts: 10_000 }),
    /**
     * Only in switchboard-edge-worker (README "Process layout"): the node gives its own worker the
     * new calls while the process's event loop is busy less than `spillAboveLoad` of the time
     * (smoothed over about a second); above it, new calls go to any active worker by Call-ID, as a
     * transport of its own does. 0: always; 1 (the default): never — on 2 cores spilling cost more
     * than it relieved (measured: README "Benchmarks"); worth it when the other workers have cores of their own.
     */
    edgeWorker: z
      .object({ spillAboveLoad: z.number().min(0).max(1).default(1) })
      .default({ spillAboveLoad: 1 }),
    /**
     * Flood protection (README "Security", edge limits). The defaults suit a PBX placing 100
     * calls/s, each an INVITE and its retry with credentials, with retransmissions to spare.
     */
    edge: z
      .object({
        perSourceRate: z.number().positive().max(1_000_000).default(EDGE_DEFAULTS.perSourceRate),
        burst: z.number().int().min(1).max(1_000_000).default(EDGE_DEFAULTS.burst),
        banSeconds: z.number().int().min(1).max(86_400).default(EDGE_DEFAULTS.banSeconds),
        maxBans: z.number().int().min(1).max(1_000_000).default(EDGE_DEFAULTS.maxBans),
        maxTracked: z.number().int().min(1).max(10_000_000).default(EDGE_DEFAULTS.maxTracked),
        /** Sources with a rate of their own (a carrier placing more calls than perSourceRate allows), first match wins. */
        overrides: z.array(z.object({
          sources: z.array(z.string().min(1).refine(isAddressOrBlock, 'expected an IP address or a CIDR block')).min(1),
          perSourceRate: z.number().positive().max(1_000_000),
          burst: z.number().int().min(1).max(1_000_000),
        })).default([]),
      })
      .default(EDGE_DEFAULTS),
  }),
  nats: NatsSection,
  routing: RoutingSection,
  log: LogSection,
  health: HealthSection,
});

export type TransportConfig = z.output<typeof TransportConfigSchema>;

/** Environment variables that override the file (documented in the README). */
export const TRANSPORT_ENV: readonly EnvOverride[] = [
  // a node name (one transport per node: its id, and so its subjects, survive a pod restart) made
  // into an id; before SWITCHBOARD_TRANSPORT_ID, which wins when both are set
  { variable: 'SWITCHBOARD_TRANSPORT_ID_FROM', path: ['transport', 'id'], parse: nodeIdFromName },
  { variable: 'SWITCHBOARD_TRANSPORT_ID', path: ['transport', 'id'] },
  ...CLUSTER_ENV,
];

/**
 * SWITCHBOARD_ADVERTISE, when set, is the advertised address of every listener: one per node,
 * as a DaemonSet gives it from the downward API (`status.hostIP`), which one file shared by all
 * nodes cannot. SWITCHBOARD_ADVERTISE_FILE names a file holding that address instead (and wins):
 * what the DaemonSet's init container wrote after asking the Kubernetes API for the node's
 * public address (advertise-init.ts). Named but missing or empty is an error, never a silent
 * fall-back to a guessed or private address.
 */
export function loadTransportConfig(file: string, env: NodeJS.ProcessEnv = process.env): TransportConfig {
  const config = loadConfig(file, TransportConfigSchema, TRANSPORT_ENV, env);
  const [variable, advertise] = advertiseFromEnv(file, env);
  if (advertise === '') return config;
  if (isWildcard(advertise)) throw new ConfigError(file, variable, NOT_A_WILDCARD);
  return { ...config, transport: { ...config.transport, listen: config.transport.listen.map((l) => ({ ...l, advertise })) } };
}

function advertiseFromEnv(file: string, env: NodeJS.ProcessEnv): [string, string] {
  const from = env.SWITCHBOARD_ADVERTISE_FILE?.trim() ?? '';
  if (from === '') return ['SWITCHBOARD_ADVERTISE', env.SWITCHBOARD_ADVERTISE?.trim() ?? ''];
  let text: string;
  try {
    text = readFileSync(from, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(file, 'SWITCHBOARD_ADVERTISE_FILE', `cannot read ${from}: ${(err as Error).message}`);
  }
  if (text === '' || /\s/.test(text)) throw new ConfigError(file, 'SWITCHBOARD_ADVERTISE_FILE', `${from} must hold one address, not ${JSON.stringify(text)}`);
  return ['SWITCHBOARD_ADVERTISE_FILE', text];
}
