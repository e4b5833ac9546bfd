// Unit tests of route selection (longest prefix) and of when a carrier's answer moves a call on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failsOver, selectRoute, type RoutingRule } from './routing.js';
import { CarrierConfig } from './trunk-config.js';

const rule = (prefix: string, ...carriers: string[]): RoutingRule => ({ prefix, carriers });

describe('selectRoute', () => {
  const rules = [rule('', 'default'), rule('1', 'nanp'), rule('1415', 'bay-area'), rule('44', 'uk'), rule('447', 'uk-mobile')];

  it('chooses the longest matching prefix', () => {
    assert.deepEqual(selectRoute('+14155550100', rules), rule('1415', 'bay-area'));
    assert.deepEqual(selectRoute('+12125550123', rules), rule('1', 'nanp'));
    assert.deepEqual(selectRoute('+447700900123', rules), rule('447', 'uk-mobile'));
    assert.deepEqual(selectRoute('+442079460000', rules), rule('44', 'uk'));
  });

  it('does not depend on the order the rules are written in', () => {
    const reversed = [...rules].reverse();
    assert.deepEqual(selectRoute('+14155550100', reversed), rule('1415', 'bay-area'));
    assert.deepEqual(selectRoute('+33142685300', reversed), rule('', 'default'));
  });

  it('uses the empty prefix as the default route', () => {
    assert.deepEqual(selectRoute('+33142685300', rules), rule('', 'default'));
  });

  it('returns the rule object itself', () => {
    assert.equal(selectRoute('+14155550100', rules), rules[2]);
  });

  it('takes the first written among rules of equal length', () => {
    const a = rule('44', 'first');
    const b = rule('44', 'second');
    assert.equal(selectRoute('+442079460000', [a, b]), a);
    assert.equal(selectRoute('+442079460000', [b, a]), b);
  });

  it('is undefined when nothing matches and there is no default', () => {
    assert.equal(selectRoute('+33142685300', rules.slice(1)), undefined);
    assert.equal(selectRoute('+14155550100', []), undefined);
  });

  it('treats prefixes with and without + as the same prefix', () => {
    assert.deepEqual(selectRoute('+442079460000', [rule('+44', 'plus')]), rule('+44', 'plus'));
    assert.deepEqual(selectRoute('+442079460000', [rule('44', 'bare')]), rule('44', 'bare'));
    // equal length once the + is set aside: the first written wins
    const plus = rule('+44', 'plus');
    const bare = rule('44', 'bare');
    assert.equal(selectRoute('+442079460000', [plus, bare]), plus);
    assert.equal(selectRoute('+442079460000', [bare, plus]), bare);
  });

  it('measures a prefix without its +', () => {
    // '+1' is one digit, '14' two: '14' is more specific though both are two characters
    assert.deepEqual(selectRoute('+14155550100', [rule('+1', 'one'), rule('14', 'two')]), rule('14', 'two'));
    // '+14' is no more specific than '14'
    assert.deepEqual(selectRoute('+14155550100', [rule('14', 'bare'), rule('+14', 'plus')]), rule('14', 'bare'));
  });
});

describe('failsOver', () => {
  it('fails over on a listed status', () => {
    assert.equal(failsOver(503, [503]), true);
    assert.equal(failsOver(486, [486, 600]), true);
    assert.equal(failsOver(600, [486, 600]), true);
  });
  it('does not fail over on an unlisted status', () => {
    assert.equal(failsOver(500, [503]), false);
    assert.equal(failsOver(404, [486, 600]), false);
  });
  it('fails over on every status of a listed class', () => {
    for (const status of [500, 502, 503, 504, 580, 599]) assert.equal(failsOver(status, ['5xx']), true, String(status));
    for (const status of [600, 603, 604, 606]) assert.equal(failsOver(status, ['6xx']), true, String(status));
    assert.equal(failsOver(302, ['3xx']), true);
    assert.equal(failsOver(404, ['4xx']), true);
  });
  it('does not fail over on a status of another class', () => {
    assert.equal(failsOver(486, ['5xx']), false);
    assert.equal(failsOver(603, ['5xx']), false);
    assert.equal(failsOver(599, ['6xx']), false);
  });
  it('never fails over with an empty set', () => {
    assert.equal(failsOver(503, []), false);
  });

  describe('with the default set', () => {
    const defaults = CarrierConfig.parse({ id: 'c', addresses: [{ host: '198.51.100.10' }] }).failoverOn;

    it('is [408, "5xx"]', () => {
      assert.deepEqual(defaults, [408, '5xx']);
    });
    it('fails over on 408 and 5xx', () => {
      for (const status of [408, 500, 502, 503, 504]) assert.equal(failsOver(status, defaults), true, String(status));
    });
    it('does not fail over on answers: 486, 404, 603, 480, 487', () => {
      for (const status of [486, 404, 603, 480, 487, 484, 403, 600]) assert.equal(failsOver(status, defaults), false, String(status));
    });
  });
});
