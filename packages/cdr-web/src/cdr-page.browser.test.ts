// The CDR page end to end: a real nats-server, a stand-in worker answering the CDR query,
// the service started from its command line, and Debian's Chromium reading the page.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { parseCdrQuery, type CallDetailRecord, type CdrQuery, type CdrQueryReply } from '@switchboard/cdr';
import { freePort, ManagedProcess, startNatsServer, type NatsServerHandle } from '@switchboard/testkit';
import { Subjects } from '@switchboard/wire';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './testing/browser.js';
import { SAMPLE_NOW, sampleRecords } from './testing/sample-records.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** The sample records moved to have ended minutes ago, so that `since` windows hold them. */
function recentRecords(): CallDetailRecord[] {
  const shift = Date.now() - SAMPLE_NOW;
  const at = (ms: number | undefined) => (ms === undefined ? undefined : ms + shift);
  return sampleRecords().map((r) => {
    const moved: CallDetailRecord = { ...r, startedAt: r.startedAt + shift, endedAt: r.endedAt + shift };
    if (r.ringingAt !== undefined) moved.ringingAt = at(r.ringingAt)!;
    if (r.answeredAt !== undefined) moved.answeredAt = at(r.answeredAt)!;
    return moved;
  });
}

/** What a worker answers: the matching records, oldest-ended first, the latest `limit` of them. */
function answer(records: readonly CallDetailRecord[], query: CdrQuery): CdrQueryReply {
  const call = query.callId ?? query.recordId?.split('-')[0];
  const matching = records
    .filter((r) => (query.trunk === undefined || r.trunk === query.trunk) && (call === undefined || r.callId === call))
    .filter((r) => (query.since === undefined || r.endedAt >= query.since) && (query.until === undefined || r.endedAt <= query.until))
    .sort((a, b) => a.endedAt - b.endedAt);
  const limit = query.limit ?? 200;
  return { ok: true, records: matching.slice(-limit), truncated: matching.length > limit };
}

interface ShownRow { id: string | null; parent: string | null; classes: string; kind: string; billable: string; x: number }

async function shownRows(page: Page, trunk: string): Promise<ShownRow[]> {
  const rows = page.locator(`section.trunk[data-trunk="${trunk}"] tbody tr`);
  const shown: ShownRow[] = [];
  for (const row of await rows.all()) {
    const link = await row.locator('td.record a').boundingBox();
    shown.push({
      id: await row.getAttribute('data-record-id'),
      parent: await row.getAttribute('data-parent-id'),
      classes: (await row.getAttribute('class')) ?? '',
      kind: (await row.locator('td.kind').textContent()) ?? '',
      billable: (await row.locator('td.billable').textContent()) ?? '',
      x: link?.x ?? Number.NaN,
    });
  }
  return shown;
}

