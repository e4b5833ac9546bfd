// Virtual time for engine tests: node's mock timers stand in for setTimeout, so a retransmission,
// a Timer B or a session refresh fires when the test moves the clock, never because the machine
// was busy between two steps of the test. Actor messages still run on real setImmediate turns
// (`settle`), so what a timer starts is handled before the clock moves on.
// (Named virtual-time, not test-clock: `node --test <dir>` would take test-*.js for a test file.)
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { settle } from './harness.js';

export class VirtualTime {
  /** Virtual milliseconds since the test started its clock. */
  now = 0;

  /**
   * Replaces setTimeout and Date (from the real now) for the rest of `t`, restored when it ends.
   * Start it before the engine: a timer armed on the real clock would fire on its own.
   */
  constructor(private readonly t: TestContext) {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.now() });
  }

  /**
   * Moves the clock on by `ms`, `step` at a time, letting the actors handle what each step fired
   * before the next: a timer re-armed on a fire (Timer A doubling) is due from the step it fired in.
   */
  async advance(ms: number, step = 10): Promise<void> {
    for (let moved = 0; moved < ms; moved += step) {
      const by = Math.min(step, ms - moved);
      this.t.mock.timers.tick(by);
      this.now += by;
      await settle();
    }
  }

  /** Moves the clock on until `check` holds, at most `limitMs`. */
  async until(check: () => boolean, what: string, limitMs: number, step = 10): Promise<void> {
    for (let moved = 0; moved < limitMs && !check(); moved += step) await this.advance(step, step);
    assert.ok(check(), `${what} (within ${limitMs} ms of virtual time)`);
  }
}
