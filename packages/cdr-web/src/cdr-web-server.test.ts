import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CdrQueryError, type CdrQuery } from '@switchboard/cdr';
import { pino } from 'pino';
import { CdrWebServer, type CdrSource } from './cdr-web-server.js';
import { SAMPLE_NOW, sampleRecords } from './testing/sample-records.js';

/** Answers from the sample records, or fails the way it is told to; keeps what it was asked. */
class FakeSource implements CdrSource {
  readonly asked: CdrQuery[] = [];
  failWith: CdrQueryError | Error | undefined;

  async query(query: CdrQuery) {
    this.asked.push(query);
    if (this.failWith !== undefined) throw this.failWith;
    return { records: sampleRecords().filter((r) => query.trunk === undefined || r.trunk === query.trunk), truncated: false };
  }
}

describe('CDR web server', () => {
  const source = new FakeSource();
  const server = new CdrWebServer({ source, log: pino({ level: 'silent' }), now: () => SAMPLE_NOW });
  let base = '';
  const get = (path: string, init?: RequestInit) => fetch(new URL(path, base), init);

  before(async () => {
    base = await server.listen(0, '127.0.0.1');
  });
  after(() => server.close());

  it('renders the page at / and /cdr, asking the source with the filter', async () => {
    for (const path of ['/', '/cdr']) {
      const res = await get(`${path}?trunk=acme&since=1h`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const html = await res.text();
      assert.match(html, /<h2>acme<\/h2>/);
      assert.doesNotMatch(html, /<h2>globex<\/h2>/);
    }
    assert.deepEqual(source.asked.at(-1), { trunk: 'acme', since: SAMPLE_NOW - 3_600_000, limit: 200 });
  });

  it('answers a bad since with a 400 page naming it, without asking the source', async () => {
    const before = source.asked.length;
    const res = await get('/?since=yesterday&trunk=acme');
    assert.equal(res.status, 400);
    const html = await res.text();
    assert.match(html, /data-param="since"><strong>since<\/strong>: expected a duration/);
    assert.match(html, /value="acme"/);
    assert.equal(source.asked.length, before);
    assert.equal((await get('/cdr.csv?limit=0')).status, 400);
  });

  it('answers 503 when no worker answers the query, 502 when it fails, 500 on anything else', async () => {
    try {
      source.failWith = new CdrQueryError('unavailable', 'no CDR query answered on sb.cdr.query: TIMEOUT');
      const res = await get('/');
      assert.equal(res.status, 503);
      assert.match(await res.text(), /the CDR query is unavailable/);
      assert.equal((await get('/cdr.csv')).status, 503);
      source.failWith = new CdrQueryError('internal', 'stream gone');
      assert.equal((await get('/')).status, 502);
      source.failWith = new CdrQueryError('bad-request', 'limit: too big');
      assert.equal((await get('/')).status, 400);
      source.failWith = new Error('bug');
      assert.equal((await get('/')).status, 500);
    } finally {
      source.failWith = undefined;
    }
    assert.equal((await get('/')).status, 200);
  });

  it('serves the CSV as an attachment named after the trunk and the day', async () => {
    const res = await get('/cdr.csv?trunk=acme');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/);
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="cdr-acme-2026-11-25.csv"');
    const lines = (await res.text()).split('\r\n');
    assert.match(lines[0] ?? '', /^depth,id,parentId,callId,trunk,/);
    assert.deepEqual(lines.slice(1, -1).map((l) => l.split(',')[1]), ['00000000a1b2c3d4-0', '00000000a1b2c3d4-1', '00000000a1b2c3d4-2']);
    assert.equal(lines.at(-1), '');
    const all = await get('/cdr.csv');
    assert.equal(all.headers.get('content-disposition'), 'attachment; filename="cdr-all-2026-11-25.csv"');
    const none = await get('/cdr.csv?trunk=_');
    assert.equal(none.headers.get('content-disposition'), 'attachment; filename="cdr-no-trunk-2026-11-25.csv"');
    assert.equal((await none.text()).split('\r\n').length, 2);
  });

  it('serves /healthz, 404 elsewhere, 405 for other methods, HEAD without a body', async () => {
    const health = await get('/healthz');
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok\n');
    assert.equal((await get('/nope')).status, 404);
    const post = await get('/', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await get('/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });
});
