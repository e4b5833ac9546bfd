// How the trunking configuration looks on a terminal and in JSON. Pure, like every *-format file.
import type { ConfigSnapshot } from '@switchboard/admin/client';
import { stringify as toYaml } from 'yaml';
import { formatJson } from '../output/json.js';
import { formatTable, type Column } from '../output/table.js';
import { trunksOf, type FieldChange, type JsonObject } from './trunk-fields.js';

export const TRUNK_COLUMNS: readonly Column[] = [
  { header: 'ID' },
  { header: 'DOMAIN' },
  { header: 'DIDS', align: 'right' },
  { header: 'ROUTES', align: 'right' },
  { header: 'TRANSFER MODE' },
  { header: 'MAX CONC', align: 'right' },
  { header: 'MAX CPS', align: 'right' },
];

/** `trunks ls`: a row per trunk in the configuration's order; DIDS and ROUTES count the trunk's numbers and routing rules. */
export function formatTrunkTable(trunking: unknown): string {
  const rows = trunksOf(trunking).map((t) => [
    text(t['id']),
    text(t['domain']),
    count(t['dids']),
    count(t['routing']),
    text(field(t, 'transfer', 'mode')),
    text(field(t, 'restrictions', 'maxConcurrent')),
    text(field(t, 'restrictions', 'maxCps')),
  ]);
  return formatTable(TRUNK_COLUMNS, rows);
}

/** `trunks ls --json`: `{revision, trunks}`, each trunk whole. */
export function formatTrunkListJson(snapshot: ConfigSnapshot): string {
  return formatJson({ revision: snapshot.revision, trunks: trunksOf(snapshot.trunking) });
}

/** `trunks show`: the trunk as YAML (the configuration file's own form), after a comment naming the revision. */
export function formatTrunkYaml(trunk: JsonObject, revision: number): string {
  return `# trunk ${text(trunk['id'])}, configuration revision ${revision}\n${toYaml(trunk, { lineWidth: 0 })}`;
}

/** `trunks show --json` and `trunks set --json`: `{revision, trunk}` (and the changes made, for `set`). */
export function formatTrunkJson(trunk: JsonObject, revision: number, changes?: readonly FieldChange[]): string {
  return formatJson(changes === undefined ? { revision, trunk } : { revision, trunk, changes });
}

/** `trunks set`: each field changed, old → new (as JSON; `-` for not set), then the revisions. */
export function formatTrunkChanges(id: string, changes: readonly FieldChange[], from: number, to: number): string {
  const lines = changes.map((c) => `${id} ${c.path}: ${shown(c.before)} → ${shown(c.after)}`);
  return `${lines.join('\n')}\nconfiguration revision ${from} → ${to}\n`;
}

/** `trunks set` that changes nothing writes nothing. */
export function formatNoChange(id: string, revision: number): string {
  return `${id}: nothing to change, configuration revision ${revision} stays\n`;
}

/** `trunks apply`: the revision written and what it holds. */
export function formatConfigApplied(snapshot: ConfigSnapshot): string {
  const carriers = isList(snapshot.trunking, 'carriers');
  return `configuration revision ${snapshot.revision}: ${plural(carriers, 'carrier')}, ${plural(trunksOf(snapshot.trunking).length, 'trunk')}\n`;
}

function field(object: JsonObject, ...path: string[]): unknown {
  let node: unknown = object;
  for (const key of path) node = typeof node === 'object' && node !== null ? (node as JsonObject)[key] : undefined;
  return node;
}

function text(value: unknown): string {
  return value === undefined || value === null ? '-' : String(value);
}

function count(value: unknown): string {
  return Array.isArray(value) ? String(value.length) : '0';
}

function shown(value: unknown): string {
  return value === undefined ? '-' : JSON.stringify(value);
}

function isList(object: unknown, key: string): number {
  const value = typeof object === 'object' && object !== null ? (object as JsonObject)[key] : undefined;
  return Array.isArray(value) ? value.length : 0;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
