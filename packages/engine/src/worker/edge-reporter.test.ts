// The cluster-wide digest replay check against a real nats-server: two reporters on two
// connections stand for two workers (RFC 7616 §3.4: a nonce count is used once).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JetStreamApiError } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { NONCES_BUCKET } from '@switchboard/wire';
import { pino } from 'pino';
import { EdgeReporter, isAlreadyClaimed } from './edge-reporter.js';

let server: NatsServerHandle;
const connections: NatsConnection[] = [];
const reporters: EdgeReporter[] = [];

before(async () => {
  server = await startNatsServer();
});

after(async () => {
  for (const r of reporters) r.close();
  for (const nc of connections) await nc.close().catch(() => {});
  await server.stop();
});

async function connection(): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  return nc;
}

async function worker(id: string): Promise<EdgeReporter> {
  const reporter = await EdgeReporter.open(await connection(), id, pino({ level: 'silent' }));
  reporters.push(reporter);
  return reporter;
}

/** A nonce as digest.ts issues them: `<issued base36>.<salt>.<mac>`. */
let issued = 0;
const newNonce = () => `${(Date.now() + issued++).toString(36)}.AAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB`;

describe('EdgeReporter: digest nonce counts claimed cluster-wide', () => {
  test('the first claim is granted; the same nonce count on another worker is refused, the next count is not', async () => {
    const w1 = await worker('w1');
    const w2 = await worker('w2');
    const nonce = newNonce();
    assert.equal(await w1.claimNonce(nonce, '00000001'), true);
    assert.equal(await w2.claimNonce(nonce, '00000001'), false, 'replayed on another worker');
    assert.equal(await w1.claimNonce(nonce, '00000001'), false, 'replayed on the same worker');
    assert.equal(await w2.claimNonce(nonce, '00000002'), true, 'the next nonce count is a new request');
  });

  test('a claim deleted or purged through the KV API still refuses its replay', async () => {
    const w1 = await worker('w1');
    const kv = await new Kvm(await connection()).open(NONCES_BUCKET);
    for (const remove of [(k: string) => kv.delete(k), (k: string) => kv.purge(k)]) {
      const nonce = newNonce();
      assert.equal(await w1.claimNonce(nonce, '00000001'), true);
      // a worker may publish on $KV.sb-nonces.> (it claims there), and a KV delete is such a publish
      await remove(`${nonce}.00000001`);
      assert.equal(await w1.claimNonce(nonce, '00000001'), false, 'the marker left by the delete still holds the claim');
    }
  });

  test('a key that is no subject token is refused as a check that could not be made, never granted', async () => {
    const w1 = await worker('w1');
    await assert.rejects(w1.claimNonce('a.*', '00000001'));
    await assert.rejects(w1.claimNonce('a b', '00000001'));
  });

  test('"wrong last sequence" in both of the server\'s codes means used; any other error does not', () => {
    const error = (errCode: number) => new JetStreamApiError({ code: 400, err_code: errCode, description: 'wrong last sequence' });
    assert.equal(isAlreadyClaimed(error(10071)), true);
    assert.equal(isAlreadyClaimed(error(10164)), true, 'StreamWrongLastSequenceUnknown (newer servers)');
    assert.equal(isAlreadyClaimed(error(10077)), false);
    assert.equal(isAlreadyClaimed(new Error('timeout')), false);
  });
});
