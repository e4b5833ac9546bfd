// The KV bucket of slot owners. File storage: a nats-server restarted on its store keeps who owns
// what. Replicas: 1 on one server, 3 in a JetStream cluster.
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { openKvBucket } from '@switchboard/kv-bucket';

export { kvStreamName } from '@switchboard/kv-bucket';

export const DEFAULT_SLOTS_BUCKET = 'sb-slots';

/** The key of slot `n`. */
export const slotKey = (slot: number): string => `slot.${slot}`;

/** The slot a key names, or undefined for any other key. */
export function slotOfKey(key: string): number | undefined {
  const m = /^slot\.(\d{1,4})$/.exec(key);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Binds the bucket, making it when missing (@switchboard/kv-bucket: no slot written meanwhile is
 * lost, revisions start above the lost bucket's); `created` says this worker made it (a first
 * start, or a server back on an empty store): every owner must then write its slots back.
 */
export function openSlotsBucket(js: JetStreamClient, bucket: string, replicas: number): Promise<{ kv: KV; created: boolean }> {
  return openKvBucket(js, { bucket, replicas, purpose: 'Switchboard slot owners: which worker owns which of the routing slots' });
}
