// The KV bucket the limits live in. File storage: a nats-server restarted on its store keeps the
// counts, so no worker is refused for lack of them. Replicas: 1 on one server, 3 in a JetStream
// cluster, where a bucket on one server would be lost with it.
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { openKvBucket } from '@switchboard/kv-bucket';

export { kvStreamName } from '@switchboard/kv-bucket';

export interface LimitsBucketSettings {
  readonly bucket: string;
  /** Copies of the bucket in a JetStream cluster (1..5); used only when the bucket is created. */
  readonly replicas: number;
}

/**
 * Binds the limits bucket, making it when it is missing (@switchboard/kv-bucket: no share
 * written meanwhile is lost, revisions start above the lost bucket's). `created` tells a worker
 * that it made it (a first start, a server back on an empty store, an operator's delete): the
 * counts are then whatever the workers write back, so each must write its share again.
 */
export function openLimitsBucket(js: JetStreamClient, settings: LimitsBucketSettings): Promise<{ kv: KV; created: boolean }> {
  return openKvBucket(js, { ...settings, purpose: 'Switchboard call limits: each worker\'s share of every limited trunk and carrier' });
}
