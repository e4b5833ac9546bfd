import { createHash } from 'node:crypto';

const VALID_ID = /^[A-Za-z0-9]{1,32}$/;
/** Hex digits of the name's hash kept in a derived id: 2^32 names before two collide by chance. */
const HASH_CHARS = 8;

/**
 * A node id (1-32 letters or digits, as NATS subjects carry it) for a name that may not be one:
 * a Kubernetes pod name (`switchboard-worker-7d9f8c6b5-x2k4q`) or node name
 * (`ip-10-0-1-23.ec2.internal`). A valid id is kept as it is. Otherwise the id is the last
 * letters and digits of the name followed by a hash of the whole name: dropping the separators
 * alone would make `ip-10-0-1-23` and `ip-10-0-12-3` one id, and cutting at 32 characters
 * would make long names with one prefix collide. The same name always gives the same id, so a
 * transport pod restarted on its node keeps the subjects its dialogs are routed to.
 */
export function nodeIdFromName(name: string): string {
  const trimmed = name.trim();
  if (VALID_ID.test(trimmed)) return trimmed;
  const letters = trimmed.replace(/[^A-Za-z0-9]/g, '');
  const hash = createHash('sha256').update(trimmed).digest('hex').slice(0, HASH_CHARS);
  return `${letters.slice(-(32 - HASH_CHARS))}${hash}`;
}
