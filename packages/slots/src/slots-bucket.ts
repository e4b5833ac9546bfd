// The KV bucket of slot owners. File storage: a nats-server restarted on its store keeps who owns
// what. Replicas: 1 on one server, 3 in a JetStream cluster.
import { JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';

export const DEFAULT_SLOTS_BUCKET = 'sb-slots';

/** The stream behind a KV bucket (the KV convention of nats.js and the nats CLI). */
export const kvStreamName = (bucket: string): string => `KV_${bucket}`;

/** The key of slot `n`. */
export const slotKey = (slot: number): string => `slot.${slot}`;

/** The slot a key names, or undefined for any other key. */
export function slotOfKey(key: string): number | undefined {
  const m = /^slot\.(\d{1,4})$/.exec(key);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Binds the bucket, creating it when missing; `created` says it was (a first start, or a server
 * back on an empty store): every owner must then write its slots back.
 */
export async function openSlotsBucket(js: JetStreamClient, bucket: string, replicas: number): Promise<{ kv: KV; created: boolean }> {
  const jsm = await js.jetstreamManager();
  let created = false;
  try {
    await jsm.streams.info(kvStreamName(bucket));
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    created = true;
  }
  const kv = await new Kvm(js).create(bucket, { storage: StorageType.File, history: 1, replicas });
  if (created) await startRevisionsAfterEveryOldOne(jsm, kvStreamName(bucket));
  return { kv, created };
}

/**
 * As for the limits bucket: a recreated bucket numbering its revisions from 1 again would let a
 * worker's compare-and-set on a revision cached from the lost bucket pass. Purging the empty
 * stream up to a sequence moves its first sequence there, above any earlier bucket's.
 */
async function startRevisionsAfterEveryOldOne(jsm: JetStreamManager, stream: string): Promise<void> {
  const { state } = await jsm.streams.info(stream);
  if (state.last_seq !== 0) return;
  await jsm.streams.purge(stream, { seq: Date.now() * 1000 });
}
