import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError, EXIT_CODES } from '../exit-codes.js';
import { CONFIG } from '../testing/admin-fixtures.js';
import { fieldsNotKept, fieldValue, formatFieldPath, parseAssignment, setTrunkFields, trunkOf, type JsonObject } from './trunk-fields.js';

const set = (...args: string[]) => setTrunkFields(CONFIG.trunking, 'acme', args.map(parseAssignment));

function failsWith(run: () => unknown, code: number, message: RegExp): void {
  assert.throws(run, (e: unknown) => e instanceof CliError && e.exitCode === code && message.test(e.message));
}

describe('parseAssignment', () => {
  it('splits at the first =, reading [n] as an index', () => {
    assert.deepEqual(parseAssignment('transfer.mode=sip-only'), { path: ['transfer', 'mode'], text: 'sip-only' });
    assert.deepEqual(parseAssignment('routing[1].prefix=+44'), { path: ['routing', '1', 'prefix'], text: '+44' });
    assert.deepEqual(parseAssignment('credentials.0.password=a=b'), { path: ['credentials', '0', 'password'], text: 'a=b' });
    assert.deepEqual(parseAssignment('transfer.diversionNumber='), { path: ['transfer', 'diversionNumber'], text: '' });
  });

  it('refuses what is not path=value, as a usage error', () => {
    for (const arg of ['transfer.mode', '=x', 'a..b=1', '.a=1', 'a.=1', '__proto__.x=1', 'a.constructor=1']) {
      failsWith(() => parseAssignment(arg), EXIT_CODES.usage, /expected|is not a field/);
    }
  });
});

describe('fieldValue', () => {
  it('reads JSON when the text parses, else takes the text', () => {
    assert.equal(fieldValue('10', undefined), 10);
    assert.equal(fieldValue('true', false), true);
    assert.deepEqual(fieldValue('[{"prefix":"+1415555","name":"test"}]', []), [{ prefix: '+1415555', name: 'test' }]);
    assert.equal(fieldValue('sip-only', 'all'), 'sip-only');
    assert.equal(fieldValue('"10"', 5), '10');
    assert.equal(fieldValue('null', 5), null);
  });

  it('keeps digits as text where the field holds text', () => {
    assert.equal(fieldValue('44', '1'), '44');
    assert.equal(fieldValue('true', 'x'), 'true');
    assert.deepEqual(fieldValue('["+1"]', 'x'), ['+1']);
  });
});

describe('formatFieldPath', () => {
  it('names a field as the workers do', () => {
    assert.equal(formatFieldPath(['routing', '0', 'carriers', '1']), 'routing[0].carriers[1]');
    assert.equal(formatFieldPath(['restrictions', 'maxCps']), 'restrictions.maxCps');
  });
});

