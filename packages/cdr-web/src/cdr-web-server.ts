import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CdrQueryError, type CallDetailRecord, type CdrQuery } from '@switchboard/cdr';
import type { Logger } from 'pino';
import { toCdrCsv } from './cdr-csv.js';
import { formValuesOf, NO_TRUNK, parseCdrFilter, selectRecords, type CdrFilter, type CdrFormValues } from './cdr-filter.js';
import { renderCdrErrorPage, renderCdrPage } from './cdr-page.js';

/** Where the records come from: a `CdrClient` (NATS), or a fake in tests. */
export interface CdrSource {
  query(query: CdrQuery): Promise<{ records: CallDetailRecord[]; truncated: boolean }>;
}

export interface CdrWebServerOptions {
  source: CdrSource;
  log: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Unix ms; tests pin it. */
  now?: () => number;
}

type Reply = { status: number; headers: http.OutgoingHttpHeaders; body: string };

// The page has no script, image or outside asset: the policy says so, so that a record that
// slipped past escaping still could not run anything.
const HEADERS: http.OutgoingHttpHeaders = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The CDR web page over `node:http`:
 * - `GET /` (or `/cdr`): the page, filtered by the query parameters `trunk`, `since`, `call`,
 *   `disposition` and `limit` (see `parseCdrFilter`);
 * - `GET /cdr.csv`: the same records as a CSV download;
 * - `GET /healthz`: `ok` while the process serves.
 * A refused parameter is a 400 page naming it; a query no worker answered, a 503 page. A
 * request never waits longer than the source's own timeout (`CdrClient`'s).
 */
export class CdrWebServer {
  readonly server: http.Server;
  private readonly now: () => number;

  constructor(private readonly options: CdrWebServerOptions) {
    this.now = options.now ?? Date.now;
    this.server = http.createServer((req, res) => void this.serve(req, res));
  }

  /** Resolves with the page's URL once listening (`port` 0: any free port). */
  listen(port: number, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address() as AddressInfo;
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`http://${shown}:${address.port}/`);
      });
    });
  }

  /** Stops listening and ends open connections (a browser's idle keep-alive ones too). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Answers one request; never throws. */
  async handle(method: string, target: string): Promise<Reply> {
    const url = new URL(target, 'http://cdr-web.invalid');
    if (method !== 'GET' && method !== 'HEAD') {
      return { ...this.error(405, 'Method not allowed', `${method} is not served here: use GET`, formValuesOf(url.searchParams)), headers: { Allow: 'GET, HEAD' } };
    }
    switch (url.pathname) {
      case '/':
      case '/cdr':
        return this.page(url.searchParams);
      case '/cdr.csv':
        return this.csv(url.searchParams);
      case '/healthz':
        return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'ok\n' };
      default:
        return this.error(404, 'Not found', `there is no page ${url.pathname}: the records are at /`, formValuesOf(new URLSearchParams()));
    }
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = this.now();
    const method = req.method ?? 'GET';
    let reply: Reply;
    try {
      reply = await this.handle(method, req.url ?? '/');
    } catch (error) {
      this.options.log.error({ event: 'request-failed', method, url: req.url, err: error }, 'request failed');
      reply = this.error(500, 'Internal error', 'the page could not be made: see the service log', formValuesOf(new URLSearchParams()));
    }
    res.writeHead(reply.status, { ...HEADERS, 'Content-Length': Buffer.byteLength(reply.body), ...reply.headers });
    res.end(method === 'HEAD' ? undefined : reply.body);
    this.options.log.debug({ event: 'request', method, url: req.url, status: reply.status, ms: this.now() - started }, 'request');
  }

  private async page(params: URLSearchParams): Promise<Reply> {
    const form = formValuesOf(params);
    const parsed = parseCdrFilter(params, this.now());
    if (!parsed.ok) return this.error(400, 'Bad request', parsed.message, form, parsed.param);
    const answer = await this.ask(parsed.query, form);
    if (!answer.ok) return answer.reply;
    return html(200, renderCdrPage({ form, filter: parsed.filter, records: answer.records, truncated: answer.truncated }));
  }

  private async csv(params: URLSearchParams): Promise<Reply> {
    const form = formValuesOf(params);
    const parsed = parseCdrFilter(params, this.now());
    if (!parsed.ok) return this.error(400, 'Bad request', parsed.message, form, parsed.param);
    const answer = await this.ask(parsed.query, form);
    if (!answer.ok) return answer.reply;
    const { trees } = selectRecords(answer.records, parsed.filter);
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'text/csv; charset=utf-8; header=present',
      'Content-Disposition': `attachment; filename="${csvFileName(parsed.filter, this.now())}"`,
    };
    if (answer.truncated) headers['X-Cdr-Truncated'] = 'true';
    return { status: 200, headers, body: toCdrCsv(trees) };
  }

  private async ask(query: CdrQuery, form: CdrFormValues): Promise<
    { ok: true; records: CallDetailRecord[]; truncated: boolean } | { ok: false; reply: Reply }
  > {
    try {
      return { ok: true, ...(await this.options.source.query(query)) };
    } catch (error) {
      if (!(error instanceof CdrQueryError)) throw error;
      this.options.log.warn({ event: 'cdr-query-failed', code: error.code, query, err: error.message }, 'CDR query failed');
      switch (error.code) {
        case 'unavailable':
          return { ok: false, reply: this.error(503, 'CDR query unavailable', `the CDR query is unavailable: ${error.message}. Try again shortly.`, form) };
        case 'bad-request':
          return { ok: false, reply: this.error(400, 'Bad request', `the CDR query refused the request: ${error.message}`, form) };
        case 'internal':
          return { ok: false, reply: this.error(502, 'CDR query failed', `the CDR query failed: ${error.message}`, form) };
      }
    }
  }

  private error(status: number, title: string, message: string, form: CdrFormValues, param?: string): Reply {
    return html(status, renderCdrErrorPage(param === undefined ? { status, title, message, form } : { status, title, message, form, param }));
  }
}

function html(status: number, body: string): Reply {
  return { status, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body };
}

/** `cdr-<trunk, no-trunk or all>-<UTC date>.csv`; a trunk id is letters, digits, `_` and `-`, safe in a quoted filename. */
export function csvFileName(filter: CdrFilter, now: number): string {
  const trunk = filter.trunk === undefined ? 'all' : filter.trunk === NO_TRUNK ? 'no-trunk' : filter.trunk;
  return `cdr-${trunk}-${new Date(now).toISOString().slice(0, 10)}.csv`;
}
