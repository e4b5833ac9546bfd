import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CliError, EXIT_CODES } from '../exit-codes.js';
import { parseTrunkingText, readTrunkingFile } from './trunking-file.js';

function usage(message: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof CliError && e.exitCode === EXIT_CODES.usage && message.test(e.message);
}

describe('parseTrunkingText', () => {
  it('reads YAML and JSON', () => {
    assert.deepEqual(parseTrunkingText('trunks:\n  - id: acme\n    dids: ["+14155550100"]\n', 'f'), { trunks: [{ id: 'acme', dids: ['+14155550100'] }] });
    assert.deepEqual(parseTrunkingText('{"carriers": [], "trunks": []}', 'f'), { carriers: [], trunks: [] });
  });

  it('names the line of a syntax error', () => {
    assert.throws(() => parseTrunkingText('trunks:\n  - id: acme\n   bad: [\n', 'trunks.yaml'), usage(/^trunks\.yaml: line \d+: /));
  });

  it('refuses an empty file, a list or a scalar: applying it would remove every trunk', () => {
    assert.throws(() => parseTrunkingText('', 'f'), usage(/^f: expected a mapping with carriers, trunks, sipTransfers \(the trunks file\), not nothing$/));
    assert.throws(() => parseTrunkingText('- a\n', 'f'), usage(/not a list$/));
    assert.throws(() => parseTrunkingText('42', 'f'), usage(/not a number$/));
  });

  it('refuses a field the configuration does not have (the workers would drop it silently)', () => {
    assert.throws(() => parseTrunkingText('trunk:\n  - id: acme\n', 'f'), usage(/^f: trunk: not a field of the trunking configuration/));
  });
});

describe('readTrunkingFile', () => {
  it('reads a file, and says when it cannot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
    const file = join(dir, 'trunks.yaml');
    writeFileSync(file, 'carriers: []\n');
    assert.deepEqual(await readTrunkingFile(file), { carriers: [] });
    await assert.rejects(readTrunkingFile(join(dir, 'missing.yaml')), usage(/^--file: cannot read .*missing\.yaml: ENOENT$/));
  });
});
