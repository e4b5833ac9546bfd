// The call actor under the trunk policy: refusals, limits, failover across targets, delayed
// offer and topology hiding, through the engine with a fake SIP link.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serializeMessage, SipRequest, SipResponse, SipUri, type SipMessage } from '@switchboard/sip';
import { A_PORT, B_PORT, answer, deliver, fromA, inviteFromA, isReq, isRes, makeEngine, settle, type EngineOptions } from '../testing/harness.js';
import { HeldSlots, LocalCallLimiter, type Admission, type CallLimiter, type LimitHold, type LimitRequest } from '@switchboard/limits';

const SDP_B = 'v=0\r\no=carrier 9 9 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

/** Carriers on 127.0.0.9, one port each; B_PORT is the first. */
const C1 = B_PORT;
const C2 = 5081;
const C3 = 5082;
/** The customer's PBX as origination target (two URIs, tried in order). */
const PBX1 = 5072;
const PBX2 = 5073;
/** Where a carrier's INVITEs come from (origination). */
const CARRIER_SOURCE = '127.0.0.30';
const CARRIER_PORT = 5090;
const DID = '+14155550100';

const NUMBER_PLAN = { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' };

const carrier = (id: string, port: number, extra: Record<string, unknown> = {}) =>
  ({ id, addresses: [{ host: '127.0.0.9', port }], sources: [] as string[], ...extra });

/** Trunk `acme` (the PBX at 127.0.0.1 by ACL), routing every number to `carriers` in order. */
function trunking(carriers: ({ id: string } & Record<string, unknown>)[], trunk: Record<string, unknown> = {}, others: Record<string, unknown>[] = []) {
  return {
    carriers,
    trunks: [{
      id: 'acme', domain: 'switchboard.example', acl: ['127.0.0.1/32'], numberPlan: NUMBER_PLAN,
      routing: [{ prefix: '', carriers: carriers.map((c) => c.id) }], callerId: { allowed: ['+1'] }, ...trunk,
    }, ...others],
  };
}

/** Carrier `inbound` sends calls from CARRIER_SOURCE to acme's DID, which go to the PBX URIs. */
function originationTrunking(trunk: Record<string, unknown> = {}) {
  return trunking([carrier('carrierB', C1), carrier('inbound', 5099, { sources: [`${CARRIER_SOURCE}/32`] })], {
    dids: [DID], origination: { uris: [`sip:127.0.0.1:${PBX1}`, `sip:127.0.0.1:${PBX2}`] }, ...trunk,
  });
}

function engineWith(config: unknown, options: Omit<EngineOptions, 'trunking'> = {}, timers?: { t1: number; t2: number; t4: number }) {
  return makeEngine(timers, undefined, undefined, { ...options, trunking: config });
}

type Harness = ReturnType<typeof makeEngine>;

const text = (m: SipMessage | undefined) => (m === undefined ? '' : Buffer.from(serializeMessage(m)).toString());
const bodyOf = (m: SipMessage | undefined) => Buffer.from(m?.body ?? []).toString();
const finals = (h: Harness, port: number) =>
  h.link.sent.filter((s) => s.to.port === port && s.message instanceof SipResponse && s.message.status >= 200).map((s) => s.message as SipResponse);

/** The caller's CANCEL for `invite` (same branch, CSeq number). */
const cancelOf = (invite: string) =>
  invite.replace('INVITE sip:', 'CANCEL sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL').replace(/Content-Type[^]*$/, 'Content-Length: 0\r\n\r\n');

/** The one INVITE the engine sent to `port` since the last take. */
function takeInvite(h: Harness, port: number): SipRequest {
  const invites = h.link.take(port, isReq('INVITE'));
  assert.equal(invites.length, 1, `one INVITE to port ${port}`);
  const [invite] = invites;
  assert.ok(invite instanceof SipRequest);
  return invite;
}

/** The one final response the engine sent to `port` since the last take. */
function takeFinal(h: Harness, port: number): SipResponse {
  const all = h.link.take(port, (m) => m instanceof SipResponse && m.status >= 200);
  assert.equal(all.length, 1, `one final response to port ${port}, got ${all.map((m) => (m as SipResponse).status).join(', ')}`);
  const [res] = all;
  assert.ok(res instanceof SipResponse);
  return res;
}

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
};

