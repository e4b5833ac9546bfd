import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallDetailRecord } from '@switchboard/cdr';
import { pino } from 'pino';
import { NactKernel } from '../kernel/nact-kernel.js';
import { CdrActor } from './cdr-actor.js';

/** Waits (however busy the machine) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

function start(sink: (records: readonly CallDetailRecord[]) => void) {
  const kernel = new NactKernel();
  const ref = CdrActor.spawn(kernel, 'w1', { emit: sink }, pino({ level: 'silent' }));
  const call = (callId: string, at: number) => {
    ref.tell({ callId, event: { type: 'started', at, sipCallId: `${callId}@pbx` } });
    ref.tell({ callId, event: { type: 'planned', trunk: 'acme', direction: 'termination', from: {}, to: {} } });
  };
  return { kernel, ref, call };
}

describe('CdrActor', () => {
  it('builds a call\'s records a grace period (RECORD_GRACE_MS) after it starts ending, or at once when every leg is gone', async (t) => {
    const emitted: CallDetailRecord[] = [];
    const { kernel, ref, call } = start((r) => emitted.push(...r));
    t.after(() => kernel.shutdown());
    call('0000000a', Date.now());
    call('0000000b', Date.now());
    ref.tell({ callId: '0000000a', event: { type: 'ending', at: Date.now() } });
    ref.tell({ callId: '0000000b', event: { type: 'ended', at: Date.now() } });
    await until(() => emitted.length > 0);
    assert.deepEqual(emitted.map((r) => r.id), ['0000000b-0'], 'the ended call at once, the ending one not yet');
    await until(() => emitted.length > 1);
    assert.deepEqual(emitted.map((r) => r.id), ['0000000b-0', '0000000a-0']);
    ref.tell({ callId: '0000000a', event: { type: 'ended', at: Date.now() } });
    ref.tell({ callId: '0000000b', event: { type: 'ended', at: Date.now() } });
    call('00000010', Date.now());
    ref.tell({ callId: '00000010', event: { type: 'ended', at: Date.now() } });
    await until(() => emitted.length > 2);
    assert.deepEqual(emitted.map((r) => r.id), ['0000000b-0', '0000000a-0', '00000010-0'], 'a call\'s records are emitted once');
  });

  it('a worker that stops flushes every call it still holds', async (t) => {
    const emitted: CallDetailRecord[] = [];
    const { kernel, ref, call } = start((r) => emitted.push(...r));
    t.after(() => kernel.shutdown());
    call('0000000c', Date.now());
    call('0000000d', Date.now());
    ref.tell({ callId: '0000000d', event: { type: 'ending', at: Date.now() } });
    ref.tell({ flush: true });
    await until(() => emitted.length >= 2);
    assert.deepEqual(emitted.map((r) => r.id).sort(), ['0000000c-0', '0000000d-0']);
  });

  it('a call whose records cannot be handed over costs that call only', async (t) => {
    const emitted: CallDetailRecord[] = [];
    let first = true;
    const { kernel, ref, call } = start((r) => {
      if (first) {
        first = false;
        throw new Error('sink broke');
      }
      emitted.push(...r);
    });
    t.after(() => kernel.shutdown());
    call('0000000e', Date.now());
    call('0000000f', Date.now());
    ref.tell({ callId: '0000000e', event: { type: 'ended', at: Date.now() } });
    ref.tell({ callId: '0000000f', event: { type: 'ended', at: Date.now() } });
    await until(() => emitted.length > 0);
    assert.deepEqual(emitted.map((r) => r.id), ['0000000f-0']);
  });
});
