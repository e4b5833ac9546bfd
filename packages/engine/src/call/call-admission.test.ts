// The call actor before it places anything: refusals by the trunk policy, the trunk's limits,
// and an admission that takes time (a CANCEL meanwhile, a release once) — through the engine
// with a fake SIP link.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeldSlots, LocalCallLimiter, type Admission, type CallLimiter, type LimitHold, type LimitRequest } from '@switchboard/limits';
import { A_PORT, B_PORT, answer, deliver, fromA, inviteFromA, isReq, isRes, makeEngine, settle } from '../testing/harness.js';
import {
  SDP_B, C1, PBX1, CARRIER_SOURCE, CARRIER_PORT, NUMBER_PLAN, carrier, trunking, originationTrunking, engineWith,
  cancelOf, takeInvite, takeFinal, waitFor, establish, hangUp,
} from '../testing/call-fixtures.js';

describe('call actor: refusals before any attempt', () => {
  test('a blocked destination: 403 Destination Blocked, counted, nothing placed', async () => {
    const h = engineWith(trunking([carrier('carrierB', C1)], { restrictions: { blocked: [{ prefix: '+1415', name: 'bay-area' }] } }));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const res = takeFinal(h, A_PORT);
    assert.equal(res.status, 403);
    assert.equal(res.reason, 'Destination Blocked');
    assert.equal(h.ctx.counters.get('refused.destination-blocked'), 1);
    assert.equal(h.link.take(C1).length, 0);
    h.kernel.shutdown();
  });

  test('a source in no ACL: 403 Forbidden', async () => {
    const h = makeEngine();
    deliver(h.engine, inviteFromA(), A_PORT, 'udp', '192.0.2.77');
    await settle();
    const res = takeFinal(h, A_PORT);
    assert.equal(res.status, 403);
    assert.equal(res.reason, 'Forbidden');
    assert.equal(h.ctx.counters.get('refused.unknown-source'), 1);
    assert.equal(h.link.take(B_PORT).length, 0);
    h.kernel.shutdown();
  });

  test('a credentials trunk addressed by its domain without Proxy-Authorization: 407 with a SHA-256 and an MD5 challenge', async () => {
    const beta = {
      id: 'beta', domain: 'beta.example', credentials: [{ username: 'beta-pbx', password: 'correct-horse' }], numberPlan: NUMBER_PLAN,
      routing: [{ prefix: '', carriers: ['carrierB'] }], callerId: { allowed: ['+1'] },
    };
    const h = engineWith(trunking([carrier('carrierB', C1)], {}, [beta]));
    deliver(h.engine, inviteFromA().replace('INVITE sip:+14155550100@switchboard.example', 'INVITE sip:+14155550100@beta.example'), A_PORT, 'udp', '192.0.2.77');
    await settle();
    const res = takeFinal(h, A_PORT);
    assert.equal(res.status, 407);
    const challenges = res.headers.getAll('proxy-authenticate');
    assert.equal(challenges.length, 2);
    assert.ok(challenges.every((c) => c.includes('realm="beta.example"')));
    assert.deepEqual(challenges.map((c) => /algorithm=([\w-]+)/.exec(c)?.[1]).sort(), ['MD5', 'SHA-256']);
    assert.equal(h.ctx.counters.get('challenged'), 1);
    assert.equal(h.link.take(C1).length, 0);
    h.kernel.shutdown();
  });
});

