import { jetstreamManager, JetStreamApiCodes, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { KvWatchInclude, Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { isAbsolute, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { formatPath } from '@switchboard/config';
import { TrunkingConfigSchema, type TrunkingConfig } from '@switchboard/trunking';
import { CONFIG_BUCKET, TRUNKING_KEY } from '@switchboard/wire';
import type { Logger } from 'pino';
import type { LiveTrunkingView, TrunkingInForce } from '../context.js';

/**
 * The worker's trunking in force: made from the file, then from each configuration the watch
 * applies — policy and locator together, replaced as a whole, so a call that read `current`
 * keeps one consistent pair whatever changes after.
 */
export class LiveTrunkingHolder implements LiveTrunkingView {
  private inForce: TrunkingInForce;

  constructor(
    private readonly make: (config: TrunkingConfig) => TrunkingInForce,
    seed: TrunkingConfig,
  ) {
    this.inForce = make(seed);
  }

  get current(): TrunkingInForce {
    return this.inForce;
  }

  apply(config: TrunkingConfig): void {
    this.inForce = this.make(config);
  }
}

/** A write refused: the field path and why, or a revision that is no longer the latest. */
export class ConfigWriteError extends Error {
  constructor(readonly kind: 'invalid' | 'conflict', message: string) {
    super(message);
    this.name = 'ConfigWriteError';
  }
}

/**
 * Validates a trunking configuration with the file's schema: the config, or the first problem
 * as `path: message`. A field the schema does not know is a problem too (a typo such as
 * `maxCPS` would otherwise be dropped in silence and the write would change nothing).
 */
export function validateTrunking(value: unknown): { ok: true; config: TrunkingConfig } | { ok: false; message: string } {
  const parsed = TrunkingConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `${issue === undefined || issue.path.length === 0 ? 'trunking' : formatPath(issue.path)}: ${issue?.message ?? 'invalid'}` };
  }
  const unknown = unknownField(value, parsed.data, []);
  if (unknown !== undefined) return { ok: false, message: `${formatPath(unknown)}: unknown field` };
  return { ok: true, config: parsed.data };
}

/** The path of the first key of `raw` that validation dropped from `parsed`. */
function unknownField(raw: unknown, parsed: unknown, path: (string | number)[]): (string | number)[] | undefined {
  if (Array.isArray(raw) && Array.isArray(parsed)) {
    for (let i = 0; i < raw.length; i++) {
      const found = unknownField(raw[i], parsed[i], [...path, i]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || parsed === null || typeof parsed !== 'object') return undefined;
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in parsed)) return [...path, key];
    const found = unknownField(value, (parsed as Record<string, unknown>)[key], [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The trunking configuration as it lives in the cluster: one JSON value under key
 * `trunking` of the KV bucket `sb-config`, seeded from the worker's file by whichever worker
 * starts first, and watched by every worker, which applies each new revision to the calls
 * that start after it (a call keeps the policy it started with). Writes go through `set`,
 * which validates with the file's schema and compares revisions, so an invalid or stale
 * write changes nothing. Every write (the bucket made, the seed, `set`) goes over the config
 * service's own connection, `writer`: in production its user is the only one that may write
 * the bucket, so the rest of the worker, with the worker user, can only read and watch it.
 */
export class LiveTrunking {
  private watching = true;
  private stopWatch: (() => void) | undefined;
  /** The watch was stopped to look at the bucket at once (a reconnect), not because it failed. */
  private reopenNow = false;

  private constructor(
    private readonly nc: NatsConnection,
    private kv: KV,
    private readonly writerNc: NatsConnection,
    /** `kv` bound on the writer's connection (the same handle when there is one connection). */
    private writer: KV,
    private readonly replicas: number,
    private readonly log: Logger,
    private current: { revision: number; config: TrunkingConfig },
  ) {}

  /**
   * `replicas`: copies of the bucket in a JetStream cluster, used when the bucket is created;
   * `seedFile`: where `seed` was read from, named in the log when the cluster's value differs;
   * `writerNc`: the connection the writes go over (the config service's user), `nc` by default.
   */
  static async open(
    nc: NatsConnection, seed: TrunkingConfig, log: Logger, apply: (config: TrunkingConfig, revision: number) => void, replicas = 1, seedFile?: string,
    writerNc: NatsConnection = nc,
  ): Promise<LiveTrunking> {
    const writer = await createConfigBucket(writerNc, replicas);
    const kv = writerNc === nc ? writer : await new Kvm(nc).open(CONFIG_BUCKET);
    let seeded = false;
    try {
      const revision = await writer.create(TRUNKING_KEY, JSON.stringify(seed));
      seeded = true;
      log.info({ event: 'config-seeded', revision }, 'trunking configuration seeded into the cluster from the file');
    } catch {
      // another worker (or an earlier run) seeded it: the cluster's value wins over the file
    }
    const entry = await kv.get(TRUNKING_KEY);
    const read = entry === null ? undefined : readEntry(entry.string());
    const live = new LiveTrunking(nc, kv, writerNc, writer, replicas, log, read?.ok === true ? { revision: entry?.revision ?? 0, config: read.config } : { revision: 0, config: seed });
    if (read !== undefined && !read.ok) log.error({ event: 'config-invalid', detail: read.message }, 'the stored trunking configuration is invalid: running the file\'s');
    // an edited file is silently not in force after the first start: say so, and how to apply it
    if (!seeded && read?.ok === true && !sameTrunking(read.config, seed)) {
      const file = seedFile === undefined ? '<trunking file>' : shortPath(seedFile);
      log.warn(
        { event: 'config-differs', revision: entry?.revision, file, apply: `switchboard trunks apply -f ${file}` },
        `the trunking file differs from the cluster's configuration (bucket ${CONFIG_BUCKET}, revision ${entry?.revision ?? 0}), which is in force; to apply the file: switchboard trunks apply -f ${file} (./scripts/start --from-file on the local cluster)`,
      );
    }
    apply(live.current.config, live.current.revision);
    void live.watch(apply).catch((error: unknown) => log.error({ err: error }, 'trunking configuration watch stopped'));
    void live.followConnection();
    return live;
  }

  /** What the store holds now (not what this worker last applied: a write on another worker may not have reached it yet). */
  async get(): Promise<{ revision: number; config: TrunkingConfig }> {
    const entry = await this.kv.get(TRUNKING_KEY);
    const read = entry === null ? undefined : readEntry(entry.string());
    return read?.ok === true && entry !== null ? { revision: entry.revision, config: read.config } : this.current;
  }

  /** Validates and stores a new configuration; `revision`: the one it was made from (compare-and-set). */
  async set(value: unknown, revision?: number): Promise<{ revision: number; trunking: TrunkingConfig }> {
    const checked = validateTrunking(value);
    if (!checked.ok) throw new ConfigWriteError('invalid', checked.message);
    const data = JSON.stringify(value);
    let written: number;
    try {
      written = revision === undefined ? await this.writer.put(TRUNKING_KEY, data) : await this.writer.update(TRUNKING_KEY, data, revision);
    } catch (error) {
      if (revision !== undefined && /wrong last sequence/i.test((error as Error).message)) {
        throw new ConfigWriteError('conflict', `revision ${revision} is not the latest: read the configuration again`);
      }
      throw error;
    }
    return { revision: written, trunking: checked.config };
  }

  async close(): Promise<void> {
    this.watching = false;
    this.stopWatch?.();
  }

  /**
   * Follows the key for as long as the worker runs: a watch that ends (its consumer given up
   * after a NATS outage) or fails is opened again, after making sure the bucket is there, and
   * each time the stored value is read once, so a write made while no watch was open is not
   * missed. Reopened after 1 s, then less often (up to 10 s) while it keeps failing.
   */
  private async watch(apply: (config: TrunkingConfig, revision: number) => void): Promise<void> {
    let failures = 0;
    while (this.watching) {
      try {
        await this.ensureBucket();
        const updates = await this.kv.watch({ key: TRUNKING_KEY, include: KvWatchInclude.UpdatesOnly });
        this.stopWatch = () => updates.stop();
        const latest = await this.kv.get(TRUNKING_KEY);
        if (latest !== null) this.take(latest.revision, latest.string(), apply);
        failures = 0;
        for await (const entry of updates) {
          if (!this.watching) break;
          if (entry.operation === 'PUT') this.take(entry.revision, entry.string(), apply);
        }
      } catch (error) {
        failures += 1;
        if (this.watching) this.log.warn({ event: 'config-watch-failed', err: (error as Error).message }, 'trunking configuration watch failed: opening it again');
      }
      const wait = this.reopenNow ? 0 : Math.min(10_000, 1_000 * 2 ** Math.max(0, failures - 1));
      this.reopenNow = false;
      if (this.watching) await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** After a reconnect the server may have come back without the bucket: look now, not when the watch notices. */
  private async followConnection(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        if (!this.watching) return;
        if (status.type !== 'reconnect') continue;
        this.reopenNow = true;
        this.stopWatch?.();
      }
    } catch (error) {
      this.log.error({ err: error }, 'trunking configuration stopped following the NATS connection');
    }
  }

  /**
   * Makes the bucket again when it is gone (nats-server back on an empty store, an operator's
   * delete), seeded with the configuration in force here — the cluster's last, which may differ
   * from the file — so that no worker falls back to its file.
   */
  private async ensureBucket(): Promise<void> {
    try {
      await (await jetstreamManager(this.nc)).streams.info(`KV_${CONFIG_BUCKET}`);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    }
    this.writer = await createConfigBucket(this.writerNc, this.replicas);
    this.kv = this.writerNc === this.nc ? this.writer : await new Kvm(this.nc).open(CONFIG_BUCKET);
    try {
      const revision = await this.writer.create(TRUNKING_KEY, JSON.stringify(this.current.config));
      this.log.warn({ event: 'config-bucket-recreated', revision }, 'trunking configuration bucket was missing: made again with the configuration in force');
    } catch {
      // another worker made it again first, with the configuration in force on it
    }
    // the new bucket numbers its revisions from 1: what it holds is newer than what we ran
    this.current = { revision: 0, config: this.current.config };
  }

  /** Applies a stored value newer than the one in force, when it validates. */
  private take(revision: number, text: string, apply: (config: TrunkingConfig, revision: number) => void): void {
    if (revision <= this.current.revision) return;
    const read = readEntry(text);
    if (!read.ok) {
      // only a raw write (nats kv put) can bypass `set`'s validation: keep running what we have
      this.log.error({ event: 'config-invalid', revision, detail: read.message }, 'ignored an invalid trunking configuration');
      return;
    }
    this.current = { revision, config: read.config };
    apply(read.config, revision);
    this.log.info({ event: 'config-applied', revision }, 'trunking configuration applied to new calls');
  }
}

/** File storage, so a nats-server restart keeps the cluster's configuration; 20 revisions of history for operators. */
async function createConfigBucket(nc: NatsConnection, replicas: number): Promise<KV> {
  return new Kvm(nc).create(CONFIG_BUCKET, { history: 20, storage: StorageType.File, replicas });
}

/** A path as the operator who started the worker from its folder would type it (`config/trunks.yaml`). */
function shortPath(file: string): string {
  const inside = relative(process.cwd(), file);
  return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? file : inside;
}

/** Equal as stored: JSON drops the fields left undefined, and key order says nothing. */
function sameTrunking(a: TrunkingConfig, b: TrunkingConfig): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

function readEntry(text: string): { ok: true; config: TrunkingConfig } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'not JSON' };
  }
  return validateTrunking(value);
}
