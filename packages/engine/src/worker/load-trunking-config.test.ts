// The trunking file read from disk: a problem names the file and the field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '@switchboard/config';
import { loadTrunkingConfig } from './load-trunking-config.js';

describe('loadTrunkingConfig', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-trunking-test-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const YAML = [
    'carriers:',
    '  - id: carrier-a',
    '    addresses:',
    '      - host: 198.51.100.10',
    'trunks:',
    '  - id: acme',
    '    domain: acme.trunks.example',
    '    acl: [192.0.2.0/24]',
    '    numberPlan: { countryCode: "1", nationalPrefix: "1", internationalPrefix: "011" }',
    '    routing:',
    '      - prefix: "PREFIX"',
    '        carriers: [carrier-a]',
    '',
  ].join('\n');

  it('reads a valid file', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, YAML.replace('PREFIX', '+1'));
    const config = loadTrunkingConfig(file);
    assert.equal(config.trunks[0]?.id, 'acme');
    assert.deepEqual(config.trunks[0]?.routing, [{ prefix: '+1', carriers: ['carrier-a'] }]);
    assert.deepEqual(config.carriers[0]?.addresses, [{ host: '198.51.100.10', port: 5060, transport: 'udp' }]);
  });

  it('names the file and the field of a problem', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, YAML.replace('PREFIX', '1-800'));
    assert.throws(() => loadTrunkingConfig(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.file, file);
      assert.equal(err.field, 'trunks[0].routing[0].prefix');
      assert.equal(err.problem, 'expected digits');
      assert.ok(err.message.startsWith(`${file}: `));
      return true;
    });
  });

  it('names the file of a cross-reference problem', () => {
    const file = join(dir, 'unknown-carrier.yaml');
    writeFileSync(file, YAML.replace('PREFIX', '+1').replace('carriers: [carrier-a]', 'carriers: [carrier-q]'));
    assert.throws(() => loadTrunkingConfig(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.file, file);
      assert.equal(err.field, 'trunks[0].routing[0].carriers[0]');
      assert.equal(err.problem, 'no carrier "carrier-q"');
      return true;
    });
  });

  it('names a file that cannot be read', () => {
    const file = join(dir, 'missing.yaml');
    assert.throws(() => loadTrunkingConfig(file), (err: unknown) => err instanceof ConfigError && err.file === file);
  });
});
