/** A field of one object as shown: a value, or a sub-list printed on the lines after its name. */
export type Field = readonly [name: string, value: string | readonly string[]];

/** `name: value` lines with the values aligned, for showing one object; sub-list lines are indented. */
export function formatFields(fields: readonly Field[]): string {
  const width = Math.max(0, ...fields.map(([name, value]) => (typeof value === 'string' ? name.length + 1 : 0)));
  const lines: string[] = [];
  for (const [name, value] of fields) {
    if (typeof value === 'string') lines.push(`${`${name}:`.padEnd(width)} ${value}`.trimEnd());
    else if (value.length === 0) lines.push(`${`${name}:`.padEnd(width)} -`);
    else lines.push(`${name}:`, ...value.map((line) => `  ${line}`.trimEnd()));
  }
  return lines.join('\n') + '\n';
}
