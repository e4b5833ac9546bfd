// Starts Switchboard from its rendered Kubernetes manifests (issue 18): the `local` overlay as
// `kubectl kustomize` renders it, each container's command, args and environment run as a local
// process (init containers first), its volumes (ConfigMaps, example Secrets, emptyDirs, the
// service-account token) materialized as directories, against a nats-server with the users of the
// NATS chart values and a stand-in Kubernetes API serving the node the transport's init container
// reads (its annotated public address is what the transport must advertise). What a cluster would
// supply is mapped to this machine: /app/<process> to the image's content (the Dockerfile's own
// `pnpm deploy --prod` output, test/support/image.ts: a runtime dependency missing from the image
// fails here), the downward API's addresses to 127.0.0.1, the in-cluster NATS and collector names
// to local stand-ins, ports to free ones. Then a call and a transfer go through, every process is ready,
// the worker's preStop hands a call over to a second worker of the same Deployment as
// deploy/README.md says, and with no other worker left it drains slowly: unready at once, its call
// untouched, the hook back once it ended. The stand-in collector gets the spans of both processes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml, stringify } from 'yaml';
import type { IContainer } from 'kubernetes-models/v1';
import { createTestPki, freePort, isFinalNotify, ManagedProcess, sipfragStatus, startNatsServer, UserAgent, type NatsServerHandle } from '@switchboard/testkit';
import { acmeTrunking, callIdLandingOn, callUp } from '../support/cluster.js';
import { dockerfileDeploys, imageContent, noPnpm } from '../support/image.js';
import { configMaps, DEPLOY_DIR, exampleSecrets, kubectlAvailable, onlyContainer, render, secretValues, workload, type KubeObject, type Workload } from '../support/manifests.js';

const KUBECTL = kubectlAvailable();
const IN_CLUSTER_NATS = 'nats://nats:4222';
const PBX_HOST = '127.0.0.10';
const CARRIER_HOST = '127.0.0.21';
const NODE_NAME = 'sip-node-1';
/** The node's annotation switchboard.io/public-address in the stand-in API: a loopback address other than status.hostIP's. */
const PUBLIC_ADDRESS = '127.0.0.55';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const TRANSPORT_SERVICE = 'switchboard-transport';
const WORKER_SERVICE = 'switchboard-worker';

interface Started {
  proc: ManagedProcess;
  /** The health port it was given (SWITCHBOARD_HEALTH_PORT), 0 when none. */
  healthPort: number;
  /** The environment it runs with, for the preStop hook, which runs in the same container. */
  env: Record<string, string>;
  run(command: readonly string[], name: string): ManagedProcess;
}

