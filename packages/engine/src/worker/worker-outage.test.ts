// A worker across a NATS outage, against a real nats-server killed and started again on the same
// store: what its actors send meanwhile reaches the transport once the server is back. A stream
// of the server records the heartbeat and outbound subjects, so the order the worker published
// in is read back whatever the timing of the test's own reconnect.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Headers, SipResponse } from '@switchboard/sip';
import { startNatsServer } from '@switchboard/testkit';
import { TrunkingConfigSchema } from '@switchboard/trunking';
import { decodeHeartbeat, decodeOutbound, Subjects } from '@switchboard/wire';
import { pino } from 'pino';
import type { Destination } from '../protocol/sip-link.js';
import { WorkerConfigSchema } from './worker-config.js';
import { WorkerNode } from './worker-node.js';

const STREAM = 'OUTAGE_SEEN';
const TRANSPORT = 't1';
const PBX: Destination = { protocol: 'udp', address: '127.0.0.1', port: 5072, nodeId: TRANSPORT, localAddress: '127.0.0.1', localPort: 5060 };

async function eventually<T>(get: () => T | undefined | Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await sleep(20);
  }
}

/** What the stream stored from `since` on, as `heartbeat <worker>` or the SIP's Call-ID, up to and with `last`. */
async function seenSince(jsm: JetStreamManager, since: number, last: string): Promise<string[]> {
  return eventually(async () => {
    const seen: string[] = [];
    for (let seq = 1; seen.at(-1) !== last; seq++) {
      const msg = await jsm.streams.getMessage(STREAM, { seq }).catch(() => null);
      if (msg === null) return undefined;
      if (msg.time.getTime() < since) continue;
      if (msg.subject === Subjects.workerHeartbeat) seen.push(`heartbeat ${decodeHeartbeat(msg.data).workerId}`);
      else seen.push(/Call-ID: (\S+)/.exec(Buffer.from(decodeOutbound(msg.data).sip).toString())?.[1] ?? 'unreadable');
    }
    return seen;
  }, `${last} stored`);
}

test('SIP sent while NATS is down goes out when it is back, oldest dropped past the bound, after a heartbeat', async () => {
  const server = await startNatsServer();
  const spool = await mkdtemp(join(tmpdir(), 'switchboard-outage-'));
  const observer = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  }));
  const config = WorkerConfigSchema.parse({
    worker: { id: 'w1', outageQueue: { maxMessages: 3, maxBytes: 1_000_000 } },
    trunking: { file: 'unused.yaml' },
    nats: { servers: [server.url] },
    routing: { secret: 'outage-test-secret-0123' },
  });
  const node = new WorkerNode(config, nc, log, TrunkingConfigSchema.parse({}), spool);
  try {
    const jsm = await jetstreamManager(observer);
    await jsm.streams.add({ name: STREAM, subjects: [Subjects.workerHeartbeat, Subjects.transportOutbound(TRANSPORT)], storage: StorageType.File });
    await node.start();
    await eventually(async () => ((await jsm.streams.info(STREAM)).state.messages > 0 ? true : undefined), 'the first heartbeat');

    await server.kill();
    await eventually(() => lines.find((l) => l.event === 'nats-disconnected'), 'the worker to see the outage');
    const send = (n: number) => node.router.ctx.link.send(new SipResponse({ status: 200, headers: new Headers([['Call-ID', `bye-${n}@pbx`]]) }), PBX);
    for (let n = 1; n <= 5; n++) {
      send(n);
      // a turn apart, as separate actors' sends are: each is its own batch
      await sleep(5);
    }
    const counters = node.router.ctx.counters;
    assert.equal(counters.get('outbound.queued'), 5);
    assert.equal(counters.get('outbound.dropped'), 2);

    const restartedAt = Date.now();
    await server.restart();
    await eventually(() => lines.find((l) => l.event === 'nats-reconnected'), 'the worker to reconnect');
    // the held SIP leaves once the worker's slots are verified against the bucket (fencing)
    const back = await eventually(() => lines.find((l) => l.event === 'unfenced'), 'the slots verified');
    assert.equal(back.queued, 5);
    assert.equal(back.dropped, 2);
    send(6);
    const seen = await seenSince(jsm, restartedAt, 'bye-6@pbx');
    assert.deepEqual(seen.slice(0, 4), ['heartbeat w1', 'bye-3@pbx', 'bye-4@pbx', 'bye-5@pbx'], 'a heartbeat at once, then the held SIP in order');
    // the interval's own heartbeat may fall between the reconnect and this send
    assert.deepEqual(seen.slice(4).filter((s) => !s.startsWith('heartbeat')), ['bye-6@pbx'], 'what is sent after comes after');
    assert.equal(lines.filter((l) => l.event === 'nats-disconnected').length, 1, 'the outage is logged once');
    assert.equal(lines.filter((l) => l.event === 'nats-reconnected').length, 1, 'and its end once');
  } finally {
    // bounded: a failure may leave the server down, and draining waits for it
    await Promise.race([node.stop().catch(() => undefined), sleep(5_000)]);
    await nc.close().catch(() => undefined);
    await observer.close().catch(() => undefined);
    await server.stop();
    await rm(spool, { recursive: true, force: true });
  }
});
