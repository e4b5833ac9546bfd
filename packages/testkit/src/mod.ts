// @switchboard/testkit — real parts for tests and benchmarks.
export { busiestWindow } from './busiest-window.js';
export { freePort } from './free-port.js';
export { createTestPki, type TestPki, type TestCertificate } from './test-pki.js';
export { ManagedProcess, type LogLine } from './managed-process.js';
export { startNatsServer, type NatsServerHandle, type NatsRestartOptions } from './nats-server.js';
export { UdpSipClient, TcpSipClient, type Received } from './sip-clients.js';
export { requestText, randomId, type RequestText } from './sip-text.js';
export { UserAgent } from './user-agent/user-agent.js';
export { Call, type CallEvent } from './user-agent/call.js';
export type { CallState, CallEnd } from './user-agent/dialog.js';
export { summarize, type LogEntry, type LogFilter, type LogMatch } from './user-agent/message-log.js';
export { sipfragStatus, isFinalNotify } from './user-agent/bodies.js';
export type {
  UserAgentOptions, AgentTls, TlsClient, CallOptions, InviteScript, InviteScriptSource, Target, SipTransport, ResponseSpec,
  RequestHandler, RequestOptions, OutOfDialogOptions, HeaderList, HeaderPair,
} from './user-agent/options.js';
export { sdpOffer, sdpAnswer, parseSdp, bumpSdpVersion, randomRtpPort, type SdpOptions, type SdpInfo, type SdpMedia } from './sdp.js';
export {
  NetSipAgent, startNetSipUas, startNetSipUac, startNetSipTransferor, netSipAvailable,
  type NetSipEvent, type NetSipUasOptions, type NetSipUacOptions, type NetSipTransferorOptions,
} from './netsip.js';
export {
  Baresip, startBaresip, baresipAvailable, parseSipTrace, NetstringReader,
  type BaresipOptions, type BaresipEvent, type BaresipSip,
} from './baresip.js';
