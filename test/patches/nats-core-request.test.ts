// patches/@nats-io__nats-core@3.4.0.patch: nats.js 3.4 rejected every request's settled promise
// once more when it cleaned up after the reply, building a RequestError (a stack capture) for
// nothing; a worker makes a few JetStream requests per call (snapshots, records, limits).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@switchboard/testkit';

const require = createRequire(import.meta.url);
// request.js reads the class from this module object at each use: a subclass put here is what it builds
const errors = require(join(dirname(require.resolve('@nats-io/nats-core')), 'errors.js')) as { RequestError: new (...args: unknown[]) => Error };

let nats: NatsServerHandle;
let nc: NatsConnection;
before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url, noAsyncTraces: true });
});
after(async () => {
  await nc.close();
  await nats.stop();
});

test('a request answered builds no RequestError; one that times out still rejects with the timeout', async () => {
  const built: string[] = [];
  const original = errors.RequestError;
  errors.RequestError = class extends original {
    constructor(...args: unknown[]) {
      super(...args);
      built.push(this.message);
    }
  };
  try {
    nc.subscribe('echo', { callback: (_err, msg) => void msg.respond(msg.data) });
    for (let i = 0; i < 20; i++) assert.equal((await nc.request('echo', 'x', { timeout: 2_000 })).string(), 'x');
    assert.deepEqual(built, [], 'no error is made for a request that was answered');
    await assert.rejects(nc.request('nobody.listens', 'x', { timeout: 200 }), (err: Error) => /no responders|timeout/i.test(`${err.name} ${err.message}`));
  } finally {
    errors.RequestError = original;
  }
});

test('the patch keeps the failures: a request nobody answers times out, one pending when the connection closes rejects', async () => {
  const own = await connect({ servers: nats.url, noAsyncTraces: true });
  own.subscribe('silent', { callback: () => undefined }); // takes the request, never answers
  await own.flush();
  await assert.rejects(own.request('silent', 'x', { timeout: 200 }), (err: Error) => /timeout/i.test(`${err.name} ${err.message}`));
  const pending = own.request('silent', 'x', { timeout: 60_000 });
  await own.close();
  await assert.rejects(pending);
});
