import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTable } from './table.js';

describe('formatTable', () => {
  it('makes each column as wide as its widest cell, two spaces apart, numbers to the right', () => {
    const text = formatTable([{ header: 'NAME' }, { header: 'N', align: 'right' }, { header: 'NOTE' }], [
      ['a', '5', 'x'],
      ['longer', '120', ''],
    ]);
    assert.equal(text, ['NAME      N  NOTE', 'a         5  x', 'longer  120', ''].join('\n'));
  });

  it('counts code points, not UTF-16 units', () => {
    const text = formatTable([{ header: 'ID' }, { header: 'X' }], [['  └ ab', '1'], ['𝐀𝐁', '2']]);
    assert.equal(text, ['ID      X', '  └ ab  1', '𝐀𝐁      2', ''].join('\n'));
  });

  it('prints the headers alone when there are no rows', () => {
    assert.equal(formatTable([{ header: 'A' }, { header: 'B' }], []), 'A  B\n');
  });

  it('ends no line in spaces', () => {
    const text = formatTable([{ header: 'A' }, { header: 'B' }], [['x', ''], ['yyyy', '']]);
    for (const line of text.split('\n')) assert.equal(line, line.trimEnd());
  });
});
