import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { CONFIG } from '../testing/admin-fixtures.js';
import { trunkOf } from './trunk-fields.js';
import {
  formatConfigApplied, formatNoChange, formatTrunkChanges, formatTrunkJson, formatTrunkListJson, formatTrunkTable, formatTrunkYaml,
} from './trunks-format.js';

describe('formatTrunkTable', () => {
  it('prints a row per trunk: counts of DIDs and routes, transfer mode and limits', () => {
    const lines = formatTrunkTable(CONFIG.trunking).trimEnd().split('\n');
    assert.deepEqual(lines[0]?.split(/\s{2,}/), ['ID', 'DOMAIN', 'DIDS', 'ROUTES', 'TRANSFER MODE', 'MAX CONC', 'MAX CPS']);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s{2,}/)), [
      ['acme', 'acme.trunks.example', '2', '2', 'all', '20', '-'],
      ['globex', 'globex.trunks.example', '0', '1', 'disabled', '-', '5'],
    ]);
  });

  it('prints the headers alone for a configuration without trunks', () => {
    assert.equal(formatTrunkTable({ trunks: [] }).trimEnd().split('\n').length, 1);
  });
});

describe('trunks as JSON', () => {
  it('ls: {revision, trunks}', () => {
    const parsed = JSON.parse(formatTrunkListJson(CONFIG)) as { revision: number; trunks: { id: string }[] };
    assert.equal(parsed.revision, 7);
    assert.deepEqual(parsed.trunks.map((t) => t.id), ['acme', 'globex']);
  });

  it('show: {revision, trunk}; set adds the changes', () => {
    const acme = trunkOf(CONFIG.trunking, 'acme');
    assert.deepEqual(JSON.parse(formatTrunkJson(acme, 7)), { revision: 7, trunk: acme });
    const changes = [{ path: 'transfer.mode', before: 'all', after: 'sip-only' }];
    assert.deepEqual(JSON.parse(formatTrunkJson(acme, 8, changes)), { revision: 8, trunk: acme, changes });
  });
});

describe('formatTrunkYaml', () => {
  it('is YAML that reads back as the trunk, after a comment naming the revision', () => {
    const acme = trunkOf(CONFIG.trunking, 'acme');
    const text = formatTrunkYaml(acme, 7);
    assert.match(text, /^# trunk acme, configuration revision 7\nid: acme\ndomain: acme\.trunks\.example\n/);
    assert.deepEqual(parseYaml(text), acme, 'numbers such as +14155550100 stay text');
  });
});

describe('messages of the writes', () => {
  it('set: each change old → new, then the revisions', () => {
    const text = formatTrunkChanges('acme', [
      { path: 'restrictions.maxCps', before: undefined, after: 10 },
      { path: 'transfer.mode', before: 'all', after: 'sip-only' },
    ], 7, 8);
    assert.equal(text, 'acme restrictions.maxCps: - → 10\nacme transfer.mode: "all" → "sip-only"\nconfiguration revision 7 → 8\n');
    assert.equal(formatNoChange('acme', 7), 'acme: nothing to change, configuration revision 7 stays\n');
  });

  it('apply: the revision and what it holds', () => {
    assert.equal(formatConfigApplied(CONFIG), 'configuration revision 7: 1 carrier, 2 trunks\n');
  });
});
