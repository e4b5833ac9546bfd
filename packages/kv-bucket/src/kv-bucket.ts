// A JetStream KV bucket that workers may have to make again under a running cluster: nats-server
// back on an empty store, or an operator's delete. Workers compare-and-set on revisions, and a
// bucket made anew numbers its revisions from 1 again, so a worker still holding a revision from
// the lost bucket could see a stale write pass should that number come round. nats-server 2.9
// has no `first_seq` setting; purging an empty stream up to a sequence moves its first sequence
// there. But a purge also deletes whatever was written before it, and right after a restart
// every worker writes at once: a share or a slot written between the making and the purge would
// be lost without anyone knowing (seen: a held call no longer counted against its trunk's limit).
//
// So a bucket is made hidden: its stream first listens on a subject no KV client writes to, is
// purged up to microseconds since the epoch (which writes to one bucket never outrun), and only
// then takes the bucket's subjects. A write meanwhile finds no stream and fails ("no responders"),
// as it would with no bucket at all; the writer's heal tries again. One worker makes it: the
// maker's description carries a nonce, so a second maker's create is refused as a different
// configuration and waits for the bucket to be revealed. A bucket left hidden by a maker that
// stopped midway is finished by the next worker that opens it after HIDDEN_FOR_AT_MOST_MS.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType,
  type JetStreamClient, type JetStreamManager, type StreamInfo,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';

export interface KvBucketSettings {
  readonly bucket: string;
  /** Copies of the bucket in a JetStream cluster (1..5); used only when the bucket is made. */
  readonly replicas: number;
  /** What the bucket is for, in its stream's description. */
  readonly purpose: string;
  /** For tests: HIDDEN_FOR_AT_MOST_MS. */
  readonly hiddenForAtMostMs?: number;
}

/** The stream behind a KV bucket (the KV convention of nats.js and the nats CLI). */
export const kvStreamName = (bucket: string): string => `KV_${bucket}`;

/** The subjects of a bucket's stream: every key. */
const bucketSubjects = (bucket: string): string[] => [`$KV.${bucket}.>`];

/** What a bucket being made listens on instead: no KV client publishes here. */
export const hiddenSubject = (bucket: string): string => `_switchboard.kv-bucket-being-made.${bucket}`;

/** A bucket hidden for longer than this was left so by a maker that stopped: the next opener finishes it. */
export const HIDDEN_FOR_AT_MOST_MS = 3_000;

const REVEAL_POLL_MS = 20;

/**
 * What a second maker's create gets, depending on how far the first one's went: a stream of this
 * name with another configuration (JSStreamNameExistErr), or one on the same subjects
 * (JSStreamSubjectOverlapErr).
 */
const MADE_BY_ANOTHER = new Set([10058, 10065]);

const isHidden = (info: StreamInfo, bucket: string): boolean => info.config.subjects?.includes(hiddenSubject(bucket)) === true;

/**
 * Binds the bucket, making it when it is missing (see the header). `created` is true for the
 * worker that made it: a first start, a server back on an empty store, an operator's delete.
 */
export async function openKvBucket(js: JetStreamClient, settings: KvBucketSettings): Promise<{ kv: KV; created: boolean }> {
  const jsm = await js.jetstreamManager();
  const stream = kvStreamName(settings.bucket);
  let info = await streamInfo(jsm, stream);
  let created = false;
  if (info === undefined) {
    created = await makeHidden(jsm, settings);
    if (created) await reveal(jsm, settings.bucket);
    else {
      info = await streamInfo(jsm, stream);
      if (info === undefined) throw new Error(`KV bucket ${settings.bucket} was deleted while it was being made`);
    }
  }
  if (info !== undefined && isHidden(info, settings.bucket)) await revealed(jsm, settings.bucket, info, settings.hiddenForAtMostMs ?? HIDDEN_FOR_AT_MOST_MS);
  // An existing bucket keeps its settings (an operator's `nats kv edit`, or one an older worker
  // made): create binds it as it is.
  const kv = await new Kvm(js).create(settings.bucket, { storage: StorageType.File, history: 1, replicas: settings.replicas });
  return { kv, created };
}

async function streamInfo(jsm: JetStreamManager, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(stream);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  }
}

/** Makes the bucket's stream, hidden, as nats.js would make the bucket; false when another worker made it first. */
async function makeHidden(jsm: JetStreamManager, settings: KvBucketSettings): Promise<boolean> {
  try {
    await jsm.streams.add({
      name: kvStreamName(settings.bucket),
      subjects: [hiddenSubject(settings.bucket)],
      description: `${settings.purpose} (made ${new Date().toISOString()}, ${randomUUID()})`,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: settings.replicas,
      max_msgs_per_subject: 1,
      max_msg_size: -1,
      max_bytes: -1,
      discard: DiscardPolicy.New,
      allow_direct: true,
      allow_rollup_hdrs: true,
    });
    return true;
  } catch (err) {
    if (err instanceof JetStreamApiError && MADE_BY_ANOTHER.has(err.code)) return false;
    throw err;
  }
}

/** Waits for another worker to reveal the bucket it is making (a few milliseconds), or finishes it when that worker stopped midway. */
async function revealed(jsm: JetStreamManager, bucket: string, info: StreamInfo, hiddenForAtMostMs: number): Promise<void> {
  for (;;) {
    if (Date.now() - Date.parse(info.created) > hiddenForAtMostMs) return reveal(jsm, bucket);
    await sleep(REVEAL_POLL_MS);
    const now = await streamInfo(jsm, kvStreamName(bucket));
    if (now === undefined) throw new Error(`KV bucket ${bucket} was deleted while it was being made`);
    if (!isHidden(now, bucket)) return;
    info = now;
  }
}

/** Moves the hidden stream's first sequence above every earlier bucket's, then gives it the bucket's subjects. */
async function reveal(jsm: JetStreamManager, bucket: string): Promise<void> {
  await jsm.streams.purge(kvStreamName(bucket), { seq: Date.now() * 1000 });
  await jsm.streams.update(kvStreamName(bucket), { subjects: bucketSubjects(bucket) });
}
