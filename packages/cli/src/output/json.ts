/** JSON for stdout: one document, indented, ending in a newline, so `jq` and `JSON.parse` take it whole. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
