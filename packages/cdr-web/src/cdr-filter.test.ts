import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterSearch, parseCdrFilter } from './cdr-filter.js';

const NOW = 1_800_000_000_000;
const parse = (search: string) => parseCdrFilter(new URLSearchParams(search), NOW);

describe('CDR page filter', () => {
  it('asks for the latest records by default, and treats blank fields as absent', () => {
    assert.deepEqual(parse(''), { ok: true, filter: { limit: 200 }, query: { limit: 200 } });
    assert.deepEqual(parse('trunk=&since=&call=&disposition=&limit='), parse(''));
  });

  it('turns the fields into a CDR query', () => {
    assert.deepEqual(parse('trunk=acme&since=1h&call=00000000A1B2C3D4&disposition=busy&limit=50'), {
      ok: true,
      filter: { trunk: 'acme', since: '1h', call: '00000000a1b2c3d4', disposition: 'busy', limit: 50 },
      query: { trunk: 'acme', since: NOW - 3_600_000, callId: '00000000a1b2c3d4', limit: 50 },
    });
    const byRecord = parse('call=00000000a1b2c3d4-2');
    assert.ok(byRecord.ok);
    assert.deepEqual(byRecord.query, { recordId: '00000000a1b2c3d4-2', limit: 200 });
    const noTrunk = parse('trunk=_');
    assert.ok(noTrunk.ok);
    assert.equal(noTrunk.filter.trunk, '_');
    assert.equal(noTrunk.query.trunk, undefined);
  });

  it('names the parameter it refuses', () => {
    const refused = (search: string) => {
      const r = parse(search);
      assert.ok(!r.ok, search);
      return r.param;
    };
    assert.equal(refused('since=yesterday'), 'since');
    assert.equal(refused('since=1w'), 'since');
    assert.equal(refused('trunk=acme.*'), 'trunk');
    assert.equal(refused('trunk=<b>'), 'trunk');
    assert.equal(refused('call=xyz'), 'call');
    assert.equal(refused('call=00000000a1b2c3d4-'), 'call');
    assert.equal(refused('disposition=lost'), 'disposition');
    assert.equal(refused('limit=0'), 'limit');
    assert.equal(refused('limit=1001'), 'limit');
    assert.equal(refused('limit=ten'), 'limit');
  });

  it('writes a filter back as a query string, defaults left out', () => {
    assert.equal(filterSearch({ limit: 200 }), '');
    assert.equal(filterSearch({ trunk: 'acme', since: '15m', disposition: 'no-answer', limit: 20 }), '?trunk=acme&since=15m&disposition=no-answer&limit=20');
  });
});
