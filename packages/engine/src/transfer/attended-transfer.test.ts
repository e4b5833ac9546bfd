// The far side of an attended transfer (RFC 3891 Replaces): the call that holds the replaced
// dialog hands its far party over to the call that joins it, and hangs up a party nobody took.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest } from '@switchboard/sip';
import { scopeOf } from '@switchboard/wire';
import type { JoinReply } from '../protocol/bridge-messages.js';
import { A_PORT, B_PORT, deliver, fromA, isReq, settle } from '../testing/harness.js';
import { trunking, engineWith, type Call, waitFor, takeOne, establish } from '../testing/transfer-fixtures.js';

describe('transfer: the call that holds a replaced dialog (attended transfer)', () => {
  /** Asks the engine, as another call would, to hand over the far party of the PBX's dialog of `call`. */
  function join(h: ReturnType<typeof engineWith>, call: Call, master = { worker: 'w1', call: 'nobody' }): Promise<JoinReply> {
    const ourTag = call.ok.headers.to?.tag ?? '';
    const pbxTag = call.ok.headers.from?.tag ?? '';
    return new Promise((resolve) => h.engine.onJoin({ legScope: scopeOf(ourTag) ?? '', callId: call.ok.headers.callId ?? '', tags: [ourTag, pbxTag], master }, resolve));
  }

  test('a master that never attaches: after joinAttachMs the far party is hung up (nobody would hear it)', async () => {
    const h = engineWith(trunking(), { joinAttachMs: 100 });
    const call = await establish(h);
    const reply = await join(h, call);
    assert.equal(reply.ok, true);
    await settle();
    takeOne<SipRequest>(h, A_PORT, isReq('BYE'), 'BYE ending the replaced dialog');
    assert.equal(h.link.take(B_PORT, isReq('BYE')).length, 0, 'the far party is kept for the master at first');
    await waitFor(() => h.link.sent.some((s) => s.to.port === B_PORT && s.message instanceof SipRequest && s.message.method === 'BYE'), 'BYE to the far party');
    h.kernel.shutdown();
  });

  test('a dialog that has ended (its leg only finishing transactions) cannot be joined: 481', async () => {
    const h = engineWith();
    const call = await establish(h);
    deliver(h.engine, fromA(call.ok, 'BYE', 2), A_PORT);
    await settle();
    const reply = await join(h, call);
    assert.deepEqual(reply, { ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
    h.kernel.shutdown();
  });
});