/** A call from the PBX, answered by the carrier at `port` and ACKed by the caller. */
async function establish(h: Harness, port = C1, invite = inviteFromA()) {
  deliver(h.engine, invite, A_PORT);
  await settle();
  const bInvite = takeInvite(h, port);
  deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B, port }), port);
  await settle();
  const ok = takeFinal(h, A_PORT);
  assert.equal(ok.status, 200);
  deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT);
  await settle();
  return { bInvite, ok };
}

/** The caller hangs up an established call and the far end accepts the BYE. */
async function hangUp(h: Harness, ok: SipResponse, port = C1) {
  deliver(h.engine, fromA(ok, 'BYE', 2), A_PORT);
  await settle();
  const [byeB] = h.link.take(port, isReq('BYE'));
  assert.ok(byeB, 'BYE to the far end');
  deliver(h.engine, answer(byeB, 200), port);
  await settle();
}

describe('call actor: failover across targets', () => {
  test('the first carrier answers 503: the call goes to the second (new Call-ID), whose 200 reaches the caller; the 503 never does', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    const first = takeInvite(h, C1);
    assert.equal(h.link.take(C2, isReq('INVITE')).length, 0, 'targets are tried one at a time');
    deliver(h.engine, answer(first, 503, { tag: 'c1' }), C1);
    await settle();
    assert.equal(h.link.take(C1, isReq('ACK')).length, 1, 'the 503 is ACKed');
    const second = takeInvite(h, C2);
    assert.notEqual(second.headers.callId, first.headers.callId);
    assert.notEqual(second.headers.from?.tag, first.headers.from?.tag);
    assert.equal((second.uri as SipUri).user, DID);
    deliver(h.engine, answer(second, 200, { tag: 'c2', sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(h.link.take(C2, isReq('ACK')).length, 1);
    const ok = takeFinal(h, A_PORT);
    assert.equal(ok.status, 200);
    assert.equal(bodyOf(ok), SDP_B);
    assert.equal(h.link.sent.filter((s) => s.message instanceof SipResponse && s.message.status === 503).length, 0, 'no 503 was sent anywhere');
    assert.equal(h.ctx.counters.get('failover'), 1);
    // the call is bridged to the second carrier: the caller's BYE goes there
    deliver(h.engine, fromA(ok, 'ACK', 1), A_PORT);
    await settle();
    await hangUp(h, ok, C2);
    assert.equal(h.link.take(C1, isReq('BYE')).length, 0);
    assert.equal(h.ctx.calls.size, 0);
    h.kernel.shutdown();
  });

  test('a transport error on the first INVITE fails over to the second carrier', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const sent = h.link.sent.find((s) => s.to.port === C1 && s.message instanceof SipRequest && s.message.method === 'INVITE');
    assert.ok(sent?.ref);
    h.engine.onSendFailure({ v: 1, ref: sent.ref, reason: 'ECONNREFUSED', protocol: 'udp', address: '127.0.0.9', port: C1 });
    await settle();
    const second = takeInvite(h, C2);
    assert.equal(finals(h, A_PORT).length, 0, 'the caller has no final answer yet');
    deliver(h.engine, answer(second, 200, { sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 200);
    h.kernel.shutdown();
  });

  test('a silent first carrier (Timer B) fails over to the second carrier', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]), {}, { t1: 10, t2: 40, t4: 10 });
    deliver(h.engine, inviteFromA(), A_PORT);
    await waitFor(() => h.link.sent.some((s) => s.to.port === C2 && s.message instanceof SipRequest && s.message.method === 'INVITE'), 'INVITE to the second carrier');
    assert.ok(h.link.take(C1, isReq('INVITE')).length > 1, 'Timer A retransmitted the first INVITE');
    const [second] = h.link.take(C2, isReq('INVITE'));
    assert.ok(second);
    assert.equal(finals(h, A_PORT).length, 0, 'the timeout did not reach the caller');
    deliver(h.engine, answer(second, 200, { sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 200);
    h.kernel.shutdown();
  });

  test('486 is an answer, not a failure: relayed to the caller, the second carrier never sees an INVITE', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C1), 486), C1);
    await settle();
    const busy = takeFinal(h, A_PORT);
    assert.equal(busy.status, 486);
    assert.equal(h.link.take(C2, isReq('INVITE')).length, 0);
    assert.equal(h.ctx.counters.get('failover'), 0);
    h.kernel.shutdown();
  });

  test('a carrier whose failoverOn names 486 fails over on it', async () => {
    const h = engineWith(trunking([carrier('first', C1, { failoverOn: [486, '5xx'] }), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C1), 486), C1);
    await settle();
    const second = takeInvite(h, C2);
    assert.equal(finals(h, A_PORT).length, 0, 'the 486 is not relayed');
    deliver(h.engine, answer(second, 200, { sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 200);
    h.kernel.shutdown();
  });
});

