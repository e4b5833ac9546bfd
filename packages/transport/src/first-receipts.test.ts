import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoutingFields } from '@switchboard/sip';
import { FirstReceipts, receiptKey, RETRANSMIT_WINDOW_MS } from './first-receipts.js';

function bye(callId: string, cseq = 2, branch = 'z9hG4bK1'): RoutingFields {
  return { kind: 'request', method: 'BYE', status: 0, callId, branch, toTag: 'w1.x', fromTag: 'a', cseq, cseqMethod: 'BYE' };
}

describe('FirstReceipts', () => {
  test('keeps the first receive time of a request; a retransmission does not replace it', () => {
    const r = new FirstReceipts(10);
    assert.equal(r.remember(receiptKey(bye('c1')), 1_000), true);
    assert.equal(r.remember(receiptKey(bye('c1')), 1_500), false);
    assert.equal(r.firstReceivedAt(receiptKey(bye('c1')), 2_000), 1_000);
    assert.equal(r.size, 1);
  });

  test('another CSeq, method or branch is another request', () => {
    const r = new FirstReceipts(10);
    r.remember(receiptKey(bye('c1')), 1_000);
    assert.equal(r.firstReceivedAt(receiptKey(bye('c1', 3)), 2_000), undefined);
    assert.equal(r.firstReceivedAt(receiptKey(bye('c1', 2, 'z9hG4bK2')), 2_000), undefined);
    assert.equal(r.firstReceivedAt(receiptKey({ ...bye('c1'), method: 'INFO', cseqMethod: 'INFO' }), 2_000), undefined);
    assert.equal(r.firstReceivedAt(receiptKey(bye('c2')), 2_000), undefined);
  });

  test('bounded: past its capacity the oldest entry goes', () => {
    const r = new FirstReceipts(3);
    for (let i = 0; i < 5; i++) r.remember(receiptKey(bye(`c${i}`)), 1_000 + i);
    assert.equal(r.size, 3);
    assert.equal(r.firstReceivedAt(receiptKey(bye('c0')), 2_000), undefined);
    assert.equal(r.firstReceivedAt(receiptKey(bye('c1')), 2_000), undefined);
    assert.equal(r.firstReceivedAt(receiptKey(bye('c2')), 2_000), 1_002);
    assert.equal(r.firstReceivedAt(receiptKey(bye('c4')), 2_000), 1_004);
  });

  test('a receipt older than Timer F is of no use: not returned, and pruned as new ones come', () => {
    const r = new FirstReceipts(100);
    r.remember(receiptKey(bye('old')), 0);
    assert.equal(r.firstReceivedAt(receiptKey(bye('old')), RETRANSMIT_WINDOW_MS), 0);
    assert.equal(r.firstReceivedAt(receiptKey(bye('old')), RETRANSMIT_WINDOW_MS + 1), undefined);
    r.remember(receiptKey(bye('new')), RETRANSMIT_WINDOW_MS + 1);
    assert.equal(r.size, 1);
  });
});
