// The sb-dialogs KV bucket: the calls' snapshots. File storage and replicas from configuration,
// like the limits bucket (packages/limits/src/limits-bucket.ts); a write that finds the bucket
// gone (a server back on an empty store, an operator's delete) creates it again, and the next
// change of each call writes it back.
import { JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { RevisionConflict, type DialogStore, type StoredSnapshot } from './dialog-store.js';

export const DEFAULT_DIALOGS_BUCKET = 'sb-dialogs';

export interface DialogsBucketSettings {
  readonly bucket: string;
  /** Copies in a JetStream cluster (1..5); used only when the bucket is created. */
  readonly replicas: number;
}

const isWrongRevision = (err: unknown): boolean =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/** Binds the bucket, creating it when it is missing (an existing one keeps its settings). */
export function openDialogsBucket(js: JetStreamClient, settings: DialogsBucketSettings): Promise<KV> {
  return new Kvm(js).create(settings.bucket, { storage: StorageType.File, history: 1, replicas: settings.replicas });
}

export class JetStreamDialogStore implements DialogStore {
  private kv: Promise<KV>;
  private reopening = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly settings: DialogsBucketSettings,
    private readonly log: Logger,
  ) {
    this.kv = openDialogsBucket(js, settings);
    // a failure here is seen (and healed) by the first write; a rejection nobody awaits must not end the process
    this.kv.catch((err: unknown) => log.warn({ err, bucket: settings.bucket }, 'dialogs bucket not bound yet: snapshots wait for it'));
  }

  /** Resolves once the bucket is bound (rejects if it cannot be). */
  async ready(): Promise<void> {
    await this.kv;
  }

  async put(key: string, value: Uint8Array, previous: number | undefined): Promise<number> {
    return this.guard(key, (kv) => (previous === undefined ? kv.create(key, value) : kv.update(key, value, previous)));
  }

  async get(key: string): Promise<StoredSnapshot | undefined> {
    const entry = await this.guard(key, (kv) => kv.get(key));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return { value: entry.value, revision: entry.revision };
  }

  async delete(key: string, previous: number): Promise<void> {
    await this.guard(key, (kv) => kv.delete(key, { previousSeq: previous }));
  }

  async keys(prefix: string): Promise<string[]> {
    return this.guard(prefix, async (kv) => {
      const out: string[] = [];
      for await (const key of await kv.keys(`${prefix}.>`)) out.push(key);
      return out;
    });
  }

  /** A wrong revision is a RevisionConflict; any other failure has the bucket bound (or made) again before the next use. */
  private async guard<T>(key: string, op: (kv: KV) => Promise<T>): Promise<T> {
    try {
      return await op(await this.kv);
    } catch (err) {
      if (isWrongRevision(err)) throw new RevisionConflict(key);
      this.reopen();
      throw err;
    }
  }

  private reopen(): void {
    if (this.reopening) return;
    this.reopening = true;
    const next = openDialogsBucket(this.js, this.settings);
    next.then(
      () => (this.kv = next),
      (err: unknown) => this.log.warn({ err, bucket: this.settings.bucket }, 'dialogs bucket not reachable: snapshots wait for it'),
    ).finally(() => (this.reopening = false));
  }
}
