import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './paths.js';

const cluster = new URL('./cluster.js', import.meta.url).href;

/** The transport and worker scripts cluster.js would start, under `env`. */
function mains(env: NodeJS.ProcessEnv): string[] {
  const script = `const m = await import(${JSON.stringify(cluster)}); console.log(JSON.stringify([m.TRANSPORT_MAIN, m.WORKER_MAIN, m.ECHO_WORKER]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, SWITCHBOARD_ROOT: '', ...env }, encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

describe('the cluster of the e2e tests and benchmarks', () => {
  it("runs this tree's transport and worker by default", () => {
    assert.deepEqual(mains({}), [join(repoRoot, 'packages/transport/dist/main.js'), join(repoRoot, 'packages/engine/dist/main.js'), join(repoRoot, 'test/dist/support/echo-worker.js')]);
  });

  it("runs another checkout's transport and worker under SWITCHBOARD_ROOT, the test support still this tree's", () => {
    assert.deepEqual(mains({ SWITCHBOARD_ROOT: '/elsewhere/base/' }), ['/elsewhere/base/packages/transport/dist/main.js', '/elsewhere/base/packages/engine/dist/main.js', join(repoRoot, 'test/dist/support/echo-worker.js')]);
  });
});
