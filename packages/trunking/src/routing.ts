import { hasPrefix, prefixLength } from './numbers.js';
import type { CarrierConfig, TrunkConfig } from './trunk-config.js';

export type RoutingRule = TrunkConfig['routing'][number];

/** The rule with the longest prefix matching `e164`; among equals, the first written. */
export function selectRoute(e164: string, rules: readonly RoutingRule[]): RoutingRule | undefined {
  let best: RoutingRule | undefined;
  for (const rule of rules) {
    if (hasPrefix(e164, rule.prefix) && (best === undefined || prefixLength(rule.prefix) > prefixLength(best.prefix))) best = rule;
  }
  return best;
}

/** Whether a carrier's answer moves the call to the next target (RFC 3261 §16.7 leaves this to policy). */
export function failsOver(status: number, failoverOn: CarrierConfig['failoverOn']): boolean {
  return failoverOn.some((s) => (typeof s === 'number' ? s === status : Math.floor(status / 100) === Number(s[0])));
}
