// afterlife: which states only absorb retransmissions, for how long at most, and what they send again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { afterlife } from './absorbing.js';
import type { ClientTransaction, ServerTransaction } from './create-transaction.js';
import { clientTransaction, serverTransaction } from './create-transaction.js';
import { request, response } from './fixtures.js';
import { timerSettings } from './timers.js';

const timers = timerSettings({ t1: 500, t4: 5_000 });
const udp = { reliable: false, timers };
const tcp = { reliable: true, timers };
const absorbingFor = (tx: ClientTransaction | ServerTransaction) => afterlife(tx)?.ms;

test('server transactions: waiting for the TU or resending a non-2xx until its ACK is work; Completed, Accepted and Confirmed absorb until J, L and I', () => {
  const bye = request({ method: 'BYE', toTag: 'uas-tag-1' });
  const byeTx = serverTransaction(bye, udp);
  byeTx.handle({ type: 'start' });
  assert.equal(absorbingFor(byeTx), undefined, 'Trying: the TU has not answered');
  const byeOk = response(bye, 200);
  byeTx.handle({ type: 'respond', response: byeOk });
  assert.deepEqual(afterlife(byeTx), { ms: 64 * 500, again: byeOk, passesUp2xx: false }, 'Completed: Timer J, its 200 again');

  const invite = request({ method: 'INVITE' });
  const ok = serverTransaction(invite, udp);
  ok.handle({ type: 'start' });
  assert.equal(absorbingFor(ok), undefined, 'Proceeding');
  ok.handle({ type: 'respond', response: response(invite, 200) });
  assert.deepEqual(afterlife(ok), { ms: 64 * 500, again: undefined, passesUp2xx: false }, 'Accepted: Timer L, retransmitted INVITEs absorbed');

  const refused = serverTransaction(invite, udp);
  refused.handle({ type: 'start' });
  refused.handle({ type: 'respond', response: response(invite, 486) });
  assert.equal(absorbingFor(refused), undefined, 'Completed: the 486 goes again until its ACK');
  refused.handle({ type: 'ack', request: request({ method: 'ACK' }) });
  assert.equal(refused.state, 'Confirmed');
  assert.equal(absorbingFor(refused), 5_000, 'Confirmed: Timer I');
});

test('client transactions: Calling, Proceeding and Trying are work; Completed and Accepted absorb until K, D and M; reliable ones end at once', () => {
  const invite = request({ method: 'INVITE' });
  const calling = clientTransaction(invite, udp);
  calling.handle({ type: 'start' });
  assert.equal(absorbingFor(calling), undefined);
  calling.handle({ type: 'response', response: response(invite, 486) });
  assert.equal(absorbingFor(calling), 32_000, 'Completed: Timer D');
  assert.equal(afterlife(calling)?.again, calling.kind === 'invite' ? calling.ackRequest : undefined, 'its ACK again');
  assert.equal(afterlife(calling)?.again?.kind, 'request');
  const answered = clientTransaction(invite, udp);
  answered.handle({ type: 'start' });
  answered.handle({ type: 'response', response: response(invite, 200) });
  assert.deepEqual(afterlife(answered), { ms: 64 * 500, again: undefined, passesUp2xx: true }, 'Accepted: Timer M, a 2xx again is the TU\'s');

  const bye = request({ method: 'BYE', toTag: 'uas-tag-1' });
  const byeTx = clientTransaction(bye, udp);
  byeTx.handle({ type: 'start' });
  assert.equal(absorbingFor(byeTx), undefined, 'Trying');
  byeTx.handle({ type: 'response', response: response(bye, 200) });
  assert.deepEqual(afterlife(byeTx), { ms: 5_000, again: undefined, passesUp2xx: false }, 'Completed: Timer K, absorbed');

  const overTcp = clientTransaction(bye, tcp);
  overTcp.handle({ type: 'start' });
  overTcp.handle({ type: 'response', response: response(bye, 200) });
  assert.equal(absorbingFor(overTcp), 0, 'Terminated at once over a reliable transport');
});
