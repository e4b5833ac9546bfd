// `trunks set <id> <path>=<value>...`: the change to one trunk of the trunking configuration,
// computed on a copy — the command sends it with the revision it was read at (compare-and-set).
import { CliError } from '../exit-codes.js';

export type JsonObject = Record<string, unknown>;

/** One `path=value` argument: the path's segments, the value's text (read against the field it replaces). */
export interface Assignment {
  path: readonly string[];
  text: string;
}

/** What an assignment changed; `before`/`after` undefined: the field was not set / is removed. */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

/** Segments that would reach an object's prototype rather than a field. */
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** Reads `restrictions.maxCps=10` or `routing[0].prefix=+1`; the value is everything after the first `=`. */
export function parseAssignment(arg: string): Assignment {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new CliError('usage', `${JSON.stringify(arg)}: expected <path>=<value>, e.g. restrictions.maxCps=10`);
  const pathText = arg.slice(0, eq).trim();
  const path = pathText.replace(/\[(\d+)\]/g, '.$1').split('.');
  if (path.some((s) => s === '')) throw new CliError('usage', `${JSON.stringify(pathText)}: expected a field path such as transfer.mode or routing[0].prefix`);
  const bad = path.find((s) => FORBIDDEN.has(s));
  if (bad !== undefined) throw new CliError('usage', `${pathText}: ${bad} is not a field`);
  return { path, text: arg.slice(eq + 1) };
}

/**
 * The value a text stands for: JSON when it parses (`10`, `true`, `[...]`, `{...}`, `"quoted"`),
 * else the text itself (`sip-only`). A field that holds text keeps a number's digits as text, so
 * `numberPlan.countryCode=44` stays "44"; `null` removes the field.
 */
export function fieldValue(text: string, current: unknown): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof current === 'string' && (typeof parsed === 'number' || typeof parsed === 'boolean')) return text;
  return parsed;
}

/** `trunks[2].routing[0].prefix` style, as the workers name fields in their errors. */
export function formatFieldPath(path: readonly string[]): string {
  return path.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** The trunks of a trunking configuration as `config.get` answers it. */
export function trunksOf(trunking: unknown): JsonObject[] {
  const trunks = isObject(trunking) ? trunking['trunks'] : undefined;
  if (!Array.isArray(trunks) || !trunks.every(isObject)) throw new CliError('internal', 'config.get answered a configuration without a trunks list');
  return trunks;
}

/** The trunk with this id; `not-found` naming the trunks there are. */
export function trunkOf(trunking: unknown, id: string): JsonObject {
  const trunks = trunksOf(trunking);
  const trunk = trunks.find((t) => t['id'] === id);
  if (trunk === undefined) throw new CliError('not-found', `no trunk ${id} (trunks: ${trunks.map((t) => String(t['id'])).join(', ') || 'none'})`);
  return trunk;
}

/**
 * A copy of `trunking` with the assignments made, in order, to trunk `id`, and what each
 * changed (an assignment that leaves its field as it was is not a change). Missing objects on
 * a path are created (a list where the next segment is an index); `null` removes a field.
 */
export function setTrunkFields(trunking: unknown, id: string, assignments: readonly Assignment[]): { trunking: unknown; trunk: JsonObject; changes: FieldChange[] } {
  const copy = structuredClone(trunking);
  const trunk = trunkOf(copy, id);
  const changes: FieldChange[] = [];
  for (const { path, text } of assignments) {
    const shown = formatFieldPath(path);
    let node: unknown = trunk;
    for (let i = 0; i < path.length - 1; i++) {
      const key = keyIn(node, path[i] ?? '', shown);
      const container = node as JsonObject & unknown[];
      let next = container[key];
      if (next === undefined || next === null) container[key] = next = /^\d+$/.test(path[i + 1] ?? '') ? [] : {};
      else if (typeof next !== 'object') throw new CliError('usage', `${shown}: ${formatFieldPath(path.slice(0, i + 1))} is ${describe(next)}, it has no fields`);
      node = next;
    }
    const key = keyIn(node, path[path.length - 1] ?? '', shown);
    const container = node as JsonObject & unknown[];
    const before = container[key];
    const after = fieldValue(text, before);
    if (after === null) {
      if (Array.isArray(container)) container.splice(Number(key), 1);
      else delete container[key];
    } else {
      container[key] = after;
    }
    const change = { path: shown, before, after: after === null ? undefined : after };
    if (JSON.stringify(change.before) !== JSON.stringify(change.after)) changes.push(change);
  }
  return { trunking: copy, trunk, changes };
}

/** The key of `segment` in `node`: an index of a list (at most its length: appends) or a field of an object. */
function keyIn(node: unknown, segment: string, shown: string): string | number {
  if (Array.isArray(node)) {
    if (!/^\d+$/.test(segment)) throw new CliError('usage', `${shown}: ${segment} is not an index: the field there is a list`);
    const index = Number(segment);
    if (index > node.length) throw new CliError('usage', `${shown}: index ${index} is past the end of a list of ${node.length}`);
    return index;
  }
  if (isObject(node)) return segment;
  throw new CliError('usage', `${shown}: ${segment} is not a field of ${describe(node)}`);
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The assignments whose value the workers did not keep: `kept` is the trunk as the written
 * configuration came back (normalised by their schema, which fills defaults in and drops fields
 * it does not know), `sent` the trunk as sent. A misspelt field (`restrictions.maxCPS`) is
 * stored and ignored; this is how the operator gets to know.
 */
export function fieldsNotKept(sent: JsonObject, kept: JsonObject, assignments: readonly Assignment[]): string[] {
  return assignments
    .filter(({ path }) => {
      const value = valueAt(sent, path);
      return value !== undefined && !contains(valueAt(kept, path), value);
    })
    .map(({ path }) => formatFieldPath(path));
}

function valueAt(node: unknown, path: readonly string[]): unknown {
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** Whether `kept` holds everything of `sent` (kept may have more: the defaults filled in). */
function contains(kept: unknown, sent: unknown): boolean {
  if (Array.isArray(sent)) return Array.isArray(kept) && kept.length === sent.length && sent.every((v, i) => contains(kept[i], v));
  if (isObject(sent)) return isObject(kept) && Object.entries(sent).every(([k, v]) => contains(kept[k], v));
  return kept === sent;
}
