// The names of limited subjects in the limits bucket. A key is a NATS subject inside the
// bucket, so it must be dot-separated non-empty tokens of letters, digits, `_`, `-`, `/` and
// `=`: anything else (spaces, `*`, `>`, empty tokens) would be refused by the KV client or,
// worse, match as a wildcard. Keys are refused rather than silently rewritten because a
// rewrite that maps two trunks onto one key would make them share one limit.

const TOKEN = /^[-/=\w]+$/;

/** What an operator limits: the trunk a call arrives on or the carrier it leaves through. */
export type LimitedSubject = 'trunk' | 'carrier';

/** True when `key` can be used as a limits-bucket key as it is. */
export function isValidLimitKey(key: string): boolean {
  if (key.length === 0 || key.length > 1024) return false;
  for (const token of key.split('.')) if (!TOKEN.test(token)) return false;
  return true;
}

/**
 * The key of one trunk's or carrier's limits, e.g. `trunk.acme`. `id` is escaped so that any
 * configured id gives a valid key of its own: every character outside `[A-Za-z0-9_-]`
 * (including `.` and the escape character `=` itself) becomes `=XX` per UTF-8 byte, so
 * distinct ids never share a key.
 */
export function limitKey(subject: LimitedSubject, id: string): string {
  let escaped = '';
  for (const byte of new TextEncoder().encode(id)) {
    const char = String.fromCharCode(byte);
    escaped += byte < 0x80 && /[\w-]/.test(char) ? char : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `${subject}.${escaped === '' ? '=' : escaped}`;
}