describe('call actor: making a target ready', () => {
  test('the first carrier\'s provisional reaches the caller; its later 503 still fails over', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const first = takeInvite(h, C1);
    deliver(h.engine, answer(first, 180), C1);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(180)).length, 1);
    deliver(h.engine, answer(first, 503), C1);
    await settle();
    const second = takeInvite(h, C2);
    deliver(h.engine, answer(second, 200, { sdp: SDP_B, port: C2 }), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 200);
    h.kernel.shutdown();
  });

  test('a carrier host that does not resolve is skipped; one that does is called at its address', async () => {
    const config = trunking([
      { id: 'first', addresses: [{ host: 'gone.example', port: C1 }], sources: [] },
      { id: 'second', addresses: [{ host: 'carrier2.example', port: C2 }], sources: [] },
    ]);
    const h = engineWith(config, {
      resolve: async (host) => {
        if (host === 'carrier2.example') return '127.0.0.9';
        throw new Error(`no address for ${host}`);
      },
    });
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    assert.equal(h.link.take(C1).length, 0);
    const sent = h.link.sent.find((s) => s.to.port === C2);
    assert.equal(sent?.to.address, '127.0.0.9');
    const second = takeInvite(h, C2);
    assert.equal((second.uri as SipUri).host, 'carrier2.example');
    assert.equal(h.ctx.counters.get('failover'), 1);
    h.kernel.shutdown();
  });

  test('the caller cancels while the target is being resolved: 487, and no INVITE once it resolves', async () => {
    let resolveHost: ((address: string) => void) | undefined;
    const config = trunking([{ id: 'first', addresses: [{ host: 'slow.example', port: C1 }], sources: [] }]);
    const h = engineWith(config, { resolve: () => new Promise((r) => (resolveHost = r)) });
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    assert.ok(resolveHost, 'resolving');
    deliver(h.engine, cancelOf(invite), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(487, 'INVITE')).length, 1);
    resolveHost('127.0.0.9');
    await settle();
    assert.equal(h.link.take(C1).length, 0);
    assert.equal(h.ctx.calls.size, 0);
    h.kernel.shutdown();
  });

  test('a carrier over its own maxCps is skipped for the next carrier', async () => {
    let now = 1_000_000;
    const limiter = new LocalCallLimiter({ now: () => now });
    const h = engineWith(trunking([carrier('first', C1, { maxCps: 1 }), carrier('second', C2)]), { limiter });
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    takeInvite(h, C1);
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    assert.equal(h.link.take(C1, isReq('INVITE')).length, 0);
    takeInvite(h, C2);
    now += 1000;
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    takeInvite(h, C1);
    h.kernel.shutdown();
  });
});

