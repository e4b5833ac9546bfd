import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Status } from '@nats-io/transport-node';
import type { RoutingFields } from '@switchboard/sip';
import { SlotTable, WorkerDirectory, type Heartbeat, type TransportInfo } from '@switchboard/wire';
import { pino } from 'pino';
import type { HeldMessage } from './held-messages.js';
import { NatsLink } from './nats-link.js';

const INTERVAL = 1_000;
const heartbeat = (workerId: string): Heartbeat => ({ v: 1, workerId, state: 'active', calls: 0, startedAt: 1, sentAt: 2, version: 't', slots: [] });
const UDP: TransportInfo = { protocol: 'udp', localAddress: '127.0.0.1', localPort: 5060, remoteAddress: '192.0.2.1', remotePort: 5060, nodeId: 't1' };
const tcp = (connectionId: string): TransportInfo => ({ ...UDP, protocol: 'tcp', connectionId });

function request(method: string, callId: string, cseq = 2): RoutingFields {
  return { kind: 'request', method, status: 0, callId, branch: `z9hG4bK-${callId}-${cseq}`, toTag: 'w1.x', fromTag: 'a', cseq, cseqMethod: method };
}

function setup(bounds = { heldPerConnection: 2, heldTotal: 10, firstReceipts: 100 }) {
  let t = 1_000_000;
  const now = () => t;
  const directory = new WorkerDirectory({ intervalMs: INTERVAL, missed: 3, now });
  directory.onHeartbeat(heartbeat('w1'));
  directory.onHeartbeat(heartbeat('w2'));
  // slot 1 is w1's, slot 2 w2's
  const slots = new SlotTable(now);
  slots.fromHeartbeat('w1', [[1, 1]]);
  slots.fromHeartbeat('w2', [[2, 1]]);
  let abandoned = false;
  const link = new NatsLink(directory, { ownerOf: (slot) => slots.ownerOf(slot), abandoned: () => abandoned }, pino({ level: 'silent' }), bounds, now);
  const released: HeldMessage[] = [];
  const owners: (string | undefined)[] = [];
  const release = (m: HeldMessage, worker: string | undefined) => {
    released.push(m);
    owners.push(worker);
  };
  return { link, directory, slots, released, owners, release, abandon: () => void (abandoned = true), advance: (ms: number) => void (t += ms), now };
}

const sip = new Uint8Array([1]);

