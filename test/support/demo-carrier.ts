// A stand-in PSTN carrier for the local cluster: answers every call on <host>:<port> (default
// 127.0.0.2:5080, carrier `demo-pstn` of config/trunks.yaml) after a ring, echoes SDP, and logs
// one line per call. Not for production.
import { UserAgent } from '@switchboard/testkit';

const port = Number(process.argv[2] ?? process.env.DEMO_CARRIER_PORT ?? 5080);
const host = process.argv[3] ?? process.env.DEMO_CARRIER_HOST ?? '127.0.0.2';
const carrier = await UserAgent.start({ name: 'carrier', host, port, keepHistory: false });
carrier.onInvite((invite) => {
  process.stdout.write(JSON.stringify({ msg: 'call answered', event: 'call', to: invite.uri.toString(), from: invite.headers.from?.uri.toString() }) + '\n');
  return { ring: 200, answerAfter: 1000 };
});
process.stdout.write(JSON.stringify({ msg: 'demo carrier listening', event: 'listening', host, port }) + '\n');
const stop = () => void carrier.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
