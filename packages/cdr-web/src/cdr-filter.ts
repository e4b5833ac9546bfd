import { CALL_ID_PATTERN } from '@switchboard/wire';
import {
  CDR_QUERY_DEFAULT_LIMIT, CDR_QUERY_MAX_LIMIT, CdrQuerySchema, DISPOSITIONS, parseDuration, recordTrees,
  type CallDetailRecord, type CdrQuery, type Disposition, type RecordTree,
} from '@switchboard/cdr';

/**
 * What the page was asked to show: the query parameters `trunk`, `since`, `call`,
 * `disposition` and `limit`, checked. The same filter drives the page, its CSV links and the
 * CSV download, so what an operator downloads is what they were looking at.
 */
export interface CdrFilter {
  /** A trunk id, or NO_TRUNK for the records of calls refused before a trunk was known. */
  trunk?: string;
  /** As asked (`1h`): records that ended this long ago or later. */
  since?: string;
  /** A call id (its whole chain) or a record id (the chain of its call). */
  call?: string;
  /** Not part of the CDR query: applied to the answer, see `selectRecords`. */
  disposition?: Disposition;
  limit: number;
}

/** The form's fields as typed (trimmed), echoed back even when one of them is refused. */
export interface CdrFormValues {
  trunk: string;
  since: string;
  call: string;
  disposition: string;
  limit: string;
}

export type CdrFilterResult =
  | { ok: true; filter: CdrFilter; query: CdrQuery }
  | { ok: false; param: keyof CdrFormValues; message: string };

/** The `trunk` value for records without a trunk: `_`, as in their NATS subject, cannot be a trunk id. */
export const NO_TRUNK = '_';

/** The windows the form offers; any other `parseDuration` text works in a URL. */
export const SINCE_CHOICES: readonly string[] = ['15m', '1h', '24h', '7d'];

const CALL_ID = CALL_ID_PATTERN;

export function formValuesOf(params: URLSearchParams): CdrFormValues {
  const get = (name: string) => (params.get(name) ?? '').trim();
  return { trunk: get('trunk'), since: get('since'), call: get('call'), disposition: get('disposition'), limit: get('limit') };
}

/** Reads the page's query parameters; an empty one (a form field left blank) is absent. */
export function parseCdrFilter(params: URLSearchParams, now: number): CdrFilterResult {
  const form = formValuesOf(params);
  const filter: CdrFilter = { limit: CDR_QUERY_DEFAULT_LIMIT };
  const query: CdrQuery = {};

  if (form.limit !== '') {
    if (!/^\d{1,4}$/.test(form.limit) || Number(form.limit) < 1 || Number(form.limit) > CDR_QUERY_MAX_LIMIT) {
      return { ok: false, param: 'limit', message: `expected a number of records from 1 to ${CDR_QUERY_MAX_LIMIT}` };
    }
    filter.limit = Number(form.limit);
  }
  query.limit = filter.limit;

  if (form.since !== '') {
    const ms = parseDuration(form.since);
    if (ms === undefined) return { ok: false, param: 'since', message: `expected a duration such as ${SINCE_CHOICES.join(', ')}` };
    filter.since = form.since;
    query.since = Math.max(0, now - ms);
  }

  if (form.trunk !== '') {
    filter.trunk = form.trunk;
    if (form.trunk !== NO_TRUNK) query.trunk = form.trunk;
  }

  if (form.call !== '') {
    const call = form.call.toLowerCase();
    filter.call = call;
    if (CALL_ID.test(call)) query.callId = call;
    else query.recordId = call;
  }

  if (form.disposition !== '') {
    const disposition = DISPOSITIONS.find((d) => d === form.disposition);
    if (disposition === undefined) return { ok: false, param: 'disposition', message: `expected one of ${DISPOSITIONS.join(', ')}` };
    filter.disposition = disposition;
  }

  // The query's own schema has the last word on trunk and call ids, so the page refuses
  // exactly what the workers would.
  const checked = CdrQuerySchema.safeParse(query);
  if (!checked.success) {
    const field = String(checked.error.issues[0]?.path[0] ?? '');
    const param: keyof CdrFormValues = field === 'trunk' ? 'trunk' : field === 'limit' ? 'limit' : field === 'since' ? 'since' : 'call';
    const message = param === 'call' ? 'expected a call id (16 hex digits) or a record id (<call id>-<n>)' : checked.error.issues[0]?.message ?? 'invalid';
    return { ok: false, param, message };
  }
  return { ok: true, filter, query: checked.data };
}

/** The filter as a query string (`?trunk=…`), leaving out what is at its default; `''` when nothing is set. */
export function filterSearch(filter: Partial<CdrFilter>): string {
  const params = new URLSearchParams();
  if (filter.trunk !== undefined) params.set('trunk', filter.trunk);
  if (filter.since !== undefined) params.set('since', filter.since);
  if (filter.call !== undefined) params.set('call', filter.call);
  if (filter.disposition !== undefined) params.set('disposition', filter.disposition);
  if (filter.limit !== undefined && filter.limit !== CDR_QUERY_DEFAULT_LIMIT) params.set('limit', String(filter.limit));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** The records to show, as trees, and the ids of those shown only as context (see `selectByDisposition`). */
export interface SelectedRecords {
  trees: RecordTree[];
  context: ReadonlySet<string>;
}

/** Applies the parts of the filter the CDR query cannot: no trunk, and the disposition. */
export function selectRecords(records: readonly CallDetailRecord[], filter: CdrFilter): SelectedRecords {
  let trees = recordTrees(records);
  if (filter.trunk === NO_TRUNK) trees = trees.filter((t) => t.record.trunk === undefined);
  if (filter.disposition === undefined) return { trees, context: new Set() };
  return selectByDisposition(trees, filter.disposition);
}

/**
 * Keeps every record of `disposition` with all the calls referred from it (a transfer is part
 * of the call it came from, whatever its own outcome), and the records above a kept one, as
 * context: a failed transfer means little without the answered call it was made from.
 */
export function selectByDisposition(trees: readonly RecordTree[], disposition: Disposition): SelectedRecords {
  const context = new Set<string>();
  const keep = (tree: RecordTree): RecordTree | undefined => {
    if (tree.record.disposition === disposition) return tree;
    const children = tree.children.map(keep).filter((c): c is RecordTree => c !== undefined);
    if (children.length === 0) return undefined;
    context.add(tree.record.id);
    return { record: tree.record, children };
  };
  return { trees: trees.map(keep).filter((t): t is RecordTree => t !== undefined), context };
}
