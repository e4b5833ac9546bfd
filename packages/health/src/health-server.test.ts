import assert from 'node:assert/strict';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { EventLoopWatch } from './event-loop-watch.js';
import { HealthServer, isLoopback, type HealthAnswer } from './health-server.js';

interface Reply { status: number; body: string; headers: Record<string, string | string[] | undefined> }

function call(port: number, method: string, path: string, host = '127.0.0.1'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HealthServer over real HTTP', () => {
  let clock = 0;
  const loop = new EventLoopWatch({ intervalMs: 100, blockedMs: 1_000, now: () => clock });
  const state = { started: false, natsUp: true, draining: false };
  const drains: string[] = [];
  let finishDrain: (answer: HealthAnswer) => void = () => undefined;
  const server = new HealthServer({
    loop,
    readiness: [
      () => (state.started ? undefined : 'starting'),
      () => (state.natsUp ? undefined : 'nats disconnected'),
      () => (state.draining ? 'draining' : undefined),
    ],
    routes: [{
      method: 'POST', path: '/drain', loopbackOnly: true,
      handle: (query) => {
        drains.push(query.get('mode') ?? '(none)');
        return new Promise((resolve) => (finishDrain = resolve));
      },
    }],
  });
  let port = 0;
  before(async () => {
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
  });
  after(() => server.close());

  test('binds the port asked for, here one the system chose', () => {
    assert.ok(port > 0);
  });

  test('/readyz is 503 naming every unmet condition, then 200 ready once all are met', async () => {
    state.natsUp = false;
    assert.deepEqual(await call(port, 'GET', '/readyz').then((r) => [r.status, r.body]), [503, 'starting, nats disconnected']);
    state.started = true;
    assert.deepEqual(await call(port, 'GET', '/readyz').then((r) => [r.status, r.body]), [503, 'nats disconnected']);
    state.natsUp = true;
    const ready = await call(port, 'GET', '/readyz');
    assert.deepEqual([ready.status, ready.body], [200, 'ready']);
    assert.equal(ready.headers['cache-control'], 'no-store');
    assert.match(String(ready.headers['content-type']), /^text\/plain/);
  });

  test('draining makes the process unready but never unlive', async () => {
    state.draining = true;
    assert.deepEqual(await call(port, 'GET', '/readyz').then((r) => [r.status, r.body]), [503, 'draining']);
    assert.deepEqual(await call(port, 'GET', '/livez').then((r) => [r.status, r.body]), [200, 'ok']);
    state.draining = false;
  });

  test('/livez fails only once the event loop was held past the threshold', async () => {
    clock += 100 + 900;
    loop.tick();
    assert.equal((await call(port, 'GET', '/livez')).status, 200, 'a late turn under the threshold is still live');
    clock += 100 + 1_500;
    loop.tick();
    assert.deepEqual(await call(port, 'GET', '/livez').then((r) => [r.status, r.body]), [503, 'event loop blocked for 1500 ms']);
    clock += 100;
    loop.tick();
    assert.equal((await call(port, 'GET', '/livez')).status, 200, 'live again once the turns are on time');
  });

  test('HEAD is answered like GET, without a body; other methods and paths are refused', async () => {
    assert.deepEqual(await call(port, 'HEAD', '/livez').then((r) => [r.status, r.body]), [200, '']);
    assert.equal((await call(port, 'POST', '/readyz')).status, 405);
    assert.equal((await call(port, 'GET', '/drain')).status, 405);
    assert.equal((await call(port, 'GET', '/metrics')).status, 404);
  });

  test('a route answers when its work is done, and gets the query', async () => {
    const pending = call(port, 'POST', '/drain?mode=slow');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(drains, ['slow']);
    finishDrain({ status: 200, body: 'drained' });
    assert.deepEqual(await pending.then((r) => [r.status, r.body]), [200, 'drained']);
  });
});

describe('HealthServer: loopback-only routes', () => {
  const external = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

  test('a loopback-only route is refused (403) to a caller from another address, and run for one on this machine', { skip: external === undefined ? 'no non-loopback IPv4 interface here' : false }, async () => {
    let runs = 0;
    const server = new HealthServer({
      loop: new EventLoopWatch(), readiness: [],
      routes: [{ method: 'POST', path: '/drain', loopbackOnly: true, handle: () => Promise.resolve({ status: 200, body: `run ${++runs}` }) }],
    });
    const { port } = await server.listen({ host: '0.0.0.0', port: 0 });
    try {
      const refused = await call(port, 'POST', '/drain', external);
      assert.deepEqual([refused.status, refused.body], [403, '/drain is accepted from this machine only']);
      assert.equal(runs, 0);
      assert.deepEqual(await call(port, 'POST', '/drain', '127.0.0.1').then((r) => [r.status, r.body]), [200, 'run 1']);
      assert.equal((await call(port, 'GET', '/readyz', external)).status, 200, 'the probes answer any caller');
    } finally {
      await server.close();
    }
  });

  test('isLoopback: 127.0.0.0/8 and ::1 in every form a socket shows them', () => {
    assert.equal(isLoopback('127.0.0.1'), true);
    assert.equal(isLoopback('127.3.2.1'), true);
    assert.equal(isLoopback('::1'), true);
    assert.equal(isLoopback('::ffff:127.0.0.1'), true);
    assert.equal(isLoopback('10.0.0.7'), false);
    assert.equal(isLoopback('::ffff:10.0.0.7'), false);
    assert.equal(isLoopback('fe80::1'), false);
    assert.equal(isLoopback(undefined), false);
  });
});

describe('HealthServer with a real event loop', () => {
  test('/livez turns 503 after the loop was blocked past the threshold, and 200 again after', async () => {
    const loop = new EventLoopWatch({ intervalMs: 20, blockedMs: 150 }).start();
    const server = new HealthServer({ loop, readiness: [] });
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      assert.equal((await call(port, 'GET', '/livez')).status, 200);
      const until = Date.now() + 300;
      while (Date.now() < until) { /* holds the loop as a wedged handler would */ }
      // the watch's timer takes its (late) turn before the request is read
      assert.equal((await call(port, 'GET', '/livez')).status, 503);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await call(port, 'GET', '/livez')).status, 200);
      assert.deepEqual(await call(port, 'GET', '/readyz').then((r) => [r.status, r.body]), [200, 'ready']);
    } finally {
      loop.stop();
      await server.close();
    }
  });
});
