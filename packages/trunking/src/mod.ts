// @switchboard/trunking — the trunk policy, pure: configuration, numbers, routing, restrictions, caller ID, digest.
export * from './trunk-config.js';
export * from './numbers.js';
export * from './routing.js';
export * from './restrictions.js';
export * from './caller-id.js';
export * from './digest.js';
export * from './digest-failures.js';
export * from './trunk-policy.js';
export * from './refer-target.js';
export * from './refer-rules.js';