describe('Switchboard started from the rendered local overlay', { skip: KUBECTL ? noPnpm : 'kubectl is not installed: the local overlay cannot be rendered' }, () => {
  let objects: KubeObject[];
  let nats: NatsServerHandle;
  let collector: Server;
  let collectorUrl: string;
  /** A stand-in Kubernetes API (HTTPS, its own CA) serving the node object the transport's init container reads. */
  let kubeApi: { ca: string; token: string; port: number; requests: string[]; close(): Promise<void> };
  /** The service.name of every batch of spans the stand-in collector received. */
  const services = new Set<string>();
  /** Where the image keeps each process (/app/<folder>/) → the deployed folder here. */
  let imagePaths: Record<string, string>;
  const secrets = new Map(exampleSecrets().map((s) => [s.metadata?.name ?? '', secretValues(s)]));
  const processes: ManagedProcess[] = [];
  let transport: Started;
  let worker: Started;
  let cdrWeb: Started;
  let pbx: UserAgent;
  let carrier: UserAgent;
  let edge: { host: string; port: number };
  const root = mkdtempSync(join(tmpdir(), 'switchboard-k8s-'));

  async function startKubeApi(): Promise<typeof kubeApi> {
    const pki = createTestPki('Kubernetes Test CA');
    const cert = pki.issue('kube-api', ['127.0.0.1']);
    const token = 'test-service-account-token';
    const requests: string[] = [];
    const node = {
      kind: 'Node', apiVersion: 'v1',
      metadata: { name: NODE_NAME, annotations: { 'switchboard.io/public-address': PUBLIC_ADDRESS } },
      // an ExternalIP too: the annotation wins over it
      status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'ExternalIP', address: '198.51.100.9' }, { type: 'Hostname', address: NODE_NAME }] },
    };
    const server = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      const authorized = req.headers.authorization === `Bearer ${token}`;
      requests.push(`${req.method} ${req.url} ${authorized ? 'with the token' : 'without the token'}`);
      if (!authorized) res.writeHead(401).end();
      else if (req.method === 'GET' && req.url === `/api/v1/nodes/${NODE_NAME}`) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(node));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    return {
      ca: pki.ca, token, requests, port: typeof address === 'object' && address !== null ? address.port : 0,
      close: async () => {
        await new Promise((r) => server.close(r));
        rmSync(pki.dir, { recursive: true, force: true });
      },
    };
  }

  /** The chart values' users as nats-server configuration, passwords from the example Secrets. */
  function natsConfigFromChartValues(): string {
    const values = parseYaml(readFileSync(join(DEPLOY_DIR, 'nats/values-local.yaml'), 'utf8')) as {
      config: { merge: { accounts: Record<string, { users: { password: string }[] }> } };
      container: { env: Record<string, { valueFrom: { secretKeyRef: { name: string; key: string } } }> };
    };
    const accounts = structuredClone(values.config.merge.accounts);
    for (const account of Object.values(accounts)) {
      for (const user of account.users) {
        const variable = /^<< \$(\w+) >>$/.exec(user.password)?.[1] ?? '';
        const ref = values.container.env[variable]?.valueFrom.secretKeyRef;
        const password = ref === undefined ? undefined : secrets.get(ref.name)?.[ref.key];
        assert.ok(password !== undefined, `the chart's ${variable} from an example Secret`);
        user.password = password;
      }
    }
    // JSON is nats-server configuration too
    return `accounts: ${JSON.stringify(accounts)}\n`;
  }

  /**
   * Runs the pod of `w` as local processes: its init containers one after the other (each must
   * exit 0), then its container, sharing the pod's volumes (one directory per volume, as a pod's
   * emptyDir is one). `data` replaces ConfigMap contents by name.
   */
  async function start(w: Workload, opts: { rewriteConfig?: (config: Record<string, unknown>) => void; data?: Record<string, Record<string, string>>; pod?: string } = {}): Promise<Started> {
    const maps = configMaps(objects);
    const pod = opts.pod ?? 'x2k4q';
    const podName = w.object.kind === 'DaemonSet' ? `${w.name}-${pod}` : `${w.name}-7d9f8c6b5-${pod}`;
    const fields: Record<string, string> = { 'metadata.name': podName, 'metadata.namespace': 'switchboard', 'spec.nodeName': NODE_NAME, 'status.hostIP': '127.0.0.1', 'status.podIP': '127.0.0.1' };
    const volumes = new Map<string, string>();
    const volumeDir = (name: string): string => {
      const made = volumes.get(name);
      if (made !== undefined) return made;
      const volume = w.pod.volumes?.find((v) => v.name === name);
      assert.ok(volume !== undefined, `${w.name}: volume ${name}`);
      const dir = mkdtempSync(join(root, `${w.name}-${name}-`));
      for (const s of volume.projected?.sources ?? [volume]) {
        const secretName = 'secretName' in s && typeof s.secretName === 'string' ? s.secretName : undefined;
        // what the kubelet writes: the cluster's CA, the pod's token, its downward API fields
        let files: Record<string, string> | undefined = {};
        if (s.configMap?.name === 'kube-root-ca.crt') files = { 'ca.crt': kubeApi.ca };
        else if (s.configMap?.name !== undefined) files = opts.data?.[s.configMap.name] ?? maps.get(s.configMap.name);
        else if (secretName !== undefined) files = secrets.get(secretName);
        else if ('serviceAccountToken' in s && s.serviceAccountToken !== undefined) files = { [s.serviceAccountToken.path]: kubeApi.token };
        else if ('downwardAPI' in s && s.downwardAPI !== undefined) files = Object.fromEntries((s.downwardAPI.items ?? []).map((i) => [i.path, fields[i.fieldRef?.fieldPath ?? ''] ?? '']));
        assert.ok(files !== undefined, `${w.name}: the contents of volume ${name}`);
        const items = s.configMap?.items;
        for (const [key, text] of Object.entries(files)) writeFileSync(join(dir, items?.find((i) => i.key === key)?.path ?? key), text);
      }
      volumes.set(name, dir);
      return dir;
    };

    const container = async (c: IContainer, extra: Record<string, string> = {}): Promise<Started> => {
      const mounts = (c.volumeMounts ?? []).map((m) => ({ path: m.mountPath, dir: volumeDir(m.name) })).sort((a, b) => b.path.length - a.path.length);
      const local = (text: string): string => {
        for (const [image, here] of Object.entries(imagePaths)) if (text.startsWith(image)) return join(here, text.slice(image.length));
        const m = mounts.find((x) => text === x.path || text.startsWith(`${x.path}/`));
        return m === undefined ? text : m.dir + text.slice(m.path.length);
      };
      let healthPort = 0;
      const env: Record<string, string> = {};
      for (const e of c.env ?? []) {
        const from = e.valueFrom;
        let value = e.value;
        if (from?.fieldRef !== undefined) value = fields[from.fieldRef.fieldPath];
        else if (from?.secretKeyRef !== undefined) value = secrets.get(from.secretKeyRef.name ?? '')?.[from.secretKeyRef.key];
        else if (from?.configMapKeyRef !== undefined) value = maps.get(from.configMapKeyRef.name ?? '')?.[from.configMapKeyRef.key];
        assert.ok(value !== undefined, `${w.name}: a value for ${e.name}`);
        if (value === IN_CLUSTER_NATS) value = nats.url;
        if (e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT') value = collectorUrl;
        if (e.name === 'SWITCHBOARD_HEALTH_PORT') value = String((healthPort = await freePort()));
        env[e.name] = local(value);
      }
      // what the kubelet gives every container: the API's address; the token's directory mapped here
      Object.assign(env, { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(kubeApi.port), SWITCHBOARD_SERVICEACCOUNT_DIR: local(SERVICE_ACCOUNT_DIR) }, extra);
      for (const m of mounts) {
        const file = join(m.dir, 'switchboard.yaml');
        if (opts.rewriteConfig === undefined || !(c.args ?? []).includes(`${m.path}/switchboard.yaml`)) continue;
        const config = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
        opts.rewriteConfig(config);
        writeFileSync(file, stringify(config));
      }
      const args: string[] = [];
      for (const a of [...(c.command ?? []), ...(c.args ?? [])]) {
        const listen = /^0\.0\.0\.0:\d+$/.exec(a);
        args.push(listen === null ? local(a) : `127.0.0.1:${await freePort()}`);
      }
      const run = (command: readonly string[], name: string): ManagedProcess => {
        const [program, ...rest] = command.map(local);
        assert.equal(program, 'node', `${w.name}: runs node (the image's only runtime)`);
        // no NODE_PATH: a module the image lacks must not be found in the workspace
        const proc = ManagedProcess.spawn(name, process.execPath, rest, { ...env, NODE_PATH: '' });
        processes.push(proc);
        return proc;
      };
      return { proc: run(args, `${w.name}/${c.name}`), healthPort, env, run };
    };

    for (const init of w.pod.initContainers ?? []) {
      const done = await container(init);
      assert.equal(await done.proc.exited, 0, `${w.name}: init container ${init.name}:\n${done.proc.output()}`);
    }
    return container(onlyContainer(w));
  }

  async function health(s: Started, path: '/readyz' | '/livez'): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${s.healthPort}${path}`);
    await response.text();
    return response.status;
  }

  async function becomes(s: Started, path: '/readyz' | '/livez', status: number): Promise<void> {
    let last = 0;
    for (let i = 0; i < 100; i++) {
      last = await health(s, path).catch(() => 0);
      if (last === status) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`${s.proc.name} ${path}: ${last}, expected ${status}\n${s.proc.output()}`);
  }

  before(async () => {
    objects = render('overlays/local');
    const image = await imageContent();
    imagePaths = Object.fromEntries(dockerfileDeploys().map((d) => [`/app/${d.folder}/`, join(image, d.folder)]));
    nats = await startNatsServer({ config: natsConfigFromChartValues() });
    // OTLP/HTTP with JSON bodies, as @opentelemetry/exporter-trace-otlp-http sends them
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const raw = Buffer.concat(chunks);
          const body = JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString()) as {
            resourceSpans?: { resource?: { attributes?: { key: string; value: { stringValue?: string } }[] } }[];
          };
          for (const rs of body.resourceSpans ?? []) {
            const name = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
            if (name !== undefined && req.url === '/v1/traces') services.add(name);
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch (err) {
          res.writeHead(400).end(String(err));
        }
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const address = collector.address();
    collectorUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    pbx = await UserAgent.start({ name: 'pbx', host: PBX_HOST, user: '+12125550100' });
    carrier = await UserAgent.start({ name: 'carrier', host: CARRIER_HOST, user: '+13105550100' });
    kubeApi = await startKubeApi();

    // the node's own network, as hostNetwork gives it: a wildcard address on free ports, so what
    // peers see comes from SWITCHBOARD_ADVERTISE (status.hostIP) alone
    transport = await start(workload(objects, 'switchboard-transport'), {
      rewriteConfig: (config) => {
        const t = config.transport as { listen: { port: number }[] };
        for (const l of t.listen) l.port = 0;
      },
    });
    const listening = await transport.proc.waitForEvent('listening');
    const listeners = listening.listeners as { protocol: string; port: number }[];
    edge = { host: '127.0.0.1', port: listeners.find((l) => l.protocol === 'udp')?.port ?? 0 };
    worker = await start(workload(objects, 'switchboard-worker'));
    await worker.proc.waitForEvent('ready', 20_000);
    cdrWeb = await start(workload(objects, 'switchboard-cdr-web'));
    await cdrWeb.proc.waitForEvent('listening');

    // the trunking for this test's user agents, through the trunks-apply job of the manifests
    const job = await start(workload(objects, 'switchboard-trunks-apply'), {
      data: { 'switchboard-trunks': { 'trunks.yaml': JSON.stringify(acmeTrunking({ pbx: { host: PBX_HOST, port: pbx.port }, carrier: { host: CARRIER_HOST, port: carrier.port } })) } },
    });
    assert.equal(await job.proc.exited, 0, `the trunks-apply job:\n${job.proc.output()}`);
    await worker.proc.waitForEvent('config-applied');
  });

  after(async () => {
    for (const p of processes.reverse()) await p.stop('SIGINT', 3_000);
    await pbx?.stop();
    await carrier?.stop();
    await new Promise((r) => collector?.close(r));
    await nats?.stop();
    await kubeApi?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('every process is live and ready on the port its probes use', async () => {
    for (const s of [transport, worker, cdrWeb]) {
      await becomes(s, '/readyz', 200);
      assert.equal(await health(s, '/livez'), 200, `${s.proc.name} /livez`);
    }
  });

  test('a call and a blind transfer go through the transport and the worker; the transport advertises its node\'s public address', async () => {
    assert.deepEqual(kubeApi.requests, [`GET /api/v1/nodes/${NODE_NAME} with the token`], 'the init container read its own node, with the token of its volume');
    const { call, far } = await callUp(pbx, carrier, 'sip:+14155551000@acme.trunks.example', edge);
    assert.match(far.invite.headers.get('via') ?? '', new RegExp(`^SIP/2\\.0/UDP ${PUBLIC_ADDRESS.replaceAll('.', '\\.')}:${edge.port}\\b`), 'Via: the node\'s annotated public address (the init container\'s choice), not status.hostIP nor a guess from the wildcard');
    carrier.onNextInvite({ ring: 0, answerAfter: 50 });
    assert.equal((await call.refer('sip:4155552000@acme.trunks.example')).status, 202);
    const target = await carrier.nextCall();
    assert.equal(sipfragStatus(await call.waitForNotify(isFinalNotify)), 200);
    await call.hangup();
    await far.hangup();
    assert.equal((await target.ended).how, 'bye');
  });

  /** The id of an active worker the transport knows, other than `not`. */
  async function activeWorker(not?: string): Promise<string> {
    const line = await transport.proc.waitFor((l) => l.json?.event === 'worker' && l.json.state === 'active' && l.json.worker !== not, 20_000);
    return String(line.json?.worker);
  }

  test('the worker\'s preStop (handover) with a second worker of the Deployment: unready, it exits, the call goes on on the other', async () => {
    const first = worker;
    const firstId = await activeWorker();
    const second = await start(workload(objects, 'switchboard-worker'), { pod: 'q9w3t' });
    await second.proc.waitForEvent('ready', 20_000);
    const secondId = await activeWorker(firstId);
    const { call, far } = await callUp(pbx, carrier, 'sip:+14155551002@acme.trunks.example', edge, callIdLandingOn(firstId, [firstId, secondId]));
    const hook = workload(objects, 'switchboard-worker').pod.containers[0]?.lifecycle?.preStop?.exec?.command;
    assert.ok(hook !== undefined);
    const prestop = first.run(hook, 'worker-prestop-handover');
    const draining = await first.proc.waitForEvent('draining');
    // at least this call (its id lands on the first worker); the previous test's may still be ending
    assert.equal(draining.mode, 'handover');
    assert.ok(Number(draining.calls) >= 1, 'the call was on the worker that goes');
    await becomes(first, '/readyz', 503);
    assert.equal(await Promise.race([prestop.exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))]), 0, `the hook ends once the call is handed over:\n${prestop.output()}`);
    assert.equal(await first.proc.stop('SIGTERM', 10_000), 0, 'the kubelet\'s SIGTERM after the hook: a clean exit');
    assert.equal(far.state, 'confirmed');
    assert.equal((await call.request('INFO', { body: 'after the handover', contentType: 'text/plain' })).status, 200, 'the call relays on the other worker');
    assert.equal((await call.hangup()).status, 200, 'its BYE answered');
    assert.equal((await far.ended).how, 'bye');
    worker = second;
  });

  test('the worker\'s preStop with no other worker: unready at once, its call goes on, the hook returns once the call ended; SIGTERM then stops it', async () => {
    const { call, far } = await callUp(pbx, carrier, 'sip:+14155551001@acme.trunks.example', edge);
    const hook = workload(objects, 'switchboard-worker').pod.containers[0]?.lifecycle?.preStop?.exec?.command;
    assert.ok(hook !== undefined);
    const prestop = worker.run(hook, 'worker-prestop');
    await becomes(worker, '/readyz', 503);
    assert.equal(await health(worker, '/livez'), 200, 'draining is unready, never unlive');
    assert.equal((await call.request('INFO', { body: 'still here', contentType: 'text/plain' })).status, 200, 'the call in progress still relays');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(prestop.running, 'the hook holds the pod while the call lasts');
    await call.hangup();
    assert.equal((await far.ended).how, 'bye');
    assert.equal(await Promise.race([prestop.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]), 0, `the hook ends with the drain:\n${prestop.output()}`);
    assert.equal(await worker.proc.stop('SIGTERM', 10_000), 0, 'the kubelet\'s SIGTERM after the hook: a clean exit');
  });

  test('the OTLP endpoint of the manifests: the stand-in collector received spans from the transport and the worker', async () => {
    for (let i = 0; i < 150 && !(services.has(TRANSPORT_SERVICE) && services.has(WORKER_SERVICE)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(services.has(TRANSPORT_SERVICE) && services.has(WORKER_SERVICE), `services seen: ${[...services].join(', ')}`);
  });
});
