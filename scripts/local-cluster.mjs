// Runs a local Switchboard cluster in the foreground: a nats-server with JetStream (data
// in .local/nats; its users and permissions in config/nats-local.conf, README "NATS accounts
// and permissions"), the transport node and two workers of config/switchboard.yaml, the
// CDR page (127.0.0.1:8080), and a
// demo carrier (127.0.0.2:5080, carrier `demo-pstn` of config/trunks.yaml) that answers every
// call. Ctrl-C stops all.
import { spawn } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

const config = process.env.SWITCHBOARD_CONFIG ?? 'config/switchboard.yaml';
const natsPort = process.env.SWITCHBOARD_NATS_PORT ?? '4222';
const natsBin = ['/usr/bin/nats-server', '/usr/sbin/nats-server'].find(existsSync) ?? 'nats-server';
mkdirSync('.local/nats', { recursive: true });

const children = [];
function run(name, command, args, env = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      let text = line;
      try {
        const j = JSON.parse(line);
        const { level, time, msg, service, node, ...rest } = j;
        text = `${msg}${Object.keys(rest).length ? ' ' + JSON.stringify(rest) : ''}`;
        if (j.event === 'listening' && Array.isArray(j.listeners)) {
          for (const l of j.listeners) console.log(`\n  SIP ${l.protocol.toUpperCase()} on ${l.address}:${l.port} — point a softphone or PBX trunk here`);
          console.log('  from 127.0.0.1 you are trunk "acme" (config/trunks.yaml): dial sip:+14155551234@acme.trunks.example;\n  the demo carrier answers after a second\n');
        }
      } catch {}
      console.log(`[${name}] ${text}`);
    });
  }
  child.on('exit', (code, signal) => {
    console.log(`[${name}] exited (${signal ?? code})`);
    if (!stopping) stop(1);
  });
  children.push(child);
  return child;
}

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of [...children].reverse()) if (c.exitCode === null) c.kill('SIGTERM');
  // the workers and the transport exit within a few seconds even when NATS is gone (their stop is bounded);
  // whatever is still running then is killed, never left behind
  setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    process.exit(code);
  }, 8000).unref();
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

run('nats', natsBin, ['-c', 'config/nats-local.conf', '-a', '127.0.0.1', '-p', natsPort, '-js', '-sd', '.local/nats']);
await new Promise((r) => setTimeout(r, 500));
const natsEnv = { SWITCHBOARD_NATS_URL: `nats://127.0.0.1:${natsPort}` };
// each process connects as its own user of config/nats-local.conf, whose passwords are `<user>-dev-password`
const natsUser = (user) => ({ ...natsEnv, SWITCHBOARD_NATS_USER: user, SWITCHBOARD_NATS_PASS: `${user}-dev-password` });
run('carrier', process.execPath, ['test/dist/support/demo-carrier.js', process.env.DEMO_CARRIER_PORT ?? '5080', '127.0.0.2']);
for (const id of ['w1', 'w2']) {
  run(id, process.execPath, ['packages/engine/dist/main.js', '--config', config], { ...natsUser('worker'), SWITCHBOARD_WORKER_ID: id });
}
run('transport', process.execPath, ['packages/transport/dist/main.js', '--config', config], natsUser('transport'));
const cdrWeb = process.env.SWITCHBOARD_CDR_WEB_LISTEN ?? '127.0.0.1:8080';
run('cdr-web', process.execPath, ['packages/cdr-web/dist/main.js', '--listen', cdrWeb], natsUser('cdr-web'));
console.log(`  Call Detail Records page: http://${cdrWeb}/ — CLI: node packages/cli/dist/main.js --user admin --password admin-dev-password cdr ls`);
console.log('Switchboard local cluster starting — Ctrl-C stops it.');
