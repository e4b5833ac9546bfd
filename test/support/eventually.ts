// Waiting on an event in e2e tests: poll a check until it holds, failing with what did not happen.
import assert from 'node:assert/strict';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 200 ms until it holds; fails after `ms` saying what did not happen. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string | (() => string), ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${typeof what === 'string' ? what : what()}`);
    await sleep(200);
  }
}
