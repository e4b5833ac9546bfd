/**
 * A copy of `text` that shares no memory with the string it came from. V8 makes a substring of
 * 13 characters or more a view of its parent (a sliced string) and a concatenation a tree of its
 * parts, so a header value kept for the life of a dialog would keep the whole text of the
 * message it was parsed from (~500 bytes per call held, issue 17). For what is kept long only:
 * the hot path keeps its views.
 */
export function detached(text: string): string {
  // shorter strings are never views or trees: V8's SlicedString and ConsString start at 13
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8');
}
