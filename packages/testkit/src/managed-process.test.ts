// A process that ends without stopping its ManagedProcess children (a benchmark that throws at
// start-up) does not leave them running.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('./managed-process.js', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('children still running when their parent throws get SIGTERM as it exits', async () => {
  const script = `
    import { ManagedProcess } from ${JSON.stringify(MODULE)};
    const p = ManagedProcess.spawn('sleeper', 'sleep', ['60']);
    console.log(p.child.pid);
    throw new Error('start-up failed');
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.notEqual(run.status, 0, 'the parent failed');
  const pid = Number(run.stdout.trim());
  assert.ok(Number.isInteger(pid) && pid > 0, `the child's pid: ${run.stdout}`);
  for (let waited = 0; alive(pid) && waited < 5_000; waited += 50) await sleep(50);
  assert.equal(alive(pid), false, 'the child is gone');
});
