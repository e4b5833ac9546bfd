// Ended legs hand the transactions that only answer retransmissions to the worker's settled
// table and stop at once (issue 17); the table answers those retransmissions as the legs would
// have (RFC 3261 §17) until the timers that would have ended them are due, then forgets them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAck, parseMessage, SipRequest, SipResponse } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, establish, fromA, inviteFromA, isReq, isRes, makeEngine, settle } from '../testing/harness.js';
import { VirtualTime } from '../testing/virtual-time.js';

test('a call ended over UDP stops its actors at once; a retransmitted BYE gets its 200 again, the INVITE\'s and the 200\'s retransmissions are absorbed, until 64*T1', async (t) => {
  const clock = new VirtualTime(t);
  const h = makeEngine();
  const before = h.kernel.size;
  const invite = inviteFromA();
  const { ok } = await establish(h, invite);
  const bye = fromA(ok, 'BYE', 2);
  deliver(h.engine, bye, A_PORT);
  await settle();
  assert.equal(h.link.take(A_PORT, isRes(200, 'BYE')).length, 1);
  const [byeB] = h.link.take(B_PORT, isReq('BYE'));
  assert.ok(byeB instanceof SipRequest);
  const byeOk = answer(byeB, 200);
  deliver(h.engine, byeOk, B_PORT);
  await settle();
  assert.equal(h.ctx.calls.size, 0);
  // no timer has run: without the table, the legs would wait for Timers J, L and M (64*T1)
  assert.equal(h.kernel.size, before, 'the call\'s actors are gone at once');
  assert.ok(h.ctx.settled.size >= 3, `settled: ${h.ctx.settled.size}`);

  deliver(h.engine, bye, A_PORT);
  deliver(h.engine, invite, A_PORT);
  deliver(h.engine, byeOk, B_PORT);
  await settle();
  assert.deepEqual(h.link.take(A_PORT, () => true).map((m) => `${'status' in m ? m.status : m.method} ${m.headers.cseq?.method}`), ['200 BYE'], 'the BYE\'s 200 again, nothing for the INVITE');
  assert.equal(h.link.take(B_PORT, () => true).length, 0, 'no new call, nothing to the carrier');
  assert.equal(h.ctx.calls.size, 0);

  await clock.advance(64 * h.ctx.timers.t1 + 2_000, 1_000);
  assert.equal(h.ctx.settled.size, 0, 'forgotten once their timers are due');
  deliver(h.engine, bye, A_PORT);
  await settle();
  assert.equal(h.link.take(A_PORT, isRes(481, 'BYE')).length, 1, 'then a BYE is for no dialog');
  h.kernel.shutdown();
});

test('a carrier\'s 486 retransmitted after the call ended gets our ACK again (Timer D); the caller\'s leg settles only once its 486 is ACKed', async (t) => {
  const clock = new VirtualTime(t);
  const h = makeEngine();
  const before = h.kernel.size;
  const invite = inviteFromA();
  deliver(h.engine, invite, A_PORT);
  await settle();
  const [bInvite] = h.link.take(B_PORT, isReq('INVITE'));
  assert.ok(bInvite instanceof SipRequest);
  const busy = answer(bInvite, 486);
  deliver(h.engine, busy, B_PORT);
  await settle();
  assert.equal(h.link.take(B_PORT, isReq('ACK')).length, 1);
  const [refused] = h.link.take(A_PORT, isRes(486, 'INVITE'));
  assert.ok(refused instanceof SipResponse, 'the caller gets the 486');
  // the caller's INVITE transaction still sends its 486 until the ACK (Timer G): the leg stays for it
  assert.ok(h.kernel.size > before, 'the caller\'s leg waits for its ACK');
  // §17.1.1.3: the caller's ACK of the 486, in the INVITE's transaction
  deliver(h.engine, createAck(parseMessage(Buffer.from(invite)) as SipRequest, refused), A_PORT);
  await settle();
  assert.equal(h.kernel.size, before, 'ACKed: the call is gone');

  deliver(h.engine, busy, B_PORT);
  await settle();
  assert.equal(h.link.take(B_PORT, isReq('ACK')).length, 1, 'the 486 again: our ACK again');
  // Timer D: 32 s, or 64*T1 when that is longer (the harness's T1 is 4 s)
  await clock.advance(Math.max(32_000, 64 * h.ctx.timers.t1) + 2_000, 1_000);
  deliver(h.engine, busy, B_PORT);
  await settle();
  assert.equal(h.link.take(B_PORT, () => true).length, 0, 'after Timer D: nothing');
  h.kernel.shutdown();
});
