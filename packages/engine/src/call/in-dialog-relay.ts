import type { LegEvent, LegName } from '../protocol/call-messages.js';
import type { LegMessage } from '../protocol/leg-messages.js';

/**
 * The in-dialog requests a call relays between its bridged parties (re-INVITE, UPDATE, INFO…):
 * each sent on under a relay id of the call's, its answer brought back to the request it
 * answers. The table exists only while a request is in flight: a quiet call holds none.
 */
export class InDialogRelay {
  private waiting: Map<number, { from: LegName; key: string }> | undefined;
  private count = 0;

  /** The command that sends `m` on to the other party. */
  forward(m: Extract<LegEvent, { type: 'request' }>): Extract<LegMessage, { type: 'send-request' }> {
    const id = ++this.count;
    (this.waiting ??= new Map()).set(id, { from: m.leg, key: m.token });
    return { type: 'send-request', token: { kind: 'relay', id }, method: m.method, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) };
  }

  /** The leg waiting for `m` and the answer it sends its party; undefined for no request of ours. */
  answer(m: Extract<LegEvent, { type: 'request-answered' }>): { leg: LegName; command: Extract<LegMessage, { type: 'answer-request' }> } | undefined {
    if (m.token.kind !== 'relay') return undefined;
    const waiting = this.waiting?.get(m.token.id);
    if (waiting === undefined) return undefined;
    this.waiting?.delete(m.token.id);
    if (this.waiting?.size === 0) this.waiting = undefined;
    const body = m.body !== undefined && m.body.length > 0 ? m.body : undefined;
    return {
      leg: waiting.from,
      command: { type: 'answer-request', token: waiting.key, status: m.status, reason: m.reason, ...(body === undefined ? {} : { body, contentType: m.contentType }) },
    };
  }

  clear(): void {
    this.waiting = undefined;
  }
}
