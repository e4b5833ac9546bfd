import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTrees, type CallDetailRecord } from '@switchboard/cdr';
import { CDR_CSV_HEADER, csvField, toCdrCsv } from './cdr-csv.js';
import { sampleRecords } from './testing/sample-records.js';

/** A small RFC 4180 reader, to check the writer by reading back what it wrote. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"', i++);
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (row.push(field), (field = ''));
    else if (c === '\r' && text[i + 1] === '\n') (row.push(field), rows.push(row), (row = []), (field = ''), i++);
    else field += c;
  }
  assert.equal(field + row.join(''), '', 'the text ends with CRLF');
  return rows;
}

describe('CDR CSV', () => {
  it('has a header row, then every record in tree order with its depth', () => {
    const rows = readCsv(toCdrCsv(recordTrees(sampleRecords())));
    assert.deepEqual(rows[0], [...CDR_CSV_HEADER]);
    assert.equal(rows[0]?.[0], 'depth');
    const col = (name: string) => CDR_CSV_HEADER.indexOf(name);
    assert.deepEqual(rows.slice(1).map((r) => [r[col('depth')], r[col('id')], r[col('parentId')]]), [
      ['0', '00000000a1b2c3d4-0', ''], ['1', '00000000a1b2c3d4-1', '00000000a1b2c3d4-0'], ['1', '00000000a1b2c3d4-2', '00000000a1b2c3d4-0'], ['0', '000000000badf00d-0', ''],
    ]);
    const pstn = rows[2]!;
    assert.equal(pstn[col('kind')], 'pstn');
    assert.equal(pstn[col('billable')], 'true');
    assert.equal(pstn[col('carriersTried')], 'carrier-a;carrier-b');
    assert.equal(pstn[col('sipCallIds')], 'c1-sip@sb');
    assert.equal(pstn[col('startedAt')], '2026-11-25T14:00:20.000Z');
    assert.equal(pstn[col('answeredAt')], '2026-11-25T14:00:24.000Z');
    assert.equal(pstn[col('billableSeconds')], '60');
    assert.equal(pstn[col('fromReceived')], '4155550100');
    assert.equal(pstn[col('fromNormalised')], '+14155550100');
    const sip = rows[3]!;
    assert.equal(sip[col('billable')], 'false');
    assert.equal(sip[col('ringingAt')], '');
    assert.equal(sip[col('carrier')], '');
    assert.equal(rows[4]![col('statusText')], 'Busy Here');
    assert.ok(rows.every((r) => r.length === CDR_CSV_HEADER.length));
    assert.equal(readCsv(toCdrCsv([])).length, 1);
  });

  it('quotes fields with a comma, a quote, CR or LF, doubling the quotes', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('cr\rhere'), '"cr\rhere"');
    assert.equal(csvField(''), '');
    const record: CallDetailRecord = {
      ...sampleRecords()[3]!, reason: 'Q.850;cause=17;text="User busy, really"', statusText: 'Busy\r\nHere',
    };
    const rows = readCsv(toCdrCsv(recordTrees([record])));
    assert.equal(rows[1]?.[CDR_CSV_HEADER.indexOf('reason')], 'Q.850;cause=17;text="User busy, really"');
    assert.equal(rows[1]?.[CDR_CSV_HEADER.indexOf('statusText')], 'Busy\r\nHere');
  });

  it('guards against formula injection, but leaves E.164 numbers alone', () => {
    assert.equal(csvField('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField('+cmd'), "'+cmd");
    assert.equal(csvField("-1+cmd|' /C calc'!A0"), "'-1+cmd|' /C calc'!A0");
    assert.equal(csvField('\t=1'), "'\t=1");
    assert.equal(csvField('\r=1'), `"'\r=1"`);
    assert.equal(csvField('+'), "'+");
    assert.equal(csvField('+14155551234'), '+14155551234');
    assert.equal(csvField('-42'), '-42');
    assert.equal(csvField('sip:+14155551234@example.com'), 'sip:+14155551234@example.com');
    const record: CallDetailRecord = { ...sampleRecords()[3]!, from: { received: '=1+1', normalised: '+14155551234' } };
    const rows = readCsv(toCdrCsv(recordTrees([record])));
    assert.equal(rows[1]?.[CDR_CSV_HEADER.indexOf('fromReceived')], "'=1+1");
    assert.equal(rows[1]?.[CDR_CSV_HEADER.indexOf('fromNormalised')], '+14155551234');
  });
});
