// @switchboard/testkit — real parts for tests and benchmarks.
export { freePort } from './free-port.js';
export { ManagedProcess, type LogLine } from './managed-process.js';
export { startNatsServer, type NatsServerHandle } from './nats-server.js';
export { UdpSipClient, TcpSipClient, type Received } from './sip-clients.js';
export { requestText, randomId, type RequestText } from './sip-text.js';
export {
  UserAgent, Call, summarize, sipfragStatus, isFinalNotify,
  type UserAgentOptions, type CallOptions, type InviteScript, type InviteScriptSource, type CallState, type CallEnd,
  type CallEvent, type LogEntry, type LogFilter, type LogMatch, type Target, type SipTransport, type ResponseSpec,
  type RequestHandler, type RequestOptions, type OutOfDialogOptions, type HeaderList, type HeaderPair,
} from './user-agent.js';
export { sdpOffer, sdpAnswer, parseSdp, bumpSdpVersion, randomRtpPort, type SdpOptions, type SdpInfo, type SdpMedia } from './sdp.js';
export {
  NetSipAgent, startNetSipUas, startNetSipUac, startNetSipTransferor, netSipAvailable,
  type NetSipEvent, type NetSipUasOptions, type NetSipUacOptions, type NetSipTransferorOptions,
} from './netsip.js';
