// @switchboard/transport — the stateless SIP transport node.
export { TransportNode, type ColocatedWorker } from './transport-node.js';
export { connectTransport, warnGuessedAdvertisements } from './transport-process.js';
export type { BoundListener } from './peer-address.js';
export { loadTransportConfig, TransportConfigSchema, TRANSPORT_ENV, type TransportConfig } from './transport-config.js';
export { TransportCounters, type DropReason } from './transport-counters.js';
export { ConnectionTable, type TcpConnection } from './connection-table.js';
