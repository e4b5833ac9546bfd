import type { NatsConnection } from '@nats-io/nats-core';
import { Subjects } from '@switchboard/wire';
import type { CallDetailRecord } from './call-detail-record.js';
import type { CdrQuery, CdrQueryErrorCode, CdrQueryReply } from './cdr-query.js';

/** A query the workers refused or could not answer. `unavailable`: no worker answered in time. */
export class CdrQueryError extends Error {
  constructor(readonly code: CdrQueryErrorCode, message: string) {
    super(message);
    this.name = 'CdrQueryError';
  }
}

/** Asks the workers for records (the CLI's and the CDR page's way in). */
export class CdrClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 5_000,
  ) {}

  async query(query: CdrQuery): Promise<{ records: CallDetailRecord[]; truncated: boolean }> {
    let data: Uint8Array;
    try {
      const reply = await this.nc.request(Subjects.cdrQuery, JSON.stringify(query), { timeout: this.timeoutMs });
      data = reply.data;
    } catch (error) {
      throw new CdrQueryError('unavailable', `no CDR query answered on ${Subjects.cdrQuery}: ${(error as Error).message}`);
    }
    let reply: CdrQueryReply;
    try {
      reply = JSON.parse(Buffer.from(data).toString('utf8')) as CdrQueryReply;
    } catch {
      throw new CdrQueryError('internal', 'the CDR query answered with something that is not JSON');
    }
    if (!reply.ok) throw new CdrQueryError(reply.error.code, reply.error.message);
    return { records: reply.records, truncated: reply.truncated };
  }

  /** The record `id` and every record of its call, or undefined when there is no such record. */
  async chain(id: string): Promise<CallDetailRecord[] | undefined> {
    const { records } = await this.query({ recordId: id });
    return records.some((r) => r.id === id) ? records : undefined;
  }
}
