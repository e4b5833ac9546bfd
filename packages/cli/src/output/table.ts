/** A column of a plain-text table: numbers read better aligned right. */
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

const GAP = '  ';

/**
 * Rows under their headers, each column as wide as its widest cell, separated by two spaces.
 * Widths count code points, not UTF-16 units. No line ends in spaces, so `grep`/`awk` see
 * exactly the text.
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, i) => Math.max(width(column.header), ...rows.map((row) => width(row[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    columns
      .map((column, i) => {
        const cell = cells[i] ?? '';
        const pad = ' '.repeat((widths[i] ?? 0) - width(cell));
        return column.align === 'right' ? pad + cell : cell + pad;
      })
      .join(GAP)
      .trimEnd();
  return [columns.map((c) => c.header), ...rows].map(line).join('\n') + '\n';
}

function width(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** A formatted table's lines, for nesting it under a field (`formatFields`) or indenting it. */
export function tableLines(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}
