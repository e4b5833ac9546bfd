import { CDR_QUERY_MAX_LIMIT, DISPOSITIONS, walkTrees, type CallDetailRecord, type PartyNumber, type RecordTree } from '@switchboard/cdr';
import { filterSearch, NO_TRUNK, selectRecords, SINCE_CHOICES, type CdrFilter, type CdrFormValues } from './cdr-filter.js';
import { escapeHtml as h } from './html.js';

/** What one page shows: the query's answer, and the filter and form that asked for it. */
export interface CdrPageView {
  form: CdrFormValues;
  filter: CdrFilter;
  records: readonly CallDetailRecord[];
  truncated: boolean;
}

/** A page that could not show records: a refused parameter (400) or the query out of reach (503). */
export interface CdrErrorView {
  status: number;
  title: string;
  message: string;
  /** The refused query parameter, named on the page and in `data-param`. */
  param?: string;
  form: CdrFormValues;
}

/** The heading of the table of records without a trunk (calls refused before one was known). */
export const NO_TRUNK_HEADING = '(no trunk)';

const COLUMNS = [
  'Record', 'Started (UTC)', 'Direction', 'Kind', 'Billable', 'From', 'To', 'Referred by', 'Refer-To',
  'Carrier', 'Disposition', 'Status', 'Duration', 'Billed s',
] as const;

