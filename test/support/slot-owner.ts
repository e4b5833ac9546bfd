// Which worker owns a dialog: our tags name a slot (its first 3 hex digits), and the slot's owner
// is in the sb-slots bucket (docs/architecture.md "Worker takeover").
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** The slot one of our tags (or branches, without the cookie) names; NaN for anything else. */
export function slotOfTag(tag: string | undefined): number {
  const m = /^(?:z9hG4bK-)?([0-9a-f]{3})[0-9a-f]{13}[.-][0-9a-f]{12}$/.exec(tag ?? '');
  return m === null ? Number.NaN : Number.parseInt(m[1] ?? '', 16);
}

/** The worker that owns `slot` now, as the bucket says ('' when none). */
export async function slotOwner(natsUrl: string, slot: number, bucket = 'sb-slots'): Promise<{ worker: string; epoch: number }> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 1_000 }); // a direct get of a missing stream goes unanswered: not 5 s
    const m = await jsm.direct.getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.slot.${slot}` });
    if (m === null) return { worker: '', epoch: 0 };
    return m.json<{ worker: string; epoch: number }>();
  } catch {
    return { worker: '', epoch: 0 };
  } finally {
    await nc.close();
  }
}

/** The worker owning the dialog our tag names ('' when none). */
export async function ownerOfTag(natsUrl: string, tag: string | undefined): Promise<string> {
  const slot = slotOfTag(tag);
  return Number.isNaN(slot) ? '' : (await slotOwner(natsUrl, slot)).worker;
}
