import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { HealthServer } from '@switchboard/health';
import { drainFor, drainRoute, WorkerDrain, type DrainableWorker, type DrainPlan } from './worker-drain.js';
import { parsePrestopArgs } from './prestop-request.js';

const PRESTOP = fileURLToPath(new URL('../prestop.js', import.meta.url));

/** A worker whose calls end when the test says. */
class FakeWorker implements DrainableWorker {
  calls = 2;
  drains = 0;
  modes: string[] = [];
  private end: () => void = () => undefined;
  drain(mode: string): Promise<void> {
    this.drains++;
    this.modes.push(mode);
    return new Promise((resolve) => (this.end = resolve));
  }
  callsEnd(): void {
    this.calls = 0;
    this.end();
  }
}

function prestop(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PRESTOP, ...args], { env: { PATH: process.env.PATH, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('WorkerDrain', () => {
  test('one drain: a second request, in any mode, waits for the first', async () => {
    const worker = new FakeWorker();
    const drains = new WorkerDrain(worker);
    const first = drains.run('slow');
    const second = drains.run('handover');
    assert.equal(worker.drains, 1);
    assert.equal(second, first);
    assert.equal(second?.mode, 'slow');
  });

  test('each mode is the worker\'s own drain in that mode', () => {
    const worker = new FakeWorker();
    assert.equal(new WorkerDrain(worker).run('handover')?.mode, 'handover');
    assert.equal(new WorkerDrain(worker).run('slow')?.mode, 'slow');
    assert.deepEqual(worker.modes, ['handover', 'slow']);
  });

  test('a mode a plan does not build starts no drain, and another still can', () => {
    const worker = new FakeWorker();
    const drains = new WorkerDrain(worker, (mode, w) => (mode === 'handover' ? undefined : drainFor(mode, w)));
    assert.equal(drains.run('handover'), undefined);
    assert.equal(worker.drains, 0);
    assert.equal(drains.run('slow')?.mode, 'slow');
  });

  test('a mode plugs in through the plan', async () => {
    const worker = new FakeWorker();
    let handedOver = 0;
    const plan: DrainPlan = (mode, w) => (mode === 'handover' ? async () => void handedOver++ : drainFor(mode, w));
    await new WorkerDrain(worker, plan).run('handover')?.done;
    assert.equal(handedOver, 1);
    assert.equal(worker.drains, 0);
  });
});

describe('POST /drain and switchboard-worker-prestop', () => {
  let worker: FakeWorker;
  let drains: WorkerDrain | undefined;
  let port = 0;
  const server = new HealthServer({ readiness: [], routes: [drainRoute(() => drains, () => worker.calls)] });
  before(async () => {
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
  });
  after(() => server.close());

  const post = async (query = '') => {
    const res = await fetch(`http://127.0.0.1:${port}/drain${query}`, { method: 'POST' });
    return [res.status, (await res.text()).trim()];
  };

  test('before the worker is made there is nothing to drain: 503', async () => {
    worker = new FakeWorker();
    drains = undefined;
    assert.deepEqual(await post(), [503, 'starting: nothing to drain yet']);
  });

  test('answers once the drain is over, and a second request waits for the same drain', async () => {
    worker = new FakeWorker();
    drains = new WorkerDrain(worker);
    let answered = 0;
    const first = post('?mode=slow').then((a) => (answered++, a));
    const second = post().then((a) => (answered++, a));
    await tick(100);
    assert.equal(answered, 0, 'no answer while calls are up');
    assert.equal(worker.drains, 1);
    worker.callsEnd();
    assert.deepEqual(await first, [200, 'drained (slow)']);
    assert.deepEqual(await second, [200, 'drained (slow)']);
  });

  test('says so when the drain time ran out with calls still up', async () => {
    worker = new FakeWorker();
    worker.drain = () => Promise.resolve();
    drains = new WorkerDrain(worker);
    assert.deepEqual(await post(), [200, 'drain time limit reached (slow): 2 calls still up']);
  });

  test('a mode the worker does not build answers 501; an unknown mode is 400', async () => {
    worker = new FakeWorker();
    drains = new WorkerDrain(worker, (mode, w) => (mode === 'handover' ? undefined : drainFor(mode, w)));
    assert.deepEqual(await post('?mode=handover'), [501, 'the handover drain is not available in this version']);
    assert.equal((await post('?mode=fast'))[0], 400);
    assert.equal(worker.drains, 0);
  });

  test('the preStop command holds until the drain is over (handover, its default), and exits 0', async () => {
    worker = new FakeWorker();
    drains = new WorkerDrain(worker);
    let exited = false;
    const run = prestop([], { SWITCHBOARD_HEALTH_PORT: String(port) }).then((r) => ((exited = true), r));
    await tick(300);
    assert.equal(exited, false, 'preStop returned while calls were up');
    assert.equal(worker.drains, 1);
    worker.callsEnd();
    const { code, out } = await run;
    assert.equal(code, 0, out);
    assert.match(out, /drained \(handover\)/);
    assert.deepEqual(worker.modes, ['handover']);
  });

  test('the preStop command falls back from handover to slow on a worker that cannot hand over', async () => {
    worker = new FakeWorker();
    drains = new WorkerDrain(worker, (mode, w) => (mode === 'handover' ? undefined : drainFor(mode, w)));
    const run = prestop([], { SWITCHBOARD_HEALTH_PORT: String(port) });
    await tick(300);
    worker.callsEnd();
    const { code, out } = await run;
    assert.equal(code, 0, out);
    assert.match(out, /drained \(slow\)/);
  });

  test('the preStop command fails (non-zero, with a message) when the worker refuses or is not there', async () => {
    worker = new FakeWorker();
    drains = new WorkerDrain(worker);
    drains = new WorkerDrain(worker, (mode, w) => (mode === 'handover' ? undefined : drainFor(mode, w)));
    const refused = await prestop(['handover', '--port', String(port)], {});
    assert.equal(refused.code, 1);
    assert.match(refused.out, /refused the drain: 501/);
    const closed = new HealthServer({ readiness: [] });
    const { port: gone } = await closed.listen({ host: '127.0.0.1', port: 0 });
    await closed.close();
    const absent = await prestop([], { SWITCHBOARD_HEALTH_PORT: String(gone) });
    assert.equal(absent.code, 1);
    assert.match(absent.out, /cannot reach the worker: .*ECONNREFUSED/);
    const unset = await prestop([], {});
    assert.equal(unset.code, 2);
    assert.match(unset.out, /no health port/);
  });

  test('parsePrestopArgs: the mode, and the port from --port over the environment', () => {
    assert.deepEqual(parsePrestopArgs(['slow', '--port', '9001'], { SWITCHBOARD_HEALTH_PORT: '8081' }), { ok: true, port: 9001, mode: 'slow' });
    assert.deepEqual(parsePrestopArgs([], { SWITCHBOARD_HEALTH_PORT: '8081' }), { ok: true, port: 8081, mode: undefined });
    assert.equal(parsePrestopArgs(['quick'], { SWITCHBOARD_HEALTH_PORT: '8081' }).ok, false);
    assert.equal(parsePrestopArgs(['--port', '0'], {}).ok, false);
  });
});
