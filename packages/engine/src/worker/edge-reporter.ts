import { jetstream, JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
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
    private readonly js: JetStreamClient,
    private readonly workerId: string,
    private readonly log: Logger,
  ) {}

  static async open(nc: NatsConnection, workerId: string, log: Logger, replicas = 1): Promise<EdgeReporter> {
    const js = jetstream(nc, { timeout: NONCE_CLAIM_TIMEOUT_MS });
    // file storage: a nats-server restart must not forget the nonces still in use
    await new Kvm(js).create(NONCES_BUCKET, { history: 1, ttl: NONCE_CLAIM_MS, storage: StorageType.File, replicas });
    const reporter = new EdgeReporter(nc, js, workerId, log);
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

  /**
   * Claims `<nonce>.<nc>`: true the first time anywhere in the cluster, false when it was claimed
   * before. Not `KV.create`: that writes over a key whose last entry is a delete or purge marker,
   * so a worker that deleted a claim (NATS permissions cannot tell a KV delete from a put: both
   * publish on `$KV.sb-nonces.<key>`) could replay its nonce. A publish that expects the key's
   * subject to be empty is refused by the server once anything was written to it, marker or not,
   * until the bucket's TTL ages the claim out.
   */
  async claimNonce(nonce: string, nc: string): Promise<boolean> {
    try {
      await this.js.publish(`$KV.${NONCES_BUCKET}.${nonceKey(nonce, nc)}`, new Uint8Array(0), { expect: { lastSubjectSequence: 0 } });
      return true;
    } catch (err) {
      if (isAlreadyClaimed(err)) return false;
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

const KEY = /^[-_=A-Za-z0-9]+(\.[-_=A-Za-z0-9]+)*$/;

/**
 * The claim's key, `<nonce>.<nc>`. The nonce was checked as ours (digest.ts) and `nc` as hex
 * before a claim, so this only guards the subject: a wildcard or space in it is refused, never published.
 */
export function nonceKey(nonce: string, nc: string): string {
  const key = `${nonce}.${nc === '' ? '0' : nc}`;
  if (!KEY.test(key)) throw new Error(`not a nonce claim key: ${JSON.stringify(key)}`);
  return key;
}

/**
 * "wrong last sequence" (10071), or its variant for a subject the server has not yet read
 * (10164, newer servers): the key was written before. Any other error means the check could
 * not be made (503), not that the nonce was used.
 */
export function isAlreadyClaimed(err: unknown): boolean {
  return err instanceof JetStreamApiError
    && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}