describe('NatsLink', () => {
  test('connected and settled: everything is forwarded at once, stamped now', () => {
    const { link, now } = setup();
    assert.deepEqual(link.admit(1, sip, request('BYE', 'c1'), UDP), { action: 'forward', workerId: 'w1', receivedAt: now() });
    assert.deepEqual(link.admit(1, sip, request('BYE', 'c2'), tcp('c1')), { action: 'forward', workerId: 'w1', receivedAt: now() });
  });

  test('a UDP request dropped while NATS is down is forwarded on retransmission with its first receive time', () => {
    const { link, directory, advance, now } = setup();
    link.lost('nats://a');
    const first = now();
    assert.deepEqual(link.admit(1, sip, request('BYE', 'c1'), UDP), { action: 'nats-down' });
    advance(500);
    assert.deepEqual(link.admit(1, sip, request('BYE', 'c1'), UDP), { action: 'nats-down' });
    assert.deepEqual(link.admit(1, sip, request('ACK', 'c2'), UDP), { action: 'nats-down' });
    assert.deepEqual(link.admit(1, sip, { ...request('BYE', 'c3'), kind: 'response', status: 200 }, UDP), { action: 'nats-down' });
    advance(3_000);
    link.back('nats://a');
    assert.deepEqual(link.admit(1, sip, request('BYE', 'c1'), UDP), { action: 'forward', workerId: 'w1', receivedAt: first });
    directory.onHeartbeat(heartbeat('w1'));
    assert.deepEqual(link.admit(1, sip, request('BYE', 'c9'), UDP), { action: 'forward', workerId: 'w1', receivedAt: now() }, 'a request never dropped: now');
    assert.equal(link.snapshot().firstReceipts, 1, 'no receipt for an ACK or a response');
  });

  test('UDP just after the reconnection, to a worker not heard again yet: forwarded, and its retransmission keeps the first time', () => {
    const { link, directory, advance, now } = setup();
    link.lost('nats://a');
    advance(3_000);
    link.back('nats://a');
    const first = now();
    assert.deepEqual(link.admit(2, sip, request('BYE', 'c1'), UDP), { action: 'forward', workerId: 'w2', receivedAt: first });
    advance(500);
    directory.onHeartbeat(heartbeat('w2'));
    assert.deepEqual(link.admit(2, sip, request('BYE', 'c1'), UDP), { action: 'forward', workerId: 'w2', receivedAt: first });
  });

  test('TCP while NATS is down: held in order, then released once the worker is heard again', () => {
    const { link, directory, released, release, advance, now } = setup({ heldPerConnection: 8, heldTotal: 10, firstReceipts: 100 });
    link.lost('nats://a');
    const first = now();
    for (const [i, w] of [1, 2, 1].entries()) {
      assert.deepEqual(link.admit(w, sip, request('INFO', `c${i}`), tcp('k1')), { action: 'held' });
      advance(100);
    }
    link.releaseHeld(release);
    assert.equal(released.length, 0, 'nothing leaves while NATS is down');
    link.back('nats://a');
    link.releaseHeld(release);
    assert.equal(released.length, 0, 'nor before the worker can hear');
    advance(200);
    directory.onHeartbeat(heartbeat('w1'));
    link.releaseHeld(release);
    assert.deepEqual(released.map((m) => m.route.callId), ['c0'], 'the connection\'s order holds: c2 waits behind w2\'s c1');
    assert.deepEqual(link.admit(1, sip, request('INFO', 'c3'), tcp('k1')), { action: 'held' }, 'new messages queue behind');
    assert.deepEqual(link.admit(1, sip, request('INFO', 'c4'), tcp('k2')), { action: 'forward', workerId: 'w1', receivedAt: now() });
    assert.deepEqual(link.admit(2, sip, request('INFO', 'c5'), tcp('k3')), { action: 'held' }, 'w2 not heard yet');
    directory.onHeartbeat(heartbeat('w2'));
    link.releaseHeld(release);
    assert.deepEqual(released.map((m) => m.route.callId), ['c0', 'c1', 'c2', 'c3', 'c5']);
    assert.deepEqual(released.slice(0, 3).map((m) => m.receivedAt), [first, first + 100, first + 200], 'each keeps its own receive time');
    assert.equal(link.snapshot().held, 0);
    assert.equal(link.snapshot().released, 5);
  });

  test('a worker still silent when the grace ends: its held messages are released for the directory to judge', () => {
    const { link, directory, released, release, advance } = setup();
    link.lost('nats://a');
    advance(1_000);
    link.admit(2, sip, request('BYE', 'c1'), tcp('k1'));
    link.back('nats://a');
    advance(2_999);
    link.releaseHeld(release);
    assert.equal(released.length, 0);
    advance(2);
    assert.deepEqual(directory.expire().sort(), ['w1', 'w2']);
    assert.equal(directory.inGrace, false);
    link.releaseHeld(release);
    assert.deepEqual(released.map((m) => m.route.callId), ['c1']);
  });

  test('the hold is bounded: past it, held-full and counted', () => {
    const { link } = setup({ heldPerConnection: 2, heldTotal: 3, firstReceipts: 100 });
    link.lost('nats://a');
    assert.equal(link.admit(1, sip, request('BYE', 'c1'), tcp('k1')).action, 'held');
    assert.equal(link.admit(1, sip, request('BYE', 'c2'), tcp('k1')).action, 'held');
    assert.equal(link.admit(1, sip, request('BYE', 'c3'), tcp('k1')).action, 'held-full');
    assert.equal(link.admit(1, sip, request('BYE', 'c4'), tcp('k2')).action, 'held');
    assert.equal(link.admit(1, sip, request('BYE', 'c5'), tcp('k3')).action, 'held-full');
    assert.equal(link.discard('k1'), 2);
    assert.deepEqual(
      [link.snapshot().held, link.snapshot().heldFull, link.snapshot().heldDiscarded],
      [1, 2, 2],
    );
  });

  test('follows the connection status: the directory keeps its workers while cut off; each transition once', async () => {
    const { link, directory, advance } = setup();
    const statuses: Status[] = [
      { type: 'disconnect', server: 'nats://a' },
      { type: 'reconnecting' },
      { type: 'disconnect', server: 'nats://a' },
      { type: 'reconnect', server: 'nats://a' },
    ];
    let backs = 0;
    let lostSeen = false;
    async function* status(): AsyncGenerator<Status> {
      for (const s of statuses) {
        yield s;
        if (s.type === 'reconnecting') {
          lostSeen = !link.up;
          advance(60_000);
          assert.deepEqual(directory.expire(), [], 'no worker expires while the transport is cut off');
        }
      }
    }
    await new Promise<void>((resolve) => link.watch({ status }, () => (backs++, resolve())));
    assert.equal(lostSeen, true);
    assert.equal(link.up, true);
    assert.equal(backs, 1);
    assert.equal(link.snapshot().disconnects, 1, 'a repeated disconnect is one outage');
    assert.equal(directory.isLive('w1'), true);
    assert.deepEqual(directory.expire(), [], 'the grace after the reconnection');
  });

  test('an orphaned slot: UDP and responses are dropped, TCP requests held until a new owner is announced, in order', () => {
    const { link, slots, released, owners, release } = setup({ heldPerConnection: 8, heldTotal: 10, firstReceipts: 100 });
    slots.dropWorker('w1');
    assert.deepEqual(link.admit(1, sip, request('BYE', 'c1'), UDP), { action: 'orphaned' });
    assert.deepEqual(link.admit(1, sip, { ...request('INVITE', 'c2'), kind: 'response', status: 200 }, tcp('k1')), { action: 'orphaned' });
    assert.deepEqual(link.admit(1, sip, request('BYE', 'c3'), tcp('k1')), { action: 'held' });
    assert.deepEqual(link.admit(2, sip, request('BYE', 'c4'), tcp('k1')), { action: 'held' }, 'behind the held one, even for an owned slot');
    link.releaseHeld(release);
    assert.equal(released.length, 0, 'nobody owns slot 1 yet');
    slots.fromHeartbeat('w2', [[2, 1], [1, 2]]);
    link.releaseHeld(release);
    assert.deepEqual(released.map((m) => m.route.callId), ['c3', 'c4']);
    assert.deepEqual(owners, ['w2', 'w2'], 'to the slot\'s owner at release');
  });

  test('an orphaned slot nobody claims in time: its held messages are released with no owner', () => {
    const { link, slots, owners, release, abandon } = setup();
    slots.dropWorker('w1');
    assert.deepEqual(link.admit(1, sip, request('BYE', 'c1'), tcp('k1')), { action: 'held' });
    link.releaseHeld(release);
    assert.deepEqual(owners, []);
    abandon();
    link.releaseHeld(release);
    assert.deepEqual(owners, [undefined]);
  });
});