describe('call actor: the trunk limits', () => {
  test('maxConcurrent 1: a second call gets 503 Concurrent Call Limit; once the first ends, a new call is placed', async () => {
    const limiter = new LocalCallLimiter();
    const h = engineWith(trunking([carrier('carrierB', C1)], { restrictions: { maxConcurrent: 1 } }), { limiter });
    const { ok } = await establish(h);
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const refused = takeFinal(h, A_PORT);
    assert.equal(refused.status, 503);
    assert.equal(refused.reason, 'Concurrent Call Limit');
    assert.equal(h.link.take(C1, isReq('INVITE')).length, 0);
    assert.equal(h.ctx.counters.get('limit.concurrency'), 1);

    await hangUp(h, ok);
    assert.equal(limiter.held().size, 0, 'the slot is released when the call ends');
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    takeInvite(h, C1);
    assert.deepEqual([...limiter.held()], [['trunk.acme', 1]]);
    h.kernel.shutdown();
  });

  test('maxCps 1: a second call in the same second gets 503 Call Rate Exceeded with Retry-After 1; a second later one is placed', async () => {
    let now = 1_000_000;
    const limiter = new LocalCallLimiter({ now: () => now });
    const h = engineWith(trunking([carrier('carrierB', C1)], { restrictions: { maxCps: 1 } }), { limiter });
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    takeInvite(h, C1);
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const refused = takeFinal(h, A_PORT);
    assert.equal(refused.status, 503);
    assert.equal(refused.reason, 'Call Rate Exceeded');
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(h.link.take(C1, isReq('INVITE')).length, 0);
    now += 1000;
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    takeInvite(h, C1);
    h.kernel.shutdown();
  });

  test('an origination call over the trunk\'s concurrency: 486 Concurrent Call Limit to the carrier', async () => {
    const limiter = new LocalCallLimiter();
    const h = engineWith(originationTrunking({ restrictions: { maxConcurrent: 1 } }), { limiter });
    await establish(h);
    deliver(h.engine, inviteFromA(), CARRIER_PORT, 'udp', CARRIER_SOURCE);
    await settle();
    const refused = takeFinal(h, CARRIER_PORT);
    assert.equal(refused.status, 486);
    assert.equal(refused.reason, 'Concurrent Call Limit');
    assert.equal(h.link.take(PBX1, isReq('INVITE')).length, 0);
    h.kernel.shutdown();
  });

  test('limits that cannot be checked: 503 Limits Unavailable (a refusal and a limiter that fails alike)', async () => {
    const unavailable: CallLimiter = {
      admit: (r) => Promise.resolve({ admitted: false, limit: 'unavailable', key: r.key }),
      release: () => undefined,
      adopt: (hold) => hold,
      held: () => new Map(),
      close: () => Promise.resolve(),
    };
    const broken: CallLimiter = { ...unavailable, admit: () => Promise.reject(new Error('kv down')) };
    for (const limiter of [unavailable, broken]) {
      const h = engineWith(trunking([carrier('carrierB', C1)], { restrictions: { maxConcurrent: 5 } }), { limiter });
      deliver(h.engine, inviteFromA(), A_PORT);
      await settle();
      const refused = takeFinal(h, A_PORT);
      assert.equal(refused.status, 503);
      assert.equal(refused.reason, 'Limits Unavailable');
      assert.equal(h.link.take(C1, isReq('INVITE')).length, 0);
      h.kernel.shutdown();
    }
  });
});

