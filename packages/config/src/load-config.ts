import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './config-error.js';

/** `trunks[2].routing[0].prefix`: the path of a field as an operator reads it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const key of path) {
    if (typeof key === 'number') s += `[${key}]`;
    else s += s.length === 0 ? String(key) : `.${String(key)}`;
  }
  return s.length === 0 ? '(top level)' : s;
}

/** Reads a YAML (or JSON, which is YAML) file; a syntax error names the file and the line. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '(file)', `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    // prettyErrors sets linePos: without it a syntax error could not name its line
    return parseYaml(text, { prettyErrors: true }) ?? {};
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const line = err.linePos?.[0]?.line;
      throw new ConfigError(file, line === undefined ? '(syntax)' : `line ${line}`, err.message.split('\n')[0] ?? 'syntax error');
    }
    throw err;
  }
}

/** An environment variable that, when set, replaces one field of the file. */
export interface EnvOverride {
  variable: string;
  path: readonly string[];
  /** How the text becomes the field's value (default: the text itself). */
  parse?: (text: string) => unknown;
}

/** A copy of `raw` with the overrides whose variables are set applied. */
export function applyEnvOverrides(raw: unknown, overrides: readonly EnvOverride[], env: NodeJS.ProcessEnv = process.env): unknown {
  // a scalar file cannot take fields: leave it for validation to refuse at the top level
  if (raw !== undefined && raw !== null && typeof raw !== 'object') return raw;
  const root = structuredClone((raw ?? {}) as Record<string, unknown>);
  for (const o of overrides) {
    const text = env[o.variable];
    if (text === undefined || text === '') continue;
    let node = root;
    for (const key of o.path.slice(0, -1)) {
      const next = node[key];
      node = (node[key] = typeof next === 'object' && next !== null ? next : {}) as Record<string, unknown>;
    }
    node[o.path[o.path.length - 1] as string] = o.parse === undefined ? text : o.parse(text);
  }
  return root;
}

/** Validates `raw` against `schema`; the first problem becomes a ConfigError naming `file` and the field. */
export function validateConfig<S extends z.ZodType>(schema: S, raw: unknown, file: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new ConfigError(file, '(top level)', 'invalid');
  throw new ConfigError(file, formatPath(issue.path), issue.message);
}

/** Reads, overrides from the environment and validates a configuration file. */
export function loadConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  overrides: readonly EnvOverride[] = [],
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  return validateConfig(schema, applyEnvOverrides(readConfigFile(file), overrides, env), file);
}
