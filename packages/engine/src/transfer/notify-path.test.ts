// The path of a transfer's NOTIFY through the actors: the transfer actor sends it to the
// transferor's leg, the leg's answer comes straight back (two mailbox hops); the call is not on
// the way, and no string is parsed to find it. Observed with a kernel that records every
// message each actor receives.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ActorBehaviour, ActorKernel, ActorRef } from '../kernel/actor-kernel.js';
import { NactKernel } from '../kernel/nact-kernel.js';
import { A_PORT, B_PORT, answer, deliver, fromA, isReq, isRes, makeEngine, settle } from '../testing/harness.js';
import { establish, SDP_C, takeOne } from '../testing/transfer-fixtures.js';

interface Received {
  actor: string;
  type: string;
  token?: unknown;
}

/** A kernel that records, for each message an actor receives, the actor and the message's type and token. */
class RecordingKernel implements ActorKernel {
  readonly received: Received[] = [];
  private readonly inner = new NactKernel();

  spawn<M>(id: string, behaviour: ActorBehaviour<M>): ActorRef<M> {
    const received = this.received;
    const recording: ActorBehaviour<M> = {
      receive(m: M) {
        const { type, token } = m as { type?: string; token?: unknown };
        received.push({ actor: id, type: type ?? '?', ...(token === undefined ? {} : { token }) });
        behaviour.receive(m);
      },
      crashed: (error, m) => behaviour.crashed(error, m),
      stopped: () => behaviour.stopped?.(),
    };
    return this.inner.spawn(id, recording);
  }

  find<M>(id: string): ActorRef<M> | undefined {
    return this.inner.find<M>(id);
  }

  stop(id: string): void {
    this.inner.stop(id);
  }

  get size(): number {
    return this.inner.size;
  }

  shutdown(): void {
    this.inner.shutdown();
  }
}


describe('transfer: the NOTIFY path', () => {
  test('transfer → transferor leg (send-request, token notify) → transfer (request-answered): the call sees neither', async () => {
    const kernel = new RecordingKernel();
    const h = makeEngine(undefined, kernel);
    const { ok } = await establish(h);

    kernel.received.splice(0);
    deliver(h.engine, fromA(ok, 'REFER', 2, ['Refer-To: <sip:+14155552000@switchboard.example>']), A_PORT);
    await settle();
    takeOne(h, A_PORT, isRes(202, 'REFER'), '202');
    const notify = takeOne(h, A_PORT, isReq('NOTIFY'), 'NOTIFY 100');
    deliver(h.engine, answer(notify, 200), A_PORT);
    await settle();

    const transfer = kernel.received.find((r) => r.actor.startsWith('transfer-'))?.actor;
    assert.ok(transfer, 'a transfer actor ran');
    const notifyToken = { kind: 'notify', seq: 1 };
    const sent = kernel.received.filter((r) => r.type === 'send-request' && (r.token as { kind?: string } | undefined)?.kind === 'notify');
    assert.equal(sent.length, 1, 'the NOTIFY is asked of one actor');
    assert.match(sent[0]?.actor ?? '', /^leg-/, 'of the transferor\'s leg');
    const answered = kernel.received.filter((r) => r.type === 'request-answered' && (r.token as { kind?: string } | undefined)?.kind === 'notify');
    assert.deepEqual(answered, [{ actor: transfer, type: 'request-answered', token: notifyToken }], 'its answer goes straight to the transfer');
    const call = kernel.received.filter((r) => r.actor.startsWith('call-'));
    assert.ok(call.every((r) => (r.token as { kind?: string } | undefined)?.kind !== 'notify' && r.type !== 'notify'), `the call saw no NOTIFY: ${JSON.stringify(call)}`);
    h.kernel.shutdown();
  });

  test('a transferor that hangs up without answering the final NOTIFY (over TCP: its leg is gone at once) ends the subscription, not the transfer: the transfer actor stops', async () => {
    const kernel = new RecordingKernel();
    const h = makeEngine(undefined, kernel);
    const { ok } = await establish(h, 'tcp');
    deliver(h.engine, fromA(ok, 'REFER', 2, ['Refer-To: <sip:+14155552000@switchboard.example>']), A_PORT, 'tcp');
    await settle();
    takeOne(h, A_PORT, isRes(202, 'REFER'), '202');
    deliver(h.engine, answer(takeOne(h, A_PORT, isReq('NOTIFY'), 'NOTIFY 100'), 200), A_PORT, 'tcp');
    await settle();
    const cInvite = takeOne(h, B_PORT, isReq('INVITE'), 'the new leg\'s INVITE');
    deliver(h.engine, answer(cInvite, 200, { tag: 'ctag', sdp: SDP_C }), B_PORT);
    await settle();
    takeOne(h, A_PORT, isReq('NOTIFY'), 'the final NOTIFY (left unanswered)');
    const transfer = kernel.received.find((r) => r.actor.startsWith('transfer-'))?.actor ?? '';
    assert.ok(kernel.find(transfer), 'the transfer waits for the answer to its final NOTIFY');
    deliver(h.engine, fromA(ok, 'BYE', 3), A_PORT, 'tcp');
    await settle();
    assert.equal(h.ctx.calls.size, 1, 'the call goes on between the remaining and the new party');
    assert.equal(kernel.find(transfer), undefined, 'the transfer actor is gone, not waiting for its 60 s expiry');
    h.kernel.shutdown();
  });
});
