import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsInboxPrefix } from '@switchboard/wire';
import type { Logger } from 'pino';
import { guessedAdvertisements } from './peer-address.js';
import type { TransportConfig } from './transport-config.js';

const RECONNECT_WAIT_MS = 250;
const RECONNECT_JITTER_MS = 100;

/** A transport node's NATS connection (switchboard-transport, switchboard-edge-worker): never gives up reconnecting. */
export function connectTransport(config: TransportConfig): Promise<NatsConnection> {
  return connect({
    servers: config.nats.servers,
    name: `transport-${config.transport.id}`,
    user: config.nats.user,
    pass: config.nats.pass,
    inboxPrefix: natsInboxPrefix('transport'),
    // no Error made up front for every request (a stack capture each, issue 17)
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    // back within a second of NATS returning (the default waits 2 s); the jitter spreads the nodes' retries
    reconnectTimeWait: RECONNECT_WAIT_MS,
    reconnectJitter: RECONNECT_JITTER_MS,
    waitOnFirstConnect: true,
  });
}

/** Listeners on a wildcard address with no advertise: what Via and Contact will carry instead, said once at start. */
export function warnGuessedAdvertisements(config: TransportConfig, log: Logger): void {
  for (const g of guessedAdvertisements(config.transport.listen)) {
    log.warn({ event: 'advertise-guessed', ...g }, `${g.protocol} ${g.host}:${g.port} has no advertise: Via and Contact carry ${g.advertised}, this machine's first interface (set transport.listen[].advertise or SWITCHBOARD_ADVERTISE)`);
  }
}