describe('call actor: when every target fails', () => {
  test('502 then 503: the caller gets the 502', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C1), 502), C1);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C2), 503), C2);
    await settle();
    assert.equal(takeFinal(h, A_PORT).status, 502);
    assert.equal(h.ctx.counters.get('all-targets-failed'), 1);
    h.kernel.shutdown();
  });

  test('two 503s: the caller gets 503 All Routes Failed', async () => {
    const h = engineWith(trunking([carrier('first', C1), carrier('second', C2)]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C1), 503), C1);
    await settle();
    deliver(h.engine, answer(takeInvite(h, C2), 503), C2);
    await settle();
    const res = takeFinal(h, A_PORT);
    assert.equal(res.status, 503);
    assert.equal(res.reason, 'All Routes Failed');
    h.kernel.shutdown();
  });

  test('the best answer seen is relayed (§16.7): a 6xx before a 4xx before a 5xx, whatever the order', async () => {
    const all = { failoverOn: ['4xx', '5xx', '6xx'] };
    for (const [answers, expected] of [[[502, 404, 500], 404], [[404, 603, 502], 603], [[500, 502, 404], 404]] as const) {
      const h = engineWith(trunking([carrier('first', C1, all), carrier('second', C2, all), carrier('third', C3, all)]));
      deliver(h.engine, inviteFromA(), A_PORT);
      await settle();
      for (const [i, port] of [C1, C2, C3].entries()) {
        deliver(h.engine, answer(takeInvite(h, port), answers[i] as number), port);
        await settle();
      }
      assert.equal(takeFinal(h, A_PORT).status, expected, `answers ${answers.join(', ')}`);
      h.kernel.shutdown();
    }
  });

  test('an origination call whose URIs answer 503 then 500: the 500 is relayed (the best answer seen)', async () => {
    const h = engineWith(originationTrunking());
    deliver(h.engine, inviteFromA(), CARRIER_PORT, 'udp', CARRIER_SOURCE);
    await settle();
    deliver(h.engine, answer(takeInvite(h, PBX1), 503), PBX1);
    await settle();
    deliver(h.engine, answer(takeInvite(h, PBX2), 500), PBX2);
    await settle();
    const res = takeFinal(h, CARRIER_PORT);
    assert.equal(res.status, 500);
    h.kernel.shutdown();
  });

  test('an origination call whose every URI fails without an answer (503s, timeouts): 480 Temporarily Unavailable', async () => {
    const h = engineWith(originationTrunking());
    deliver(h.engine, inviteFromA(), CARRIER_PORT, 'udp', CARRIER_SOURCE);
    await settle();
    deliver(h.engine, answer(takeInvite(h, PBX1), 503), PBX1);
    await settle();
    const sent = h.link.sent.find((s) => s.to.port === PBX2 && s.message instanceof SipRequest && s.message.method === 'INVITE');
    assert.ok(sent?.ref);
    h.engine.onSendFailure({ v: 1, ref: sent.ref, reason: 'ECONNREFUSED', protocol: 'udp', address: '127.0.0.1', port: PBX2 });
    await settle();
    const res = takeFinal(h, CARRIER_PORT);
    assert.equal(res.status, 480);
    assert.equal(res.reason, 'Temporarily Unavailable');
    h.kernel.shutdown();
  });
});

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

describe('call actor: cancelling a placed attempt', () => {
  test('a CANCEL waits for the carrier\'s first provisional (§9.1: MUST NOT be sent before one)', async (t) => {
    const h = engineWith(trunking([carrier('carrierB', C1)]));
    t.after(() => h.kernel.shutdown());
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    const bInvite = takeInvite(h, C1);
    deliver(h.engine, cancelOf(invite), A_PORT);
    await settle();
    assert.equal(h.link.take(A_PORT, isRes(487, 'INVITE')).length, 1);
    assert.equal(h.link.take(C1, isReq('CANCEL')).length, 0, 'no CANCEL before a provisional');
    deliver(h.engine, answer(bInvite, 180), C1);
    await settle();
    assert.equal(h.link.take(C1, isReq('CANCEL')).length, 1, 'CANCEL once the 180 arrived');
  });
});

