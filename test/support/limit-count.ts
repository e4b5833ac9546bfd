import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';

/** The concurrent calls counted for `trunk` across the cluster in the limits bucket `bucket` (live leases only). A direct get: a STREAM.MSG.GET can crash nats-server 2.9.10 while a bucket is being made (packages/limits/src/kv-call-limiter-heal.test.ts). */
export async function trunkCount(nc: NatsConnection, bucket: string, trunk = 'acme'): Promise<number> {
  const jsm = await jetstreamManager(nc, { timeout: 1_000 }); // a direct get of a missing stream goes unanswered: not 5 s
  const entry = await jsm.direct.getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.trunk.${trunk}` }).catch(() => null);
  if (entry === null || entry.data.length === 0) return 0;
  // the limits value is short JSON (packages/limits/src/limit-value.ts): each worker's count under its lease
  const value = JSON.parse(new TextDecoder().decode(entry.data)) as { w: Record<string, { c: number; l: number }> };
  const now = Date.now();
  return Object.values(value.w).reduce((n, s) => n + (s.l > now ? s.c : 0), 0);
}
