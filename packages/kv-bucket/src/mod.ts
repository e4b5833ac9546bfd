// @switchboard/kv-bucket — JetStream KV buckets a worker can make again under a running cluster without losing a write.
export { HIDDEN_FOR_AT_MOST_MS, hiddenSubject, kvStreamName, openKvBucket, type KvBucketSettings } from './kv-bucket.js';