/** A limiter whose admissions the test resolves, counting the releases of admitted calls. */
class PendingLimiter implements CallLimiter {
  readonly requests: LimitRequest[] = [];
  private readonly waiting: ((a: Admission) => void)[] = [];
  releases = 0;
  private readonly holds = new HeldSlots();
  admit(request: LimitRequest): Promise<Admission> {
    this.requests.push(request);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  /** Admits the oldest pending request. */
  admitNext(): void {
    const resolve = this.waiting.shift();
    assert.ok(resolve, 'an admission is pending');
    resolve(this.holds.grant('trunk.test', () => void this.releases++));
  }
  release(hold: LimitHold): void {
    this.holds.release(hold);
  }
  adopt(hold: LimitHold): LimitHold {
    return hold;
  }
  held(): ReadonlyMap<string, number> {
    return new Map();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('call actor: admission that takes time', () => {
  const limited = () => trunking([carrier('carrierB', C1)], { restrictions: { maxConcurrent: 10 } });

  test('the caller cancels while admission is pending: 487, no INVITE to the carrier, the late admission released once', async () => {
    const limiter = new PendingLimiter();
    const h = engineWith(limited(), { limiter });
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    assert.equal(limiter.requests.length, 1);
    assert.equal(h.link.take(C1).length, 0, 'nothing placed before admission');
    deliver(h.engine, cancelOf(invite), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(200, 'CANCEL')).length, 1);
    assert.equal(takeFinal(h, A_PORT).status, 487);
    assert.equal(h.ctx.calls.size, 0, 'the call ended');
    limiter.admitNext();
    await settle();
    assert.equal(h.link.take(C1, isReq('INVITE')).length, 0, 'no INVITE after the call ended');
    assert.equal(limiter.releases, 1);
    h.kernel.shutdown();
    await settle();
    assert.equal(limiter.releases, 1, 'still once after the actors are stopped');
  });

  test('admission resolving in the same turn as the CANCEL: 487, release once', async () => {
    const limiter = new PendingLimiter();
    const h = engineWith(limited(), { limiter });
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    deliver(h.engine, cancelOf(invite), A_PORT);
    limiter.admitNext();
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(487, 'INVITE')).length, 1);
    // if the admission won the race an INVITE may have left; then it is cancelled once answered provisionally
    for (const inv of h.link.take(C1, isReq('INVITE'))) {
      deliver(h.engine, answer(inv, 100), C1);
      await settle();
      const [cancel] = h.link.take(C1, isReq('CANCEL'));
      assert.ok(cancel, 'an INVITE that left is cancelled');
      deliver(h.engine, answer(cancel, 200), C1);
      deliver(h.engine, answer(inv, 487), C1);
      await settle();
    }
    await waitFor(() => h.ctx.calls.size === 0, 'the call ended');
    assert.equal(limiter.releases, 1);
    h.kernel.shutdown();
    await settle();
    assert.equal(limiter.releases, 1);
  });

  test('admission resolving after the CANCEL reached the call but before the call read it: released once, whatever the turn', async () => {
    // the verdict lands in the call's mailbox behind its leg's `ended`: the call stops first and
    // must still give the slot back (turns: how far the actors got before the limits answered)
    for (let turns = 0; turns <= 6; turns++) {
      const limiter = new PendingLimiter();
      const h = engineWith(limited(), { limiter });
      const invite = inviteFromA();
      deliver(h.engine, invite, A_PORT);
      await settle();
      deliver(h.engine, cancelOf(invite), A_PORT);
      await settle(turns);
      limiter.admitNext();
      await settle();
      for (const inv of h.link.take(C1, isReq('INVITE'))) {
        deliver(h.engine, answer(inv, 100), C1);
        await settle();
        for (const cancel of h.link.take(C1, isReq('CANCEL'))) deliver(h.engine, answer(cancel, 200), C1);
        deliver(h.engine, answer(inv, 487), C1);
        await settle();
      }
      await waitFor(() => h.ctx.calls.size === 0, 'the call ended');
      await settle();
      assert.equal(limiter.releases, 1, `released once (the limits answered after ${turns} turns)`);
      h.kernel.shutdown();
    }
  });

  test('an admitted call releases its admission once when it ends', async () => {
    const limiter = new PendingLimiter();
    const h = engineWith(limited(), { limiter });
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    limiter.admitNext();
    await settle();
    const bInvite = takeInvite(h, C1);
    deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), C1);
    await settle();
    const ok = takeFinal(h, A_PORT);
    deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT);
    await settle();
    assert.equal(limiter.releases, 0, 'held while the call is up');
    await hangUp(h, ok);
    assert.equal(limiter.releases, 1);
    h.kernel.shutdown();
    await settle();
    assert.equal(limiter.releases, 1);
  });
});
