import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFields } from './fields.js';

describe('formatFields', () => {
  it('aligns values and prints a sub-list indented under its name', () => {
    assert.equal(
      formatFields([['id', 'x-0'], ['legs', ['a  caller', 'b  callee']], ['endedBy', 'caller'], ['none', []]]),
      ['id:      x-0', 'legs:', '  a  caller', '  b  callee', 'endedBy: caller', 'none:    -', ''].join('\n'),
    );
  });
});
