// @switchboard/cdr — call detail records: what a record is, how a call's events become records,
// where they are kept (a JetStream stream, with a journal on disk until it confirms), how to ask for them.
export {
  recordTrees, walkTrees, DISPOSITIONS,
  type CallDetailRecord, type PartyNumber, type LegRecord, type Disposition, type EndedBy, type RecordTree,
} from './call-detail-record.js';
export {
  CdrQuerySchema, parseCdrQuery, parseDuration, CDR_QUERY_MAX_LIMIT, CDR_QUERY_DEFAULT_LIMIT,
  type CdrQuery, type CdrQueryReply, type CdrQueryErrorCode,
} from './cdr-query.js';
export { CdrClient, CdrQueryError } from './cdr-client.js';
export { CallLedger, type CallEvent } from './call-ledger.js';
export { dispositionOf, type SetupOutcome } from './disposition.js';
export { CdrSpool, type CdrSpoolOptions } from './cdr-spool.js';
export { CdrPublisher, jetStreamPublish, type PublishRecord, type CdrPublisherOptions } from './cdr-publisher.js';
export { ensureCdrStream, readRecords, DEFAULT_QUERY_WINDOW_MS, LATE_RECORD_GRACE_MS, type CdrStreamSettings } from './cdr-stream.js';
export { CdrQueryService } from './cdr-query-service.js';