describe('call actor: the INVITE it places', () => {
  test('delayed offer: the INVITE goes without SDP, the ACK carries the caller\'s, the caller gets the carrier\'s', async () => {
    const h = engineWith(trunking([carrier('carrierB', C1, { offer: 'delayed' })]));
    const invite = inviteFromA();
    deliver(h.engine, invite, A_PORT);
    await settle();
    const bInvite = takeInvite(h, C1);
    assert.equal(bInvite.body.length, 0);
    assert.equal(bInvite.headers.get('content-type'), undefined);
    deliver(h.engine, answer(bInvite, 200, { sdp: SDP_B }), C1);
    await settle();
    const [ack] = h.link.take(C1, isReq('ACK'));
    assert.ok(ack);
    assert.match(bodyOf(ack), /^v=0\r\no=pbx 1 1 IN IP4 192\.0\.2\.10/);
    assert.equal(ack.headers.get('content-type'), 'application/sdp');
    const ok = takeFinal(h, A_PORT);
    assert.equal(ok.status, 200);
    assert.equal(bodyOf(ok), SDP_B);
    h.kernel.shutdown();
  });

  test('topology hiding: nothing of the caller\'s headers, the caller as P-Asserted-Identity, an E.164 user=phone R-URI, Max-Forwards less one', async () => {
    const h = makeEngine();
    const invite = inviteFromA({ headers: ['User-Agent: PBX-9000', 'X-Internal: extension 42', 'Record-Route: <sip:edge.pbx.example;lr>'] })
      .replace('Max-Forwards: 70', 'Max-Forwards: 12')
      .replace('INVITE sip:+14155550100@', 'INVITE sip:14155550100@');
    deliver(h.engine, invite, A_PORT);
    await settle();
    const bInvite = takeInvite(h, B_PORT);
    const wire = text(bInvite);
    const head = wire.slice(0, wire.indexOf('\r\n\r\n'));
    assert.notEqual(bInvite.headers.callId, /Call-ID: (\S+)/.exec(invite)?.[1]);
    assert.doesNotMatch(wire, /pbx\.example/i);
    assert.doesNotMatch(head, /PBX-9000|X-Internal|Record-Route|sip:pbx@/i);
    assert.equal(bInvite.headers.via.length, 1);
    assert.equal(bInvite.headers.maxForwards, 11);
    const pai = bInvite.headers.getAll('p-asserted-identity');
    assert.equal(pai.length, 1);
    assert.match(pai[0] ?? '', /^<sip:\+12125550123@[^>]*;user=phone>$/);
    const ruri = bInvite.uri as SipUri;
    assert.equal(ruri.user, DID);
    assert.equal(ruri.param('user'), 'phone');
    assert.equal(ruri.host, '127.0.0.9');
    assert.equal((bInvite.headers.from?.uri as SipUri | undefined)?.user, '+12125550123');
    assert.equal(bInvite.headers.get('privacy'), undefined);
    h.kernel.shutdown();
  });

  test('a caller withholding its number: anonymous From, Privacy: id, the number only in P-Asserted-Identity', async () => {
    const h = makeEngine();
    deliver(h.engine, inviteFromA({ headers: ['Privacy: id'] }), A_PORT);
    await settle();
    const bInvite = takeInvite(h, B_PORT);
    assert.equal((bInvite.headers.from?.uri as SipUri | undefined)?.user, 'anonymous');
    assert.equal(bInvite.headers.get('privacy'), 'id');
    assert.match(bInvite.headers.get('p-asserted-identity') ?? '', /\+12125550123/);
    assert.doesNotMatch(bInvite.headers.get('from') ?? '', /2125550123/);
    h.kernel.shutdown();
  });

  test('e164-digits carrier: R-URI and asserted number without "+"', async () => {
    const h = engineWith(trunking([carrier('carrierB', C1, { numberFormat: 'e164-digits' })]));
    deliver(h.engine, inviteFromA(), A_PORT);
    await settle();
    const bInvite = takeInvite(h, C1);
    assert.equal((bInvite.uri as SipUri).user, '14155550100');
    assert.match(bInvite.headers.get('p-asserted-identity') ?? '', /^<sip:12125550123@/);
    h.kernel.shutdown();
  });
});

describe('call actor: origination', () => {
  test('an INVITE from a carrier to a DID goes to the trunk\'s first origination URI with the DID as R-URI user', async () => {
    const h = engineWith(originationTrunking());
    const invite = inviteFromA().replace('INVITE sip:+14155550100@', 'INVITE sip:14155550100@');
    deliver(h.engine, invite, CARRIER_PORT, 'udp', CARRIER_SOURCE);
    await settle();
    assert.equal(h.link.take(CARRIER_PORT, isRes(100)).length, 1);
    const pbxInvite = takeInvite(h, PBX1);
    assert.equal(h.link.take(PBX2, isReq('INVITE')).length, 0);
    const ruri = pbxInvite.uri as SipUri;
    assert.equal(ruri.user, DID);
    assert.equal(ruri.host, '127.0.0.1');
    assert.equal(ruri.port, PBX1);
    assert.equal((pbxInvite.headers.from?.uri as SipUri | undefined)?.user, '+12125550123');
    assert.match(bodyOf(pbxInvite), /o=pbx 1 1/);
    deliver(h.engine, answer(pbxInvite, 200, { sdp: SDP_B, port: PBX1 }), PBX1);
    await settle();
    assert.equal(h.link.take(PBX1, isReq('ACK')).length, 1);
    const ok = takeFinal(h, CARRIER_PORT);
    assert.equal(ok.status, 200);
    assert.equal(bodyOf(ok), SDP_B);
    h.kernel.shutdown();
  });

  test('an INVITE from a carrier to a number no trunk has: 404', async () => {
    const h = engineWith(originationTrunking());
    deliver(h.engine, inviteFromA().replace('INVITE sip:+14155550100@', 'INVITE sip:+14155550199@'), CARRIER_PORT, 'udp', CARRIER_SOURCE);
    await settle();
    assert.equal(takeFinal(h, CARRIER_PORT).status, 404);
    assert.equal(h.ctx.counters.get('refused.unknown-did'), 1);
    assert.equal(h.link.take(PBX1).length + h.link.take(PBX2).length, 0);
    h.kernel.shutdown();
  });
});
