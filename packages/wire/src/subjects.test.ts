import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Subjects, TRACEPARENT_HEADER, assertNodeId } from './subjects.js';

const BUILDERS: [string, (id: string) => string][] = [
  ['workerInbound', Subjects.workerInbound],
  ['transportOutbound', Subjects.transportOutbound],
  ['sendFailure', Subjects.sendFailure],
  ['transportStats', Subjects.transportStats],
];

const BAD_IDS = ['', 'w.1', 'w1.', '.w1', '*', 'w*', '>', 'w>', 'w 1', ' w1', 'w1 ', 'w\t1', 'w-1', 'w_1', 'wörker', 'x'.repeat(33), 'w1\n'];

describe('Subjects', () => {
  test('builders put the id in as one token', () => {
    assert.equal(Subjects.workerInbound('w1'), 'sb.sip.worker.w1');
    assert.equal(Subjects.transportOutbound('tn2'), 'sb.sip.transport.tn2');
    assert.equal(Subjects.sendFailure('w1'), 'sb.sip.sendfail.w1');
    assert.equal(Subjects.transportStats('tn2'), 'sb.transport.tn2.stats');
    assert.equal(Subjects.workerHeartbeat, 'sb.workers.heartbeat');
    assert.equal(Subjects.transportStatsAll, 'sb.transport.stats');
    assert.equal(Subjects.edgeSources, 'sb.edge.sources');
    assert.equal(Subjects.edgeAuthenticated, 'sb.edge.authenticated');
    assert.equal(TRACEPARENT_HEADER, 'traceparent');
  });

  test('ids with dots, wildcards, spaces or other characters are refused by every builder', () => {
    for (const [name, build] of BUILDERS) {
      for (const bad of BAD_IDS) assert.throws(() => build(bad), /must be 1-32 letters or digits/, `${name}(${JSON.stringify(bad)})`);
    }
  });

  test('ids of 1 to 32 letters or digits are accepted', () => {
    for (const [, build] of BUILDERS) {
      assert.ok(build('a').endsWith('a') || build('a').includes('.a.'));
      const long = 'Ab3'.repeat(10) + 'Zz';
      assert.ok(build(long).includes(long));
    }
  });

  test('assertNodeId returns the id and names what it checked', () => {
    assert.equal(assertNodeId('node7'), 'node7');
    assert.throws(() => assertNodeId('a.b', 'transport id'), /^Error: transport id must be/);
  });
});
