// A call that is up keeps no INVITE (issue 17): its INVITE transactions let go of their messages
// once Accepted (RFC 6026), and the carrier's leg of its INVITE once answered, though the
// transactions themselves live 64*T1 longer (Timers L and M). Before, every call of the last 32 s
// kept both INVITEs and its 200 (~8 KB a call at 100 calls/s, `calls.js` "3 s after set-up").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SipRequest, SipResponse, type SipMessage } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, establish, fromA, inviteFromA, isReq, isRes, makeEngine, SDP_B, settle } from '../testing/harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Whether `ref`'s message is still reachable once a full collection ran (WeakRefs hold for the job that made them). */
async function collected(ref: WeakRef<SipMessage>): Promise<boolean> {
  await new Promise((r) => setImmediate(r));
  gc();
  return ref.deref() === undefined;
}

test('an answered call keeps neither INVITE nor its 200 while its INVITE transactions absorb retransmissions; the call goes on as before', async () => {
  const h = makeEngine();
  // the engine's own messages, as it hands them to the link (the fake link keeps copies only)
  const watched: { what: string; ref: WeakRef<SipMessage> }[] = [];
  const send = h.link.send.bind(h.link);
  h.link.send = (message, to, ref) => {
    if (message instanceof SipRequest && message.method === 'INVITE' && to.port === B_PORT) watched.push({ what: 'INVITE to the carrier', ref: new WeakRef(message) });
    if (message instanceof SipResponse && message.status === 200 && to.port === A_PORT) watched.push({ what: '200 to the caller', ref: new WeakRef(message) });
    send(message, to, ref);
  };
  const invite = inviteFromA();
  const { bInvite, ok } = await establish(h, invite);
  assert.equal(h.ctx.calls.size, 1);
  assert.deepEqual(watched.map((w) => w.what), ['INVITE to the carrier', '200 to the caller']);
  for (const w of watched) assert.ok(await collected(w.ref), `${w.what}: no longer held by the call`);

  // what the transactions still do without their messages (Timers L and M have not run)
  deliver(h.engine, invite, A_PORT);
  deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), B_PORT);
  await settle();
  assert.equal(h.link.take(A_PORT).length, 0, 'the caller\'s INVITE again: absorbed');
  assert.equal(h.link.take(B_PORT, isReq('ACK')).length, 1, 'the carrier\'s 200 again: ACKed again (§13.2.2.4)');
  assert.equal(h.ctx.calls.size, 1);

  deliver(h.engine, fromA(ok, 'BYE', 2), A_PORT);
  await settle();
  assert.equal(h.link.take(A_PORT, isRes(200, 'BYE')).length, 1);
  const [byeB] = h.link.take(B_PORT, isReq('BYE'));
  assert.ok(byeB instanceof SipRequest);
  deliver(h.engine, answer(byeB, 200), B_PORT);
  await settle();
  assert.equal(h.ctx.calls.size, 0);
  assert.equal(h.records.length, 1, 'one record of the call');
});
