// @switchboard/testkit — real parts for tests and benchmarks.
export { freePort } from './free-port.js';
export { ManagedProcess, type LogLine } from './managed-process.js';
export { startNatsServer, type NatsServerHandle } from './nats-server.js';
export { UdpSipClient, TcpSipClient, type Received } from './sip-clients.js';
export { requestText, randomId, type RequestText } from './sip-text.js';