/** Indent per level of referral, on the record cell. */
const INDENT_EM = 1.5;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d232a;background:#fff}
h1{font-size:1.4em;margin:0 0 .6em}
h2{font-size:1.15em;margin:1.6em 0 .3em}
form.filter{display:flex;flex-wrap:wrap;gap:.8em;align-items:flex-end;padding:.8em;background:#f2f4f7;border-radius:6px}
form.filter label{display:flex;flex-direction:column;font-size:.85em;color:#4a5561}
form.filter input,form.filter select{font:inherit;padding:.25em .4em}
form.filter input[name=limit]{width:6em}
.summary{color:#4a5561}
.truncated,.error{padding:.6em .8em;border-radius:6px}
.truncated{background:#fff6d6;border:1px solid #e8cf72}
.error{background:#fde8e8;border:1px solid #e49b9b}
table{border-collapse:collapse;width:100%;margin-top:.3em}
th,td{border-bottom:1px solid #dde2e8;padding:.3em .5em;text-align:left;vertical-align:top;white-space:nowrap}
th{background:#f2f4f7;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.uri{white-space:normal;word-break:break-all;max-width:22em}
tr.referred td{background:#f8fafc}
tr.context td{color:#8a949e}
.marker{color:#8a949e;margin-right:.3em}
.sub{display:block;color:#8a949e;font-size:.85em}
.d-answered{color:#1b7a35}.d-busy,.d-no-answer,.d-cancelled{color:#9a6200}.d-failed,.d-refused{color:#b42318}
`;

export function renderCdrPage(view: CdrPageView): string {
  const { trees, context } = selectRecords(view.records, view.filter);
  const shown = [...walkTrees(trees)].length;
  const groups = byTrunk(trees);
  const search = filterSearch(view.filter);
  const body = [
    form(view.form, trunksOf(view.records, view.filter.trunk)),
    `<p class="summary">${h(summary(shown, trees.length, view.filter))} · <a class="csv-all" href="/cdr.csv${h(search)}">Download all as CSV</a></p>`,
    view.truncated
      ? `<p class="truncated" role="status">Only the latest ${h(view.filter.limit)} records are shown: older records matched too. ` +
        `Narrow the filter or raise the limit (at most ${CDR_QUERY_MAX_LIMIT}).</p>`
      : '',
    groups.length === 0 ? '<p class="empty">No records match.</p>' : groups.map((g) => trunkTable(g, view.filter, context)).join('\n'),
  ];
  return page('Call detail records', body.join('\n'));
}

export function renderCdrErrorPage(view: CdrErrorView): string {
  const param = view.param === undefined ? '' : ` data-param="${h(view.param)}"`;
  const what = view.param === undefined ? '' : `<strong>${h(view.param)}</strong>: `;
  const body = [
    form(view.form, view.form.trunk === '' ? [] : [view.form.trunk]),
    `<h2>${h(view.title)} (${h(view.status)})</h2>`,
    `<p class="error" role="alert" data-status="${h(view.status)}"${param}>${what}${h(view.message)}</p>`,
  ];
  return page(`${view.title} · Call detail records`, body.join('\n'));
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1><a href="/" style="color:inherit;text-decoration:none">Call detail records</a></h1>
${body}
</body>
</html>
`;
}

function form(values: CdrFormValues, trunks: readonly string[]): string {
  const sinceChoices = values.since === '' || SINCE_CHOICES.includes(values.since) ? SINCE_CHOICES : [...SINCE_CHOICES, values.since];
  const option = (value: string, label: string, selected: string) =>
    `<option value="${h(value)}"${value === selected ? ' selected' : ''}>${h(label)}</option>`;
  return `<form class="filter" method="get" action="/">
<label>Trunk <input name="trunk" list="trunks" value="${h(values.trunk)}" placeholder="any" size="14"></label>
<datalist id="trunks">${trunks.map((t) => `<option value="${h(t)}"></option>`).join('')}</datalist>
<label>Ended in the last <select name="since">${option('', 'any time', values.since)}${sinceChoices.map((s) => option(s, s, values.since)).join('')}</select></label>
<label>Call or record id <input name="call" value="${h(values.call)}" placeholder="16 hex digits" size="20"></label>
<label>Disposition <select name="disposition">${option('', 'any', values.disposition)}${DISPOSITIONS.map((d) => option(d, d, values.disposition)).join('')}</select></label>
<label>Limit <input name="limit" type="number" min="1" max="${CDR_QUERY_MAX_LIMIT}" value="${h(values.limit)}" placeholder="200"></label>
<button type="submit">Show</button>
<a href="/">Reset</a>
</form>`;
}

/** Trunks for the form's suggestions: those in the answer, and the one asked for. */
function trunksOf(records: readonly CallDetailRecord[], asked: string | undefined): string[] {
  const trunks = new Set<string>();
  for (const r of records) if (r.trunk !== undefined) trunks.add(r.trunk);
  if (asked !== undefined && asked !== NO_TRUNK) trunks.add(asked);
  return [...trunks].sort();
}

function summary(records: number, calls: number, filter: CdrFilter): string {
  const parts = [`${records} record${records === 1 ? '' : 's'} of ${calls} call${calls === 1 ? '' : 's'}`];
  parts.push(filter.since === undefined ? 'latest first' : `ended in the last ${filter.since}, latest first`);
  return parts.join(', ');
}

interface TrunkGroup {
  /** undefined: the records without a trunk. */
  trunk: string | undefined;
  trees: RecordTree[];
}

/**
 * One group per trunk, by the trunk of each tree's root, so that a referred call stays under
 * its parent even in the unlikely case its own record names another trunk. Trunks sort by id,
 * the records without one last; inside a group the latest call comes first.
 */
function byTrunk(trees: readonly RecordTree[]): TrunkGroup[] {
  const groups = new Map<string | undefined, RecordTree[]>();
  for (const tree of trees) {
    const list = groups.get(tree.record.trunk);
    if (list === undefined) groups.set(tree.record.trunk, [tree]);
    else list.push(tree);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === undefined ? 1 : b === undefined ? -1 : a < b ? -1 : a > b ? 1 : 0))
    .map(([trunk, list]) => ({ trunk, trees: list.reverse() }));
}

function trunkTable(group: TrunkGroup, filter: CdrFilter, context: ReadonlySet<string>): string {
  const heading = group.trunk ?? NO_TRUNK_HEADING;
  const csv = `/cdr.csv${filterSearch({ ...filter, trunk: group.trunk ?? NO_TRUNK })}`;
  const rows = [...walkTrees(group.trees)].map(({ record, depth }) => row(record, depth, context.has(record.id)));
  return `<section class="trunk" data-trunk="${h(group.trunk ?? NO_TRUNK)}">
<h2>${h(heading)}</h2>
<p><a class="csv" href="${h(csv)}" download>Download CSV of ${h(heading)}</a></p>
<table>
<thead><tr>${COLUMNS.map((c) => `<th scope="col">${h(c)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</section>`;
}

function row(r: CallDetailRecord, depth: number, isContext: boolean): string {
  const classes = [depth > 0 ? 'referred' : '', isContext ? 'context' : ''].filter((c) => c !== '').join(' ');
  const attrs = [
    `data-record-id="${h(r.id)}"`,
    `data-parent-id="${h(r.parentId ?? '')}"`,
    `data-depth="${depth}"`,
    `data-call-id="${h(r.callId)}"`,
    classes === '' ? '' : `class="${classes}"`,
  ].filter((a) => a !== '').join(' ');
  const marker = depth > 0 ? '<span class="marker" aria-label="referred from the row above">↳</span>' : '';
  // A parent outside the answer (the window cut the chain): the row is a root, but says whose transfer it was.
  const orphan = depth === 0 && r.parentId !== undefined ? `<span class="sub">referred from ${h(r.parentId)}</span>` : '';
  const status = `${r.status}${r.statusText === undefined ? '' : ` ${r.statusText}`}`;
  const cells = [
    `<td class="record" style="padding-left:${(0.5 + depth * INDENT_EM).toFixed(1)}em">${marker}<a href="/${h(filterSearch({ call: r.callId }))}" title="Every record of call ${h(r.callId)}">${h(r.id)}</a>${orphan}</td>`,
    `<td class="started">${h(utc(r.startedAt))}</td>`,
    `<td class="direction">${h(r.direction ?? '')}</td>`,
    `<td class="kind">${h(r.kind)}</td>`,
    `<td class="billable">${r.billable ? 'yes' : 'no'}</td>`,
    `<td class="from">${party(r.from)}</td>`,
    `<td class="to">${party(r.to)}</td>`,
    `<td class="referred-by uri">${h(r.referredBy ?? '')}</td>`,
    `<td class="refer-to uri">${h(r.referTo ?? '')}</td>`,
    `<td class="carrier"${r.carriersTried.length > 1 ? ` title="Tried: ${h(r.carriersTried.join(', '))}"` : ''}>${h(r.carrier ?? '')}</td>`,
    `<td class="disposition d-${h(r.disposition)}">${h(r.disposition)}<span class="sub">by ${h(r.endedBy)}</span></td>`,
    `<td class="status"${r.reason === undefined ? '' : ` title="Reason: ${h(r.reason)}"`}>${h(status)}</td>`,
    `<td class="duration num">${h(clock(r.duration))}</td>`,
    `<td class="billed num">${h(r.billableSeconds)}</td>`,
  ];
  return `<tr ${attrs}>${cells.join('')}</tr>`;
}

/** The normalised number first (what is billed), the number as received under it when it differs. */
function party(p: PartyNumber): string {
  const main = p.normalised ?? p.received ?? '';
  const sub = p.normalised !== undefined && p.received !== undefined && p.received !== p.normalised
    ? `<span class="sub" title="as received">${h(p.received)}</span>` : '';
  return `${h(main)}${sub}`;
}

/** `2026-11-25 14:03:07`: UTC, because the page is rendered on a server that cannot know the reader's zone. */
function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** `0:07`, `12:05`, `1:02:03`. */
function clock(seconds: number): string {
  const total = Math.round(seconds);
  const hh = Math.floor(total / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = String(total % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}
