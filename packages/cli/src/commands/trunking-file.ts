// `trunks apply -f <file>`: the file of a whole trunking configuration, read as the workers'
// own loader reads the trunks file (YAML, of which JSON is a part).
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { CliError } from '../exit-codes.js';

/** The top-level fields of a trunking configuration (the trunks file). */
export const TRUNKING_FIELDS: readonly string[] = ['carriers', 'trunks', 'sipTransfers'];

/** The file's configuration: YAML (JSON is YAML); a file that cannot be read, parsed, or is not a trunks file is a usage error. */
export async function readTrunkingFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError('usage', `--file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseTrunkingText(text, file === '-' ? 'standard input' : file);
}

/** Parses a trunks file's text; `name` names it in errors. */
export function parseTrunkingText(text: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    // prettyErrors sets linePos: without it a syntax error could not name its line
    value = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const line = error.linePos?.[0]?.line;
    throw new CliError('usage', `${name}${line === undefined ? '' : `: line ${line}`}: ${error.message.split('\n')[0] ?? 'not YAML'}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError('usage', `${name}: expected a mapping with ${TRUNKING_FIELDS.join(', ')} (the trunks file), not ${value === null || value === undefined ? 'nothing' : Array.isArray(value) ? 'a list' : `a ${typeof value}`}`);
  }
  // the workers' schema drops fields it does not know: a misspelt `trunk:` would apply no trunks at all
  const unknown = Object.keys(value).filter((k) => !TRUNKING_FIELDS.includes(k));
  if (unknown.length > 0) throw new CliError('usage', `${name}: ${unknown.join(', ')}: not a field of the trunking configuration (${TRUNKING_FIELDS.join(', ')})`);
  return value as Record<string, unknown>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
