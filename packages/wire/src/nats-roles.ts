// The NATS users a cluster runs with, one per kind of process (deploy/nats/permissions.conf).

/** A kind of process, and the NATS user its processes connect as. */
export type NatsRole = 'transport' | 'worker' | 'config-writer' | 'admin' | 'cdr-web';

/**
 * The inbox prefix a role's connections use (nats.js `inboxPrefix`): replies to its requests,
 * JetStream acks and consumer deliveries come to `_INBOX_<role>.…`, the only inboxes its user
 * may subscribe to, so no role can read the replies meant for another. Requests between roles
 * still work: the answerer publishes to the asker's reply subject through `allow_responses`.
 */
export function natsInboxPrefix(role: NatsRole): string {
  return `_INBOX_${role}`;
}