describe('setTrunkFields', () => {
  it('sets fields of the trunk on a copy and says what changed', () => {
    const { trunking, trunk, changes } = set('restrictions.blocked=[{"prefix":"+1415555","name":"test"}]', 'transfer.mode=sip-only', 'restrictions.maxCps=10');
    assert.deepEqual((trunk['restrictions'] as JsonObject)['blocked'], [{ prefix: '+1415555', name: 'test' }]);
    assert.equal((trunk['transfer'] as JsonObject)['mode'], 'sip-only');
    assert.equal((trunk['restrictions'] as JsonObject)['maxCps'], 10);
    assert.equal(trunkOf(trunking, 'acme'), trunk, 'the trunk inside the new configuration');
    assert.deepEqual(changes, [
      { path: 'restrictions.blocked', before: [{ prefix: '+1900', name: 'premium-rate' }], after: [{ prefix: '+1415555', name: 'test' }] },
      { path: 'transfer.mode', before: 'all', after: 'sip-only' },
      { path: 'restrictions.maxCps', before: undefined, after: 10 },
    ]);
    assert.equal(((trunkOf(CONFIG.trunking, 'acme')['transfer']) as JsonObject)['mode'], 'all', 'the original is untouched');
    assert.equal(trunkOf(trunking, 'globex')['domain'], 'globex.trunks.example', 'other trunks are kept');
  });

  it('reaches into lists by index, appends at the end, removes with null', () => {
    const { trunk, changes } = set('routing[1].prefix=+49', 'dids[2]=+14155550102', 'restrictions.maxConcurrent=null', 'routing[0]=null');
    assert.deepEqual(trunk['routing'], [{ prefix: '+49', carriers: ['carrier'] }]);
    assert.deepEqual(trunk['dids'], ['+14155550100', '+14155550101', '+14155550102']);
    assert.equal('maxConcurrent' in (trunk['restrictions'] as JsonObject), false);
    assert.deepEqual(changes.map((c) => c.path), ['routing[1].prefix', 'dids[2]', 'restrictions.maxConcurrent', 'routing[0]']);
    assert.equal(changes[2]?.after, undefined);
  });

  it('makes the objects a path needs, a list where the next segment is an index', () => {
    const { trunk } = setTrunkFields(CONFIG.trunking, 'globex', ['origination.uris[0]=sip:10.0.0.1', 'callerId.default=+442071234567'].map(parseAssignment));
    assert.deepEqual(trunk['origination'], { uris: ['sip:10.0.0.1'] });
    assert.equal((trunk['callerId'] as JsonObject)['default'], '+442071234567');
  });

  it('keeps a text field text: numberPlan.countryCode=44 stays "44"', () => {
    assert.equal((set('numberPlan.countryCode=44').trunk['numberPlan'] as JsonObject)['countryCode'], '44');
  });

  it('reports no change for a value the field already has', () => {
    assert.deepEqual(set('transfer.mode=all', 'restrictions.maxConcurrent=20').changes, []);
  });

  it('refuses an unknown trunk as not found, naming the trunks there are', () => {
    failsWith(() => setTrunkFields(CONFIG.trunking, 'nope', [parseAssignment('transfer.mode=all')]), EXIT_CODES['not-found'], /^no trunk nope \(trunks: acme, globex\)$/);
  });

  it('refuses a path through a value that has no fields, or past the end of a list', () => {
    failsWith(() => set('domain.x=1'), EXIT_CODES.usage, /^domain\.x: domain is a string, it has no fields$/);
    failsWith(() => set('routing.first=1'), EXIT_CODES.usage, /^routing\.first: first is not an index/);
    failsWith(() => set('dids[5]=+14155550109'), EXIT_CODES.usage, /^dids\[5\]: index 5 is past the end of a list of 2$/);
    failsWith(() => set('restrictions.maxConcurrent.x=1'), EXIT_CODES.usage, /is a number, it has no fields/);
  });

  it('refuses a configuration without trunks as an internal error of the cluster', () => {
    failsWith(() => setTrunkFields({ carriers: [] }, 'acme', []), EXIT_CODES.internal, /without a trunks list/);
  });
});

describe('fieldsNotKept', () => {
  it('names the fields the workers dropped, not those they filled defaults into', () => {
    const assignments = ['restrictions.maxCPS=10', 'restrictions.blocked=[{"prefix":"+1900"}]', 'transfer.mode=sip-only', 'restrictions.maxConcurrent=null']
      .map(parseAssignment);
    const { trunk: sent } = setTrunkFields(CONFIG.trunking, 'acme', assignments);
    const kept = structuredClone(sent);
    delete (kept['restrictions'] as JsonObject)['maxCPS'];
    (kept['restrictions'] as JsonObject)['blocked'] = [{ prefix: '+1900', name: 'blocked' }];
    assert.deepEqual(fieldsNotKept(sent, kept, assignments), ['restrictions.maxCPS']);
    assert.deepEqual(fieldsNotKept(sent, sent, assignments), []);
  });

  it('sees a field dropped inside a list', () => {
    const assignments = [parseAssignment('restrictions.blocked=[{"prefx":"+1900"}]')];
    const { trunk: sent } = setTrunkFields(CONFIG.trunking, 'acme', assignments);
    const kept = structuredClone(sent);
    (kept['restrictions'] as JsonObject)['blocked'] = [{ name: 'blocked' }];
    assert.deepEqual(fieldsNotKept(sent, kept, assignments), ['restrictions.blocked']);
  });
});
