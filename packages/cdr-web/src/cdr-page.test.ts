import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallDetailRecord } from '@switchboard/cdr';
import { formValuesOf, parseCdrFilter } from './cdr-filter.js';
import { renderCdrErrorPage, renderCdrPage } from './cdr-page.js';
import { SAMPLE_NOW, sampleRecords } from './testing/sample-records.js';

function render(records: readonly CallDetailRecord[], search = '', truncated = false): string {
  const params = new URLSearchParams(search);
  const parsed = parseCdrFilter(params, SAMPLE_NOW);
  assert.ok(parsed.ok);
  return renderCdrPage({ form: formValuesOf(params), filter: parsed.filter, records, truncated });
}

interface Row { id: string; parent: string; depth: number; classes: string[]; html: string }

/** The table rows in document order, with their structural attributes. */
function rows(html: string): Row[] {
  return [...html.matchAll(/<tr data-record-id="([^"]*)" data-parent-id="([^"]*)" data-depth="(\d+)"[^>]*?(?: class="([^"]*)")?>(.*?)<\/tr>/g)]
    .map((m) => ({ id: m[1] ?? '', parent: m[2] ?? '', depth: Number(m[3]), classes: (m[4] ?? '').split(' ').filter((c) => c !== ''), html: m[5] ?? '' }));
}

function sections(html: string): { trunk: string; heading: string; body: string }[] {
  return [...html.matchAll(/<section class="trunk" data-trunk="([^"]*)">\n<h2>(.*?)<\/h2>([\s\S]*?)<\/section>/g)]
    .map((m) => ({ trunk: m[1] ?? '', heading: m[2] ?? '', body: m[3] ?? '' }));
}

function cell(row: Row, name: string): string {
  const m = new RegExp(`<td class="${name}[^"]*"[^>]*>(.*?)</td>`).exec(row.html);
  assert.ok(m !== null, `no ${name} cell in ${row.html}`);
  return m[1] ?? '';
}

describe('CDR page', () => {
  it('puts each referred call right under its parent, indented and marked', () => {
    const list = rows(render(sampleRecords()));
    assert.deepEqual(list.map((r) => r.id), ['00000000a1b2c3d4-0', '00000000a1b2c3d4-1', '00000000a1b2c3d4-2', '000000000badf00d-0']);
    const [parent, pstn, sip] = list;
    assert.ok(parent !== undefined && pstn !== undefined && sip !== undefined);
    assert.equal(parent.parent, '');
    assert.deepEqual(parent.classes, []);
    for (const child of [pstn, sip]) {
      assert.equal(child.parent, '00000000a1b2c3d4-0');
      assert.equal(child.depth, 1);
      assert.deepEqual(child.classes, ['referred']);
      assert.match(child.html, /padding-left:2\.0em/);
      assert.match(child.html, /↳/);
    }
    assert.doesNotMatch(parent.html, /↳/);
    assert.equal(cell(pstn, 'kind'), 'pstn');
    assert.equal(cell(pstn, 'billable'), 'yes');
    assert.equal(cell(sip, 'kind'), 'sip');
    assert.equal(cell(sip, 'billable'), 'no');
    assert.equal(cell(pstn, 'refer-to'), 'sip:+442071838750@pbx.acme.example;user=phone');
    assert.equal(cell(list[3]!, 'status'), '486 Busy Here');
    assert.equal(cell(parent, 'billed'), '148');
    assert.equal(cell(parent, 'duration'), '2:31');
  });

  it('indents one step more per level of referral', () => {
    const [parent, , sip] = sampleRecords().filter((r) => r.trunk === 'acme').sort((a, b) => a.id.localeCompare(b.id));
    assert.ok(parent !== undefined && sip !== undefined);
    const grandchild: CallDetailRecord = { ...sip, id: '00000000a1b2c3d4-3', parentId: '00000000a1b2c3d4-2', startedAt: sip.startedAt + 5_000 };
    const list = rows(render([parent, sip, grandchild]));
    assert.deepEqual(list.map((r) => [r.id, r.parent, r.depth]), [
      ['00000000a1b2c3d4-0', '', 0], ['00000000a1b2c3d4-2', '00000000a1b2c3d4-0', 1], ['00000000a1b2c3d4-3', '00000000a1b2c3d4-2', 2],
    ]);
    assert.match(list[2]!.html, /padding-left:3\.5em/);
  });

  it('shows a record whose parent is outside the answer as a root that names its parent', () => {
    const child = sampleRecords().find((r) => r.id === '00000000a1b2c3d4-1')!;
    const [row] = rows(render([child]));
    assert.equal(row?.parent, '00000000a1b2c3d4-0');
    assert.deepEqual(row?.classes, []);
    assert.match(row?.html ?? '', /referred from 00000000a1b2c3d4-0/);
  });

  it('has one table per trunk, headed by the trunk id, records without a trunk last', () => {
    const refused: CallDetailRecord = {
      ...sampleRecords()[3]!, id: '00000000deadbeef-0', callId: '00000000deadbeef', disposition: 'refused', status: 403, statusText: 'Forbidden',
    };
    delete refused.trunk;
    const html = render([...sampleRecords(), refused]);
    const list = sections(html);
    assert.deepEqual(list.map((s) => [s.trunk, s.heading]), [['acme', 'acme'], ['globex', 'globex'], ['_', '(no trunk)']]);
    assert.equal((html.match(/<table>/g) ?? []).length, 3);
    assert.deepEqual(rows(list[0]!.body).map((r) => r.id), ['00000000a1b2c3d4-0', '00000000a1b2c3d4-1', '00000000a1b2c3d4-2']);
    assert.deepEqual(rows(list[2]!.body).map((r) => r.id), ['00000000deadbeef-0']);
    assert.match(list[0]!.body, /href="\/cdr\.csv\?trunk=acme"/);
    assert.match(list[2]!.body, /href="\/cdr\.csv\?trunk=_"/);
  });

  it('shows the latest call first inside a trunk', () => {
    const first = sampleRecords()[3]!;
    const later: CallDetailRecord = { ...first, id: '000000000badf00e-0', callId: '000000000badf00e', startedAt: first.startedAt + 1_000, endedAt: first.endedAt + 1_000 };
    assert.deepEqual(rows(render([first, later])).map((r) => r.id), ['000000000badf00e-0', '000000000badf00d-0']);
  });

  it('escapes everything that comes from a record', () => {
    const evil: CallDetailRecord = {
      ...sampleRecords()[3]!,
      trunk: 'acme',
      from: { received: '<script>alert(1)</script>' },
      to: { received: '"><img src=x onerror=alert(2)>', normalised: '+1&2' },
      referredBy: "sip:a'b@x", referTo: 'sip:x@y?Replaces=a%3Bb&to-tag=<1>',
      statusText: 'Busy <b>Here</b>', carrier: 'c&a', reason: 'Q.850;cause=17;text="busy"',
    };
    const html = render([evil]);
    assert.doesNotMatch(html, /<script>|<img|<b>/);
    const [row] = rows(html);
    assert.ok(row !== undefined);
    assert.equal(cell(row, 'from'), '&lt;script&gt;alert(1)&lt;/script&gt;');
    assert.equal(cell(row, 'to'), '+1&amp;2<span class="sub" title="as received">&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</span>');
    assert.equal(cell(row, 'referred-by'), 'sip:a&#39;b@x');
    assert.equal(cell(row, 'refer-to'), 'sip:x@y?Replaces=a%3Bb&amp;to-tag=&lt;1&gt;');
    assert.equal(cell(row, 'carrier'), 'c&amp;a');
    assert.equal(cell(row, 'status'), '486 Busy &lt;b&gt;Here&lt;/b&gt;');
    assert.match(row.html, /title="Reason: Q\.850;cause=17;text=&quot;busy&quot;"/);
  });

  it('echoes the form escaped, and keeps the filter in the CSV links', () => {
    const html = render(sampleRecords(), 'trunk=acme&since=1h&disposition=answered&limit=50');
    assert.match(html, /<input name="trunk" list="trunks" value="acme"/);
    assert.match(html, /<option value="1h" selected>1h<\/option>/);
    assert.match(html, /<option value="answered" selected>answered<\/option>/);
    assert.match(html, /href="\/cdr\.csv\?trunk=acme&amp;since=1h&amp;disposition=answered&amp;limit=50"/);
    assert.match(html, /<datalist id="trunks"><option value="acme"><\/option><option value="globex"><\/option><\/datalist>/);
  });

  it('filters by disposition keeping the calls referred from a match, and the calls above one as context', () => {
    const records = sampleRecords();
    const failedTransfer = { ...records[0]!, disposition: 'failed' as const, status: 503, statusText: 'Service Unavailable' };
    assert.equal(failedTransfer.id, '00000000a1b2c3d4-1');
    const list = rows(render([failedTransfer, records[1]!, records[2]!, records[3]!], 'disposition=failed'));
    assert.deepEqual(list.map((r) => [r.id, r.classes]), [['00000000a1b2c3d4-0', ['context']], ['00000000a1b2c3d4-1', ['referred']]]);

    const answered = rows(render(records, 'disposition=answered'));
    assert.deepEqual(answered.map((r) => r.id), ['00000000a1b2c3d4-0', '00000000a1b2c3d4-1', '00000000a1b2c3d4-2']);
    assert.ok(answered.every((r) => !r.classes.includes('context')));
  });

  it('shows only records without a trunk for trunk=_', () => {
    const refused: CallDetailRecord = { ...sampleRecords()[3]!, id: '00000000deadbeef-0', callId: '00000000deadbeef' };
    delete refused.trunk;
    const html = render([...sampleRecords(), refused], 'trunk=_');
    assert.deepEqual(sections(html).map((s) => s.heading), ['(no trunk)']);
  });

  it('says when the answer was truncated, and when nothing matched', () => {
    assert.match(render(sampleRecords(), 'limit=4', true), /class="truncated"[^>]*>Only the latest 4 records are shown/);
    assert.doesNotMatch(render(sampleRecords()), /class="truncated"/);
    const empty = render([]);
    assert.match(empty, /No records match/);
    assert.doesNotMatch(empty, /<table>/);
  });

  it('is one self-contained document: no script, no outside asset', () => {
    const html = render(sampleRecords());
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script|<link|src=|https?:\/\//);
  });

  it('names the refused parameter on an error page, with the form as typed', () => {
    const html = renderCdrErrorPage({
      status: 400, title: 'Bad request', message: 'expected a duration', param: 'since',
      form: { trunk: '<x>', since: '5 weeks', call: '', disposition: '', limit: '' },
    });
    assert.match(html, /<p class="error" role="alert" data-status="400" data-param="since"><strong>since<\/strong>: expected a duration<\/p>/);
    assert.match(html, /value="&lt;x&gt;"/);
    assert.match(html, /<option value="5 weeks" selected>5 weeks<\/option>/);
  });
});
