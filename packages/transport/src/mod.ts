// @switchboard/transport — the stateless SIP transport node.
export { TransportNode, type BoundListener } from './transport-node.js';
export { loadTransportConfig, TransportConfigSchema, TRANSPORT_ENV, type TransportConfig } from './transport-config.js';
export { TransportCounters, type DropReason } from './transport-counters.js';
export { ConnectionTable, type TcpConnection } from './connection-table.js';
