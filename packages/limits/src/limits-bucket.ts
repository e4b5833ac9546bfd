// The KV bucket the limits live in. File storage: a nats-server restarted on its store keeps the
// counts, so no worker is refused for lack of them. Replicas: 1 on one server, 3 in a JetStream
// cluster, where a bucket on one server would be lost with it.
import { JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';

export interface LimitsBucketSettings {
  readonly bucket: string;
  /** Copies of the bucket in a JetStream cluster (1..5); used only when the bucket is created. */
  readonly replicas: number;
}

/** The stream behind a KV bucket (the KV convention of nats.js and the nats CLI). */
export const kvStreamName = (bucket: string): string => `KV_${bucket}`;

/**
 * Binds the limits bucket, creating it when it is missing. `created` tells a worker that it
 * found no bucket (a first start, a server back on an empty store, an operator's delete): the
 * counts are then whatever the workers write back, so each must write its share again.
 */
export async function openLimitsBucket(js: JetStreamClient, settings: LimitsBucketSettings): Promise<{ kv: KV; created: boolean }> {
  const jsm = await js.jetstreamManager();
  let created = false;
  try {
    await jsm.streams.info(kvStreamName(settings.bucket));
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    created = true;
  }
  // An existing bucket keeps its settings (an operator's `nats kv edit`, or a memory bucket made
  // by an older worker, until the cluster restarts): create binds it as it is.
  const kv = await new Kvm(js).create(settings.bucket, { storage: StorageType.File, history: 1, replicas: settings.replicas });
  if (created) await startRevisionsAfterEveryOldOne(jsm, kvStreamName(settings.bucket));
  return { kv, created };
}

/**
 * A bucket made anew would number its revisions from 1 again, and a worker that has not noticed
 * the loss yet compares-and-sets with a revision it cached from the old bucket: should that
 * number come round again, its stale value (other workers' old shares) would pass. Purging an
 * empty stream up to a sequence moves its first sequence there (nats-server 2.9 has no
 * `first_seq` setting), so revisions of the new bucket start above any earlier bucket's:
 * microseconds since the epoch, which writes to one bucket never outrun.
 */
async function startRevisionsAfterEveryOldOne(jsm: JetStreamManager, stream: string): Promise<void> {
  const { state } = await jsm.streams.info(stream);
  // another worker made it first and moved it already, or has written to it: leave it as it is
  if (state.last_seq !== 0) return;
  await jsm.streams.purge(stream, { seq: Date.now() * 1000 });
}
