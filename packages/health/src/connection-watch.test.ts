import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionWatch, type ConnectionStatusSource } from './connection-watch.js';

/** A connection whose status events the test sends. */
class FakeConnection implements ConnectionStatusSource {
  closed = false;
  private readonly waiting: ((event: IteratorResult<{ type: string }>) => void)[] = [];
  private readonly queued: { type: string }[] = [];

  emit(type: string): void {
    const next = this.waiting.shift();
    if (next !== undefined) next({ value: { type }, done: false });
    else this.queued.push({ type });
  }

  isClosed(): boolean {
    return this.closed;
  }

  status(): AsyncIterable<{ type: string }> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          const event = this.queued.shift();
          return event !== undefined ? Promise.resolve({ value: event, done: false }) : new Promise((resolve) => this.waiting.push(resolve));
        },
      }),
    };
  }
}

const settle = () => new Promise((r) => setImmediate(r));

describe('ConnectionWatch', () => {
  test('up from the start, down from disconnect to reconnect', async () => {
    const nc = new FakeConnection();
    const watch = new ConnectionWatch(nc);
    assert.equal(watch.up, true);
    nc.emit('disconnect');
    await settle();
    assert.equal(watch.up, false);
    nc.emit('reconnecting');
    await settle();
    assert.equal(watch.up, false, 'trying again is not being back');
    nc.emit('reconnect');
    await settle();
    assert.equal(watch.up, true);
    nc.emit('ping');
    await settle();
    assert.equal(watch.up, true);
  });

  test('down for good once the connection is closed', () => {
    const nc = new FakeConnection();
    const watch = new ConnectionWatch(nc);
    nc.closed = true;
    assert.equal(watch.up, false);
  });
});
