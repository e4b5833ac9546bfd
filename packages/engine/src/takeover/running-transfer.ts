// A transfer that was running on the worker that died (docs/architecture.md "Worker takeover"):
// its transfer actor and new leg are gone with it (not resumable), so the adopter ends it as a
// failure while the call itself goes on: the transferor gets the final NOTIFY of its implicit
// subscription (RFC 3515 §2.4.5) and the record says the transfer failed. (Its new leg was
// early, so in no snapshot: if it answers now, its 2xx is a stray answer, ACKed and ended.)
import type { CallActor } from '../call/call-actor.js';
import type { CallSnapshot } from './call-snapshot.js';

/** What the transfer's final NOTIFY and its record say: the service that ran it is unavailable. */
export const TAKEOVER_TRANSFER_STATUS = { status: 503, reason: 'Service Unavailable' } as const;

/** Ends the transfer `s` was running, on the call rebuilt from it (its legs restored). */
export function failRunningTransfer(call: CallActor, s: CallSnapshot): void {
  const { status, reason } = TAKEOVER_TRANSFER_STATUS;
  let running = false;
  for (const [i, record] of call.transferRecords.entries()) {
    if (record.outcome !== 'in-progress') continue;
    running = true;
    Object.assign(record, { outcome: 'failed', status });
    call.note({ type: 'transfer-failed', index: i + 1, at: Date.now(), status, statusText: reason, aborted: false });
    call.ctx.counters.add('transfer.lost-at-takeover');
  }
  const t = s.transfer;
  if (!running || t === undefined || !call.legActors.has(t.transferor)) return;
  // RFC 3515 §2.4.6: the NOTIFY names its REFER by the REFER's CSeq (`id` may be on the first one too)
  call.tell(t.transferor, {
    type: 'send-request', token: { kind: 'notify', seq: 1 }, method: 'NOTIFY',
    body: Buffer.from(`SIP/2.0 ${status} ${reason}\r\n`), contentType: 'message/sipfrag;version=2.0',
    headers: [['Event', `refer;id=${t.referCSeq}`], ['Subscription-State', 'terminated;reason=noresource']],
  });
}
