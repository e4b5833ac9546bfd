import type { JetStreamClient } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { CDR_QUERY_QUEUE, Subjects } from '@switchboard/wire';
import { parseCdrQuery, type CdrQueryReply } from './cdr-query.js';
import { readRecords } from './cdr-stream.js';

/** At most this many queries are read at once by one worker; more are answered `unavailable`. */
const MAX_CONCURRENT_QUERIES = 4;

/**
 * Answers CDR queries on `Subjects.cdrQuery` (one worker of the queue group answers each).
 * Every request gets an answer: a bad one a `bad-request` naming the field, a failure to read
 * the stream `unavailable` or `internal` — never silence.
 */
export class CdrQueryService {
  private sub: Subscription | undefined;
  private running = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  start(): void {
    this.sub = this.nc.subscribe(Subjects.cdrQuery, { queue: CDR_QUERY_QUEUE, callback: (error, m) => {
      if (error === null) void this.answer(m);
    } });
  }

  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private async answer(m: Msg): Promise<void> {
    const reply = await this.reply(m.data);
    try {
      m.respond(this.fit(reply));
    } catch (error) {
      this.onError(error);
    }
  }

  /** The reply as JSON within the server's max_payload: the oldest records left out (truncated) when it would not fit. */
  private fit(reply: CdrQueryReply): string {
    const max = this.nc.info?.max_payload ?? 1024 * 1024;
    let text = JSON.stringify(reply);
    if (!reply.ok) return text;
    let records = reply.records;
    while (Buffer.byteLength(text) > max && records.length > 0) {
      // cut proportionally, then once more if still over: a few passes at most
      const keep = Math.max(0, Math.floor(records.length * (max / Buffer.byteLength(text)) * 0.95));
      records = records.slice(records.length - keep);
      text = JSON.stringify({ ok: true, records, truncated: true });
    }
    return text;
  }

  private async reply(data: Uint8Array): Promise<CdrQueryReply> {
    const parsed = parseCdrQuery(data);
    if (!parsed.ok) return { ok: false, error: { code: 'bad-request', message: parsed.message } };
    if (this.running >= MAX_CONCURRENT_QUERIES) return { ok: false, error: { code: 'unavailable', message: 'too many CDR queries at once: retry' } };
    this.running++;
    try {
      return { ok: true, ...(await readRecords(this.js, parsed.query)) };
    } catch (error) {
      this.onError(error);
      return { ok: false, error: { code: 'internal', message: `reading the CDR stream failed: ${(error as Error).message}` } };
    } finally {
      this.running--;
    }
  }
}