describe('CDR page in Chromium', { timeout: 90_000 }, () => {
  let browser: Browser;
  let page: Page;
  let nats: NatsServerHandle;
  let web: ManagedProcess;
  let responder: Awaited<ReturnType<typeof connect>>;
  let base = '';
  const records = recentRecords();

  before(async () => {
    browser = await launchChromium();
    nats = await startNatsServer();
    responder = await connect({ servers: nats.url, name: 'fake-cdr-worker' });
    responder.subscribe(Subjects.cdrQuery, {
      callback: (_err, msg) => {
        const parsed = parseCdrQuery(msg.data);
        const reply: CdrQueryReply = parsed.ok ? answer(records, parsed.query) : { ok: false, error: { code: 'bad-request', message: parsed.message } };
        msg.respond(JSON.stringify(reply));
      },
    });
    await responder.flush();
    const port = await freePort();
    web = ManagedProcess.node('cdr-web', MAIN, ['--listen', `127.0.0.1:${port}`], { SWITCHBOARD_NATS_URL: nats.url });
    const listening = await web.waitForEvent('listening');
    base = String(listening.url);
    assert.equal(base, `http://127.0.0.1:${port}/`);
    await web.waitForEvent('nats-connected');
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await web?.stop();
    await responder?.close();
    await nats?.stop();
  });

  it('shows one table per trunk, each transfer right under its call', async () => {
    const res = await page.goto(base);
    assert.equal(res?.status(), 200);
    assert.deepEqual(await page.locator('section.trunk h2').allTextContents(), ['acme', 'globex']);
    assert.equal(await page.locator('table').count(), 2);

    const acme = await shownRows(page, 'acme');
    assert.deepEqual(acme.map((r) => [r.id, r.parent, r.classes, r.kind, r.billable]), [
      ['00000000a1b2c3d4-0', '', '', 'pstn', 'yes'],
      ['00000000a1b2c3d4-1', '00000000a1b2c3d4-0', 'referred', 'pstn', 'yes'],
      ['00000000a1b2c3d4-2', '00000000a1b2c3d4-0', 'referred', 'sip', 'no'],
    ]);
    const [parent, pstn, sip] = acme;
    assert.ok(pstn!.x > parent!.x + 10, `a transfer's record id is indented: ${pstn!.x} vs ${parent!.x}`);
    assert.equal(sip!.x, pstn!.x);
    assert.match((await page.locator('tr[data-record-id="00000000a1b2c3d4-1"] td.record').textContent()) ?? '', /^↳/);
    assert.deepEqual((await shownRows(page, 'globex')).map((r) => r.id), ['000000000badf00d-0']);
  });

  it('narrows to one trunk through the form', async () => {
    await page.goto(base);
    await page.fill('input[name="trunk"]', 'globex');
    await page.selectOption('select[name="since"]', '1h');
    await Promise.all([page.waitForURL(/trunk=globex/), page.click('form.filter button[type="submit"]')]);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('trunk'), 'globex');
    assert.equal(url.searchParams.get('since'), '1h');
    assert.deepEqual(await page.locator('section.trunk h2').allTextContents(), ['globex']);
    assert.deepEqual((await shownRows(page, 'globex')).map((r) => r.id), ['000000000badf00d-0']);
    assert.equal(await page.inputValue('input[name="trunk"]'), 'globex');
  });

  it('says when the answer was truncated', async () => {
    await page.goto(`${base}?limit=2`);
    assert.match((await page.locator('.truncated').textContent()) ?? '', /Only the latest 2 records/);
  });

  it('names a refused parameter', async () => {
    const res = await page.goto(`${base}?since=soon`);
    assert.equal(res?.status(), 400);
    assert.equal(await page.locator('.error').getAttribute('data-param'), 'since');
  });

  it('downloads the CSV of one trunk, with the same filter', async () => {
    await page.goto(`${base}?since=24h`);
    const link = page.locator('section.trunk[data-trunk="acme"] a.csv');
    assert.equal(await link.getAttribute('href'), '/cdr.csv?trunk=acme&since=24h');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assert.match(download.suggestedFilename(), /^cdr-acme-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = (await readFile(await download.path(), 'utf8')).split('\r\n');
    assert.match(lines[0] ?? '', /^depth,id,parentId,callId,trunk,direction,kind,billable,/);
    assert.deepEqual(lines.slice(1, -1).map((l) => l.split(',').slice(0, 8)), [
      ['0', '00000000a1b2c3d4-0', '', '00000000a1b2c3d4', 'acme', 'origination', 'pstn', 'true'],
      ['1', '00000000a1b2c3d4-1', '00000000a1b2c3d4-0', '00000000a1b2c3d4', 'acme', 'termination', 'pstn', 'true'],
      ['1', '00000000a1b2c3d4-2', '00000000a1b2c3d4-0', '00000000a1b2c3d4', 'acme', 'termination', 'sip', 'false'],
    ]);
  });

  it('says the CDR query is unavailable when no worker answers', async () => {
    await responder.drain();
    const res = await page.goto(base);
    assert.equal(res?.status(), 503);
    assert.match((await page.locator('.error').textContent()) ?? '', /the CDR query is unavailable/);
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await web.stop('SIGTERM'), 0);
    await web.waitForEvent('stopped', 1_000);
  });
});
