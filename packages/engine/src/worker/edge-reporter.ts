import { jetstream, JetStreamApiCodes, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import type { TrunkPolicy } from '@switchboard/trunking';
import { EDGE_SOURCES_INTERVAL_MS, encodeAuthenticatedSource, encodeEdgeSources, NONCES_BUCKET, Subjects } from '@switchboard/wire';
import type { Logger } from 'pino';
import type { EdgeAuthentication } from '../context.js';

/** How long a source that passed digest authentication stays known at the edge. */
export const AUTHENTICATED_SOURCE_MS = 600_000;
/** A source is told again at most this often (a PBX placing 100 calls/s must not cost 100 publishes/s). */
const RETELL_MS = 60_000;
/** Longer than a nonce is accepted (DigestAuthenticator: 5 minutes, plus 30 s of clock skew): a claim outlives its nonce. */
const NONCE_CLAIM_MS = 360_000;
const NONCE_CLAIM_TIMEOUT_MS = 2_000;
const MAX_TOLD = 10_000;

/**
 * The worker's part in flood protection (README "Security", edge limits): it tells the
 * transport nodes, which have no JetStream, the networks its trunking configuration knows —
 * when the configuration changes and every EDGE_SOURCES_INTERVAL_MS — and each source that
 * passed digest authentication; and it claims each digest nonce count in the KV bucket
 * sb-nonces (create-only keys `<nonce>.<nc>`), so a request replayed to another worker is refused.
 */
export class EdgeReporter implements EdgeAuthentication {
  private sources: Uint8Array | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly told = new Map<string, number>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly nonces: KV,
    private readonly workerId: string,
    private readonly log: Logger,
  ) {}

  static async open(nc: NatsConnection, workerId: string, log: Logger, replicas = 1): Promise<EdgeReporter> {
    const kvm = new Kvm(jetstream(nc, { timeout: NONCE_CLAIM_TIMEOUT_MS }));
    // file storage: a nats-server restart must not forget the nonces still in use
    const nonces = await kvm.create(NONCES_BUCKET, { history: 1, ttl: NONCE_CLAIM_MS, storage: StorageType.File, replicas });
    const reporter = new EdgeReporter(nc, nonces, workerId, log);
    reporter.timer = setInterval(() => reporter.publishSources(), EDGE_SOURCES_INTERVAL_MS);
    reporter.timer.unref();
    return reporter;
  }

  /** A new configuration in force: its known networks, told at once. */
  announce(policy: TrunkPolicy, revision: number): void {
    const { networks, domains } = policy.edgeSources();
    this.sources = encodeEdgeSources({ v: 1, networks, domains, revision, worker: this.workerId });
    this.publishSources();
  }

  authenticated(address: string): void {
    const now = Date.now();
    const last = this.told.get(address);
    if (last !== undefined && now - last < RETELL_MS) return;
    this.told.delete(address);
    if (this.told.size >= MAX_TOLD) {
      const oldest = this.told.keys().next();
      if (oldest.done !== true) this.told.delete(oldest.value);
    }
    this.told.set(address, now);
    this.publish(Subjects.edgeAuthenticated, encodeAuthenticatedSource({ v: 1, address, until: now + AUTHENTICATED_SOURCE_MS }));
  }

  async claimNonce(nonce: string, nc: string): Promise<boolean> {
    try {
      await this.nonces.create(`${nonce}.${nc === '' ? '0' : nc}`, new Uint8Array(0));
      return true;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) return false;
      throw err;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private publishSources(): void {
    if (this.sources !== undefined) this.publish(Subjects.edgeSources, this.sources);
  }

  private publish(subject: string, data: Uint8Array): void {
    try {
      this.nc.publish(subject, data);
    } catch (err) {
      this.log.warn({ err, subject }, 'could not tell the edge');
    }
  }
}
