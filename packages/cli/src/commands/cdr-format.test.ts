import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUSY, CHILD, GRANDCHILD, RECORDS, ROOT } from '../testing/cdr-records.js';
import { formatLocalIso, formatLocalTime } from '../output/time.js';
import { formatCdrDetail, formatCdrListJson, formatCdrShowJson, formatCdrTable, inTreeOrder, treeIndent } from './cdr-format.js';

const HEADERS = ['RECORD', 'STARTED', 'TRUNK', 'DIR', 'KIND', 'BILLABLE', 'FROM', 'TO', 'DISPOSITION', 'STATUS', 'DURATION', 'BILLED'];

describe('inTreeOrder', () => {
  it('puts each referred call right after the one it was referred from, one level deeper', () => {
    assert.deepEqual(inTreeOrder(RECORDS).map(({ record, depth }) => [record.id, depth]), [
      ['00000000b2c3d4e5-0', 0],
      ['00000000a1b2c3d4-0', 0],
      ['00000000a1b2c3d4-1', 1],
      ['00000000a1b2c3d4-2', 2],
    ]);
  });
});

describe('formatCdrTable', () => {
  const lines = formatCdrTable(inTreeOrder(RECORDS)).trimEnd().split('\n');

  it('prints the headers, then a parent, its child and grandchild indented in order', () => {
    assert.deepEqual(lines[0]?.split(/\s+/), HEADERS);
    assert.equal(lines.length, 5);
    assert.match(lines[1] ?? '', /^00000000b2c3d4e5-0 /);
    assert.match(lines[2] ?? '', /^00000000a1b2c3d4-0 /);
    assert.match(lines[3] ?? '', /^ {2}└ 00000000a1b2c3d4-1 /);
    assert.match(lines[4] ?? '', /^ {6}└ 00000000a1b2c3d4-2 /);
  });

  it('fills a row from the record', () => {
    const cells = lines[2]?.split(/\s{2,}/);
    assert.deepEqual(cells, [
      '00000000a1b2c3d4-0', formatLocalTime(ROOT.startedAt), 'acme', 'term', 'pstn', 'yes', '+14155550100', '+14155551234', 'answered', '200', '1m08s', '1m06s',
    ]);
    assert.deepEqual(lines[1]?.split(/\s{2,}/).slice(3, 12), ['orig', 'pstn', 'yes', '+12125550100', '+14155550100', 'busy', '486', '2s', '0s']);
    assert.match(lines[3] ?? '', /sip:desk@other\.example/);
  });

  it('keeps the columns aligned', () => {
    const at = (line: string | undefined) => line?.indexOf(formatLocalTime(ROOT.startedAt).slice(0, 10));
    assert.equal(new Set(lines.slice(1).map(at)).size, 1);
    assert.equal(at(lines[1]), lines[0]?.indexOf('STARTED'));
  });
});

describe('formatCdrListJson', () => {
  it('is one JSON array in tree order with depth', () => {
    const parsed = JSON.parse(formatCdrListJson(inTreeOrder(RECORDS))) as Array<Record<string, unknown>>;
    assert.deepEqual(parsed.map((r) => [r['id'], r['depth']]), [['00000000b2c3d4e5-0', 0], ['00000000a1b2c3d4-0', 0], ['00000000a1b2c3d4-1', 1], ['00000000a1b2c3d4-2', 2]]);
    assert.deepEqual(parsed[1], { ...ROOT, depth: 0 });
  });

  it('is an empty array for no records', () => {
    assert.deepEqual(JSON.parse(formatCdrListJson([])), []);
  });
});

describe('formatCdrDetail', () => {
  const chain = inTreeOrder([GRANDCHILD, CHILD, ROOT]);
  const text = formatCdrDetail(CHILD, chain);
  const [fields = '', tree = ''] = text.split('\nchain (');

  it('prints every field of the record', () => {
    const names = fields.split('\n').filter((l) => /^\w+:/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
    assert.deepEqual(names, [
      'id', 'v', 'callId', 'parentId', 'worker', 'trunk', 'direction', 'kind', 'billable', 'from', 'to', 'referredBy', 'referTo',
      'carrier', 'carriersTried', 'legs', 'startedAt', 'ringingAt', 'answeredAt', 'endedAt', 'duration', 'billableSeconds',
      'disposition', 'status', 'statusText', 'reason', 'endedBy', 'takenOver',
    ]);
    assert.match(fields, /^takenOver: +-$/m);
    assert.match(fields, /^parentId: +00000000a1b2c3d4-0$/m);
    assert.match(fields, /^referTo: +sip:desk@other\.example$/m);
    assert.match(fields, /^carrier: +-$/m);
    assert.match(fields, /^legs:\n {2}LEG +ROLE +SIP CALL-ID\n {2}c1 +callee +sb-c1-00000000a1b2c3d4$/m);
    assert.match(fields, /^duration: +30s \(30 s\)$/m);
    assert.match(fields, new RegExp(`^startedAt: +${formatLocalIso(CHILD.startedAt).replace(/[.+]/g, '\\$&')}$`, 'm'));
  });

  it('says when and from which worker a call was taken over', () => {
    const at = CHILD.startedAt + 10_000;
    const shown = formatCdrDetail({ ...CHILD, worker: 'w2', takenOver: { at, from: 'w1' } }, chain);
    assert.match(shown, new RegExp(`^takenOver: +${formatLocalIso(at).replace(/[.+]/g, '\\$&')} from w1$`, 'm'));
  });

  it('shows both forms of a number when the trunk normalised it', () => {
    assert.match(formatCdrDetail(ROOT, chain), /^from: +\+14155550100 \(received 4155550100\)$/m);
  });

  it('follows with the chain as a tree, marking the record shown', () => {
    const rows = tree.trimEnd().split('\n');
    assert.equal(rows[0], '3 records, * is this one):');
    assert.match(rows[1] ?? '', /^ {2} {3}RECORD +STARTED/);
    assert.match(rows[2] ?? '', /^ {5}00000000a1b2c3d4-0 /);
    assert.match(rows[3] ?? '', /^ {2}\* {4}└ 00000000a1b2c3d4-1 /);
    assert.match(rows[4] ?? '', /^ {11}└ 00000000a1b2c3d4-2 /);
  });
});

describe('formatCdrShowJson', () => {
  it('is {record, chain} and parses', () => {
    const parsed = JSON.parse(formatCdrShowJson(BUSY, inTreeOrder([BUSY]))) as { record: unknown; chain: unknown[] };
    assert.deepEqual(parsed, { record: BUSY, chain: [{ ...BUSY, depth: 0 }] });
  });
});

describe('treeIndent', () => {
  it('indents a tree level by four columns', () => {
    assert.deepEqual([0, 1, 2].map(treeIndent), ['', '  └ ', '      └ ']);
  });
});
