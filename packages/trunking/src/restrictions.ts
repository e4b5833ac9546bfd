import { hasPrefix, prefixLength } from './numbers.js';
import type { TrunkConfig } from './trunk-config.js';

export type DestinationVerdict =
  | { allowed: true }
  | { allowed: false; status: 403; reason: 'Destination Blocked' | 'Destination Not Allowed'; rule: string };

/**
 * Whether the trunk may call `e164`: a blocked prefix refuses it (the most specific one is
 * named), then a non-empty allow list must contain it.
 */
export function checkDestination(e164: string, restrictions: TrunkConfig['restrictions']): DestinationVerdict {
  let blocked: TrunkConfig['restrictions']['blocked'][number] | undefined;
  for (const b of restrictions.blocked) {
    if (hasPrefix(e164, b.prefix) && (blocked === undefined || prefixLength(b.prefix) > prefixLength(blocked.prefix))) blocked = b;
  }
  if (blocked !== undefined) return { allowed: false, status: 403, reason: 'Destination Blocked', rule: blocked.name };
  if (restrictions.allowedPrefixes.length > 0 && !restrictions.allowedPrefixes.some((p) => hasPrefix(e164, p))) {
    return { allowed: false, status: 403, reason: 'Destination Not Allowed', rule: 'allowed-prefixes' };
  }
  return { allowed: true };
}
