// A stand-in worker process for transport tests and benchmarks: it heartbeats like a real
// worker, answers every request with 200 OK (X-Worker names it), and on request sends SIP
// of its own through the transport (X-Send-To: tcp:<host>:<port>) to exercise outbound
// connections, response routing by branch, and send failures. X-Received-At echoes the
// envelope's receivedAt.
// It owns one slot (ECHO_SLOT, else one drawn from its id) at epoch 1 and mints its ids in it:
// there is no slot bucket here, its heartbeat is the whole claim.
// Env: NATS_URL, WORKER_ID, ROUTING_SECRET, ECHO_SLOT. SIGUSR2 toggles active/draining.
import { connect, type Msg } from '@nats-io/transport-node';
import {
  createRequest, createResponse, NameAddr, parseMessage, parseUri, serializeMessage, SipParseError, Via, validateMessage,
  type SipRequest, type SipResponse,
} from '@switchboard/sip';
import {
  decodeInbound, decodeSendFailure, encodeEnvelope, HEARTBEAT_INTERVAL_MS, newRoutingScope, RoutingIds, SLOT_COUNT, Subjects,
  type InboundSip, type OutboundSip, type WorkerState,
} from '@switchboard/wire';

const workerId = process.env.WORKER_ID ?? 'echo1';
const ids = new RoutingIds(process.env.ROUTING_SECRET ?? 'test-routing-secret-0123456789');
const slot = process.env.ECHO_SLOT === undefined ? [...workerId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % SLOT_COUNT, 7) : Number(process.env.ECHO_SLOT);
const scope = () => newRoutingScope(slot);
const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
const startedAt = Date.now();
let state: WorkerState = 'active';
let received = 0;
const pending = new Map<string, { env: InboundSip; req: SipRequest }>();

const log = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(JSON.stringify({ event, worker: workerId, ...fields }) + '\n');

function beat(): void {
  nc.publish(
    Subjects.workerHeartbeat,
    encodeEnvelope({ v: 1, workerId, state, calls: pending.size, startedAt, sentAt: Date.now(), version: 'echo', slots: [[slot, 1]] }),
  );
}

function send(env: InboundSip, msg: SipResponse | SipRequest, to = env.transport, ref?: string): void {
  const out: OutboundSip = {
    v: 1, sip: serializeMessage(msg), protocol: to.protocol, address: to.remoteAddress, port: to.remotePort, workerId,
  };
  if (to.connectionId !== undefined) out.connectionId = to.connectionId;
  if (ref !== undefined) out.ref = ref;
  nc.publish(Subjects.transportOutbound(env.transport.nodeId), encodeEnvelope(out));
}

function answer(env: InboundSip, req: SipRequest, status: number, extra: [string, string][] = [], reason?: string): void {
  const headers: [string, string][] = [
    ['X-Worker', workerId],
    ['X-Top-Via', req.headers.get('via') ?? ''],
    ['X-Connection', env.transport.connectionId ?? ''],
    ['X-Transport-Node', env.transport.nodeId],
    ['X-Received-At', String(env.receivedAt)],
    ...extra,
  ];
  send(env, createResponse(req, status, { toTag: ids.newTag(scope()), headers, ...(reason === undefined ? {} : { reason }) }));
}

function onInbound(msg: Msg): void {
  const env = decodeInbound(msg.data);
  received++;
  if (env.route.kind === 'response') {
    const p = pending.get(env.route.branch);
    if (p === undefined) return;
    pending.delete(env.route.branch);
    answer(p.env, p.req, 200, [['X-Send-Result', String(env.route.status)]]);
    return;
  }
  let req: SipRequest;
  try {
    const m = parseMessage(env.sip);
    const fault = validateMessage(m);
    if (fault !== undefined) throw fault;
    req = m as SipRequest;
  } catch (err) {
    if (!(err instanceof SipParseError)) throw err;
    log('malformed', { reason: err.reason });
    return;
  }
  if (req.method === 'ACK') return;
  const target = req.headers.get('X-Send-To');
  if (target !== undefined) {
    const [protocol, address, port] = target.split(':');
    const branch = ids.newBranch(scope());
    const options = createRequest({
      method: 'OPTIONS',
      uri: parseUri(`sip:${address}:${port};transport=${protocol}`),
      via: new Via((protocol ?? 'tcp').toUpperCase(), env.transport.localAddress, env.transport.localPort, [{ name: 'branch', value: branch }]),
      from: new NameAddr(parseUri('sip:echo@switchboard.invalid')).withTag(ids.newTag(scope())),
      to: new NameAddr(parseUri(`sip:${address}:${port}`)),
      callId: `${branch}@echo`,
      cseq: 1,
    });
    pending.set(branch, { env, req });
    const to = { ...env.transport, protocol: protocol as 'tcp' | 'udp', remoteAddress: address ?? '', remotePort: Number(port) };
    delete (to as { connectionId?: string }).connectionId;
    send(env, options, to, branch);
    return;
  }
  answer(env, req, 200);
}

nc.subscribe(Subjects.workerInbound(workerId), {
  callback: (err, msg) => {
    if (err === null) onInbound(msg);
  },
});
nc.subscribe(Subjects.sendFailure(workerId), {
  callback: (err, msg) => {
    if (err !== null) return;
    const failure = decodeSendFailure(msg.data);
    const p = failure.ref === undefined ? undefined : pending.get(failure.ref);
    if (p === undefined || failure.ref === undefined) return;
    pending.delete(failure.ref);
    answer(p.env, p.req, 200, [['X-Send-Failure', failure.reason]]);
  },
});
await nc.flush();
beat();
const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
process.on('SIGUSR2', () => {
  state = state === 'active' ? 'draining' : 'active';
  beat();
  log('state', { state });
});
process.on('SIGTERM', () => {
  clearInterval(timer);
  log('stopping', { received });
  void nc.drain().then(() => process.exit(0));
});
log('ready');
