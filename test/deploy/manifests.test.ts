// The Kubernetes manifests (deploy/): each overlay rendered by `kubectl kustomize`, every object
// validated against the Kubernetes schemas, then the fields our invariants hang on checked one by
// one, since a schema lets a misspelt optional field (or a missing probe) through. The NATS chart
// values are checked against deploy/nats/permissions.conf, which stays the one source of the rules.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { Deployment, DaemonSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Service, ServiceAccount, type IContainer, type IEnvVar } from 'kubernetes-models/v1';
import { admitsAnyOf } from '../support/cidr.js';
import { parseNatsConf, type ConfMap, type ConfValue } from '../support/nats-conf.js';
import {
  baseWithoutKustomize, configMaps, DEPLOY_DIR, exampleSecrets, kubectlAvailable, onlyContainer, render,
  secretValues, switchboardWorkloads, workload, workloads, type KubeObject, type Workload,
} from '../support/manifests.js';

const KUBECTL = kubectlAvailable();
if (!KUBECTL) console.log('# SKIP kubectl kustomize: kubectl is not installed; checking deploy/base file by file instead (overlays not rendered)');

const rendered = new Map<string, KubeObject[]>();
function objects(dir: 'base' | 'overlays/local' | 'overlays/production'): KubeObject[] {
  let found = rendered.get(dir);
  if (found === undefined) rendered.set(dir, (found = KUBECTL ? render(dir) : baseWithoutKustomize()));
  return found;
}
const DIRS = KUBECTL ? (['base', 'overlays/local', 'overlays/production'] as const) : (['base'] as const);

const secrets = new Map(exampleSecrets().map((s) => [s.metadata?.name ?? '', secretValues(s)]));

/** The switchboard.yaml of a rendered ConfigMap switchboard-config (its name carries a hash). */
function switchboardConfig(all: readonly KubeObject[]): { worker: { drainTimeoutMs: number }; transport: { shutdownGraceMs: number }; jetstream: { replicas: number } } {
  const entry = [...configMaps(all)].find(([name]) => name.startsWith('switchboard-config'));
  assert.ok(entry !== undefined, 'a ConfigMap switchboard-config');
  const text = entry[1]['switchboard.yaml'];
  assert.ok(text !== undefined, 'switchboard-config has switchboard.yaml');
  return parseYaml(text) as { worker: { drainTimeoutMs: number }; transport: { shutdownGraceMs: number }; jetstream: { replicas: number } };
}

const env = (c: IContainer, name: string): IEnvVar | undefined => c.env?.find((e) => e.name === name);

/**
 * Pod CIDRs of the clusters deploy/README.md names, by their defaults: kind, minikube and kubeadm
 * with flannel; k3s and k3d; Docker Desktop. An ipBlock holding one of them would let every pod of
 * such a cluster in where only the transport nodes belong.
 */
const DOCUMENTED_POD_CIDRS = ['10.244.0.0/16', '10.42.0.0/16', '10.1.0.0/16'];

/** Every ipBlock of the policies and the pod CIDRs its policy's annotation says no block may admit. */
function ipBlocks(all: readonly KubeObject[]): { policy: string; block: { cidr: string; except?: string[] | undefined }; podCidrs: string[] }[] {
  const out: ReturnType<typeof ipBlocks> = [];
  for (const p of all) {
    if (!(p instanceof NetworkPolicy)) continue;
    const annotated = (p.metadata?.annotations?.['switchboard.io/pod-cidrs'] ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');
    const peers = [...(p.spec?.ingress ?? []).flatMap((r) => r.from ?? []), ...(p.spec?.egress ?? []).flatMap((r) => r.to ?? [])];
    for (const peer of peers) {
      if (peer.ipBlock !== undefined) out.push({ policy: p.metadata?.name ?? '', block: peer.ipBlock, podCidrs: [...DOCUMENTED_POD_CIDRS, ...annotated] });
    }
  }
  return out;
}

/** Seconds a preStop holds the pod before SIGTERM: `sleep n`, or the worker's drain. */
function preStopSeconds(w: Workload, c: IContainer, config: ReturnType<typeof switchboardConfig>): number {
  const command = c.lifecycle?.preStop?.exec?.command ?? [];
  if (command[0] === 'sleep') return Number(command[1]);
  if (command.some((part) => part.endsWith('prestop.js'))) return config.worker.drainTimeoutMs / 1000;
  assert.fail(`${w.name}: a preStop we cannot time: ${JSON.stringify(command)}`);
}

/** Seconds the process takes to stop after SIGTERM, at most (main.ts: NATS stop ≤ 5 s; the transport's TCP grace first). */
function stopSeconds(w: Workload, config: ReturnType<typeof switchboardConfig>): number {
  return w.name === 'switchboard-transport' ? config.transport.shutdownGraceMs / 1000 + 5 : 5;
}

for (const dir of DIRS) {
  describe(`deploy/${dir}: rendered, schema-valid, and the invariants`, () => {
    test('every object is valid against its Kubernetes schema (kubernetes-models)', () => {
      assert.ok(objects(dir).length > 0);
    });

    test('transport: a hostNetwork DaemonSet on the SIP pool with UDP and TCP 5060 and an advertised address', () => {
      const t = workload(objects(dir), 'switchboard-transport');
      assert.ok(t.object instanceof DaemonSet);
      assert.equal(t.pod.hostNetwork, true);
      assert.equal(t.pod.dnsPolicy, 'ClusterFirstWithHostNet', 'cluster names (nats, the collector) resolve from the host network');
      assert.ok(Object.keys(t.pod.nodeSelector ?? {}).length > 0, 'a nodeSelector for the SIP pool');
      assert.ok((t.pod.tolerations ?? []).length > 0, 'tolerates the SIP pool\'s taint');
      const c = onlyContainer(t);
      for (const protocol of ['UDP', 'TCP']) {
        const port = c.ports?.find((p) => p.protocol === protocol && p.containerPort === 5060);
        assert.ok(port !== undefined, `${protocol} 5060`);
        assert.equal(port.hostPort, 5060, `${protocol} 5060 on the node`);
      }
      if (KUBECTL) {
        // SIP over TLS comes from a kustomize patch (transport-tls.yaml): only a rendered DaemonSet has it
        const tlsPort = c.ports?.find((p) => p.protocol === 'TCP' && p.containerPort === 5061);
        assert.equal(tlsPort?.hostPort, 5061, 'TCP 5061 (SIP over TLS) on the node');
      }
      assert.equal(env(c, 'SWITCHBOARD_TRANSPORT_ID_FROM')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'one id per node');
    });

    test('transport: every TLS listener\'s files come from a mounted Secret of secrets.example.yaml, on a port the node exposes', { skip: !KUBECTL && 'the TLS patch needs kustomize' }, () => {
      const all = objects(dir);
      const t = workload(all, 'switchboard-transport');
      const c = onlyContainer(t);
      const entry = [...configMaps(all)].find(([name]) => name.startsWith('switchboard-config'));
      const config = parseYaml(entry?.[1]['switchboard.yaml'] ?? '') as { transport: { listen: { protocol: string; port?: number; tls?: Record<string, string> }[] } };
      for (const l of config.transport.listen.filter((x) => x.protocol === 'tls')) {
        const port = l.port ?? 5061;
        assert.ok(c.ports?.some((p) => p.protocol === 'TCP' && p.containerPort === port && p.hostPort === port), `TLS listener port ${port} exposed on the node`);
        for (const field of ['certFile', 'keyFile', 'caFile'] as const) {
          const file = l.tls?.[field];
          if (file === undefined) continue;
          const mount = c.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
          assert.ok(mount !== undefined, `${field} ${file} is under a mount`);
          const secretName = t.pod.volumes?.find((v) => v.name === mount.name)?.secret?.secretName;
          assert.ok(secretName !== undefined, `${file}: mounted from a Secret`);
          assert.ok(secrets.get(secretName)?.[file.slice(mount.mountPath.length + 1)] !== undefined, `${file}: a key of Secret ${secretName} in secrets.example.yaml`);
        }
      }
    });

    test('transport: the advertised address per node, from an init container that reads the node (annotation > ExternalIP > status.hostIP)', () => {
      const all = objects(dir);
      const t = workload(all, 'switchboard-transport');
      const c = onlyContainer(t);
      const init = t.pod.initContainers?.find((i) => i.command?.includes('/app/transport/dist/advertise-init.js'));
      assert.ok(init !== undefined, 'an init container running advertise-init.js');
      assert.equal(env(init, 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'it reads its own node');
      assert.equal(env(init, 'HOST_IP')?.valueFrom?.fieldRef?.fieldPath, 'status.hostIP', 'the private side, the last resort');
      const file = env(c, 'SWITCHBOARD_ADVERTISE_FILE')?.value ?? '';
      assert.equal(env(init, 'SWITCHBOARD_ADVERTISE_FILE')?.value, file, 'the transport reads the file the init container writes');
      assert.equal(env(c, 'SWITCHBOARD_ADVERTISE'), undefined, 'no second source that the file would silently override');
      const mountOf = (x: IContainer) => x.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
      const [written, read] = [mountOf(init), mountOf(c)];
      assert.ok(written !== undefined && read !== undefined && written.name === read.name, 'one volume holds the file for both');
      assert.notEqual(written.readOnly, true);
      assert.ok(t.pod.volumes?.find((v) => v.name === written.name)?.emptyDir !== undefined, 'an emptyDir: per pod, gone with it');

      // the API token: the init container's alone, its service account allowed to get nodes and nothing else
      assert.equal(t.pod.automountServiceAccountToken, false, 'no token in the transport container');
      const tokenVolumes = (t.pod.volumes ?? []).filter((v) => v.projected?.sources?.some((s) => s.serviceAccountToken !== undefined)).map((v) => v.name);
      assert.deepEqual(c.volumeMounts?.filter((m) => tokenVolumes.includes(m.name)) ?? [], [], 'the transport does not mount the token');
      assert.ok(init.volumeMounts?.some((m) => tokenVolumes.includes(m.name) && m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount'), 'the init container does, where clients look');
      const account = t.pod.serviceAccountName ?? 'default';
      assert.ok(all.some((o) => o instanceof ServiceAccount && o.metadata?.name === account), `the ServiceAccount ${account}`);
      const bindings = all.filter((o) => o instanceof ClusterRoleBinding && o.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === t.object.metadata?.namespace));
      assert.equal(bindings.length, 1, `one ClusterRoleBinding of ${account}`);
      const binding = bindings[0];
      assert.ok(binding instanceof ClusterRoleBinding);
      const role = all.find((o) => o instanceof ClusterRole && o.metadata?.name === binding.roleRef.name);
      assert.ok(role instanceof ClusterRole && binding.roleRef.kind === 'ClusterRole');
      assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }], 'get nodes, nothing else');
    });

    test('workers: a Deployment on the pod network, with a unique id per pod, resources and spread', () => {
      const w = workload(objects(dir), 'switchboard-worker');
      assert.ok(w.object instanceof Deployment);
      assert.notEqual(w.pod.hostNetwork, true);
      const c = onlyContainer(w);
      assert.equal(env(c, 'SWITCHBOARD_WORKER_ID_FROM')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
      assert.ok(c.resources?.requests?.cpu !== undefined && c.resources.limits?.memory !== undefined, 'requests and limits');
      const spread = w.pod.topologySpreadConstraints ?? [];
      assert.ok(spread.some((s) => s.topologyKey === 'kubernetes.io/hostname' && s.labelSelector?.matchLabels?.['app.kubernetes.io/name'] === 'switchboard-worker'), 'spread across nodes');
    });

    test('every long-running pod: distinct readiness and liveness probes on the health port, a preStop, a grace period covering it', () => {
      const config = switchboardConfig(objects(dir));
      const long = switchboardWorkloads(objects(dir)).filter((w) => w.longRunning);
      assert.deepEqual(long.map((w) => w.name).sort(), ['switchboard-cdr-web', 'switchboard-transport', 'switchboard-worker']);
      for (const w of long) {
        const c = onlyContainer(w);
        assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${w.name}: readiness`);
        assert.equal(c.livenessProbe?.httpGet?.path, '/livez', `${w.name}: liveness, separate: draining makes a pod unready, never killed`);
        const healthPort = c.ports?.find((p) => p.name === 'health');
        for (const probe of [c.readinessProbe, c.livenessProbe]) assert.equal(probe?.httpGet?.port, 'health', `${w.name}: probes on the named health port`);
        assert.equal(String(healthPort?.containerPort), env(c, 'SWITCHBOARD_HEALTH_PORT')?.value, `${w.name}: the process serves health where the probes look`);
        assert.ok(c.lifecycle?.preStop?.exec?.command !== undefined, `${w.name}: a preStop`);
        const needed = preStopSeconds(w, c, config) + stopSeconds(w, config);
        assert.ok((w.pod.terminationGracePeriodSeconds ?? 30) >= needed, `${w.name}: grace period ${w.pod.terminationGracePeriodSeconds} s < preStop + stop ${needed} s`);
      }
    });

    test('the worker\'s preStop drains it (slow now; handover is one value away)', () => {
      const c = onlyContainer(workload(objects(dir), 'switchboard-worker'));
      assert.deepEqual(c.lifecycle?.preStop?.exec?.command, ['node', '/app/worker/dist/prestop.js', 'handover']);
    });

    test('the PDB and the HPA select the worker Deployment; the HPA scales on CPU and down slowly', () => {
      const all = objects(dir);
      const worker = workload(all, 'switchboard-worker');
      const labels = worker.template.metadata?.labels ?? {};
      const pdbs = all.filter((o) => o instanceof PodDisruptionBudget);
      assert.equal(pdbs.length, 1);
      const pdb = pdbs[0];
      assert.ok(pdb instanceof PodDisruptionBudget);
      assert.equal(pdb.spec?.maxUnavailable, 1);
      const selector = pdb.spec?.selector?.matchLabels ?? {};
      assert.ok(Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v), 'the PDB selects the worker pods');
      const hpa = all.find((o) => o instanceof HorizontalPodAutoscaler);
      assert.ok(hpa instanceof HorizontalPodAutoscaler);
      assert.deepEqual(hpa.spec?.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'switchboard-worker' });
      assert.ok(hpa.spec?.metrics?.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu'), 'on CPU');
      const down = hpa.spec?.behavior?.scaleDown;
      assert.ok((down?.stabilizationWindowSeconds ?? 0) >= 600, 'stabilization ≥ 10 min');
      assert.deepEqual(down?.policies, [{ type: 'Pods', value: 1, periodSeconds: 60 }], 'one pod a minute');
      const target = worker.object;
      assert.ok(target instanceof Deployment);
      assert.equal(target.spec?.replicas, undefined, 'the HPA owns the count: no spec.replicas for every apply to put back');
    });

    test('every Service selects the pods of one workload and sends to a port their container names', () => {
      const services = objects(dir).filter((o) => o instanceof Service);
      assert.ok(services.some((s) => s.metadata?.name === 'switchboard-cdr-web'), 'the CDR page\'s Service');
      for (const svc of services) {
        const selector = svc.spec?.selector ?? {};
        assert.ok(Object.keys(selector).length > 0, `${svc.metadata?.name}: a selector`);
        const selected = workloads(objects(dir)).filter((w) => Object.entries(selector).every(([k, v]) => w.template.metadata?.labels?.[k] === v));
        assert.equal(selected.length, 1, `${svc.metadata?.name}: selects the pods of one workload`);
        const ports = selected[0]?.pod.containers.flatMap((c) => c.ports ?? []) ?? [];
        for (const p of svc.spec?.ports ?? []) {
          const to = p.targetPort ?? p.port;
          assert.ok(ports.some((cp) => (typeof to === 'string' ? cp.name === to : cp.containerPort === to) && (cp.protocol ?? 'TCP') === (p.protocol ?? 'TCP')), `${svc.metadata?.name} port ${p.name}: targetPort ${to} is a container port of ${selected[0]?.name}`);
        }
      }
    });

    test('every secretKeyRef names a Secret and key of deploy/secrets.example.yaml; every configMapKeyRef a rendered ConfigMap', () => {
      const maps = configMaps(objects(dir));
      for (const w of workloads(objects(dir))) {
        for (const c of [...w.pod.containers, ...(w.pod.initContainers ?? [])]) {
          for (const e of c.env ?? []) {
            const s = e.valueFrom?.secretKeyRef;
            if (s !== undefined) assert.ok(secrets.get(s.name ?? '')?.[s.key] !== undefined, `${w.name} ${e.name}: Secret ${s.name} key ${s.key}`);
            const m = e.valueFrom?.configMapKeyRef;
            if (m !== undefined) assert.ok(maps.get(m.name ?? '')?.[m.key] !== undefined, `${w.name} ${e.name}: ConfigMap ${m.name} key ${m.key}`);
          }
        }
        for (const v of w.pod.volumes ?? []) {
          const sources = [...(v.projected?.sources ?? []), v];
          for (const s of sources) {
            // kube-root-ca.crt: the cluster's CA, which Kubernetes publishes in every namespace
            if (s.configMap?.name !== undefined && s.configMap.name !== 'kube-root-ca.crt') assert.ok(maps.has(s.configMap.name), `${w.name} volume ${v.name}: ConfigMap ${s.configMap.name}`);
            const secretName = 'secret' in s && s.secret !== undefined ? ('secretName' in s.secret ? s.secret.secretName : 'name' in s.secret ? s.secret.name : undefined) : undefined;
            if (secretName !== undefined) assert.ok(secrets.has(secretName), `${w.name} volume ${v.name}: Secret ${secretName}`);
          }
        }
      }
    });

    test('NetworkPolicy: no ipBlock lets in an address of a documented pod CIDR (the policy\'s annotation, the common defaults)', () => {
      const blocks = ipBlocks(objects(dir));
      assert.ok(blocks.some((b) => b.policy === 'nats'), 'the nats policy admits the transport nodes by address');
      const nats = objects(dir).find((o) => o instanceof NetworkPolicy && o.metadata?.name === 'nats');
      assert.ok((nats?.metadata?.annotations?.['switchboard.io/pod-cidrs'] ?? '') !== '', 'the nats policy says which pod CIDR it keeps out');
      for (const { policy, block, podCidrs } of blocks) {
        for (const pods of podCidrs) assert.ok(!admitsAnyOf(block, pods), `${policy}: ipBlock ${JSON.stringify(block)} lets in pods of ${pods}`);
      }
    });

    test('every Switchboard container (Deployments, DaemonSet, the CronJob\'s job, init containers) has the OTLP endpoint', () => {
      const maps = configMaps(objects(dir));
      const all = switchboardWorkloads(objects(dir));
      assert.ok(all.some((w) => !w.longRunning), 'the trunks-apply CronJob is among them');
      for (const [w, c] of all.flatMap((x) => [...x.pod.containers, ...(x.pod.initContainers ?? [])].map((c) => [x, c] as const))) {
        const e = env(c, 'OTEL_EXPORTER_OTLP_ENDPOINT');
        assert.ok(e !== undefined, `${w.name} ${c.name}: OTEL_EXPORTER_OTLP_ENDPOINT`);
        const ref = e.valueFrom?.configMapKeyRef;
        const value = e.value ?? (ref === undefined ? undefined : maps.get(ref.name ?? '')?.[ref.key]);
        if (dir !== 'base') assert.match(value ?? '', /^https?:\/\/\S+$/, `${w.name}: an endpoint in ${dir}`);
      }
    });
  });
}

if (KUBECTL) {
  describe('the overlays: what differs by environment', () => {
    test('local: Jaeger all-in-one is the OTLP endpoint; one replica of every stream and bucket', () => {
      const all = objects('overlays/local');
      const jaeger = workload(all, 'jaeger');
      assert.match(onlyContainer(jaeger).image ?? '', /^jaegertracing\//);
      const endpoint = [...configMaps(all)].find(([name]) => name.startsWith('switchboard-telemetry'))?.[1]['otlp-endpoint'];
      assert.equal(endpoint, 'http://jaeger:4318');
      assert.equal(switchboardConfig(all).jetstream.replicas, 1);
    });

    test('production: three replicas of every stream and bucket; a pinned image, never latest', () => {
      const all = objects('overlays/production');
      assert.equal(switchboardConfig(all).jetstream.replicas, 3);
      for (const w of workloads(all)) {
        for (const c of [...w.pod.containers, ...(w.pod.initContainers ?? [])]) {
          const image = c.image ?? '';
          const tag = /:([^:/@]+)$/.exec(image)?.[1];
          assert.ok(tag !== undefined || image.includes('@sha256:'), `${w.name}: ${image} has a tag or digest`);
          assert.notEqual(tag, 'latest', `${w.name}: ${image}`);
        }
      }
    });

    test('NetworkPolicy: workers reach only NATS, DNS and the OTLP collector; NATS takes clients only from the cluster\'s processes', () => {
      for (const dir of ['overlays/local', 'overlays/production'] as const) {
        const policies = objects(dir).filter((o) => o instanceof NetworkPolicy);
        const worker = policies.find((p) => p.spec?.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'switchboard-worker');
        assert.ok(worker?.spec?.policyTypes?.includes('Egress') === true, `${dir}: the workers' egress is restricted`);
        const ports = (worker?.spec?.egress ?? []).map((rule) => (rule.ports ?? []).map((p) => p.port).sort().join(','));
        assert.deepEqual(ports, ['4222', '53,53', '4317,4318'], `${dir}: NATS, DNS, OTLP and nothing else`);
        const nats = policies.find((p) => p.spec?.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'nats');
        const clients = nats?.spec?.ingress?.find((rule) => rule.ports?.some((p) => p.port === 4222));
        assert.ok(clients?.from?.some((f) => f.podSelector?.matchLabels?.['app.kubernetes.io/part-of'] === 'switchboard'), `${dir}: the Switchboard pods`);
        assert.ok(clients?.from?.some((f) => f.ipBlock !== undefined), `${dir}: the transport nodes' addresses (hostNetwork)`);
      }
    });
  });
}

describe('the ipBlock check', () => {
  test('rejects a block holding a pod CIDR (the former 10.0.0.0/8, all of RFC 1918) unless it is excepted', () => {
    assert.equal(admitsAnyOf({ cidr: '10.0.0.0/8' }, '10.244.0.0/16'), true);
    assert.equal(admitsAnyOf({ cidr: '192.168.0.0/16' }, '192.168.0.0/16'), true);
    assert.equal(admitsAnyOf({ cidr: '10.244.3.0/24' }, '10.244.0.0/16'), true, 'a block inside the pod CIDR');
    assert.equal(admitsAnyOf({ cidr: '10.0.0.0/8', except: ['10.244.0.0/16'] }, '10.244.0.0/16'), false);
    assert.equal(admitsAnyOf({ cidr: '10.0.0.0/8', except: ['10.244.0.0/17'] }, '10.244.0.0/16'), true, 'half excepted');
    assert.equal(admitsAnyOf({ cidr: '172.16.0.0/12' }, '10.244.0.0/16'), false);
    assert.equal(admitsAnyOf({ cidr: 'fd00::/8' }, '10.244.0.0/16'), false, 'another family');
    assert.equal(admitsAnyOf({ cidr: 'fd00::/8' }, 'fd00:10:244::/56'), true);
  });
});

describe('deploy/secrets.example.yaml: the shape, no real secret', () => {
  test('one NATS credential per process role and the routing secret, with placeholder values', () => {
    for (const role of ['transport', 'worker', 'config-writer', 'admin', 'cdr-web']) {
      assert.equal(secrets.get(`switchboard-nats-${role}`)?.username, role, `the ${role} user`);
    }
    assert.ok((secrets.get('switchboard-routing')?.secret ?? '').length >= 16, 'a routing secret the processes accept (16+ characters)');
    for (const [name, values] of secrets) {
      for (const [key, value] of Object.entries(values)) {
        if (key === 'username') continue;
        assert.match(value, /example.*replace-me/, `${name}.${key} is a placeholder`);
      }
    }
  });
});

describe('deploy/nats: the chart values carry the users and permissions of permissions.conf', () => {
  /** deploy/nats/nats-server.conf with its include inlined: the users, permissions resolved. */
  function serverConfUsers(): ConfValue[] {
    const text = readFileSync(join(DEPLOY_DIR, 'nats/nats-server.conf'), 'utf8')
      .replace('include "permissions.conf"', () => readFileSync(join(DEPLOY_DIR, 'nats/permissions.conf'), 'utf8'));
    const accounts = parseNatsConf(text).accounts as ConfMap;
    return (accounts.SWITCHBOARD as ConfMap).users as ConfValue[];
  }

  interface Values {
    config: { cluster: { enabled: boolean; replicas?: number }; jetstream: { enabled: boolean; fileStore: { enabled: boolean; pvc: { enabled: boolean } } }; merge: { accounts: { SWITCHBOARD: { jetstream: string; users: { user: string; password: string; permissions: ConfMap }[] } } } };
    container: { env: Record<string, { valueFrom: { secretKeyRef: { name: string; key: string } } }>; patch?: unknown[] };
    podTemplate?: { patch?: { value?: { emptyDir?: unknown } }[] };
    podDisruptionBudget?: { enabled: boolean };
  }
  const values = (env: string): Values => parseYaml(readFileSync(join(DEPLOY_DIR, `nats/values-${env}.yaml`), 'utf8')) as Values;

  for (const env of ['local', 'production']) {
    test(`values-${env}.yaml: the same users with the same permissions as nats-server.conf, passwords from the example Secrets`, () => {
      const v = values(env);
      assert.equal(v.config.jetstream.enabled, true);
      const account = v.config.merge.accounts.SWITCHBOARD;
      assert.equal(account.jetstream, 'enabled');
      const expected = serverConfUsers().map((u) => {
        const { user, password, permissions } = u as ConfMap;
        return { user, password: `<< ${String(password)} >>`, permissions };
      });
      assert.deepEqual(account.users, expected);
      for (const u of account.users) {
        const variable = /^<< \$(\w+) >>$/.exec(u.password)?.[1] ?? '';
        const ref = v.container.env[variable]?.valueFrom.secretKeyRef;
        assert.ok(ref !== undefined, `${variable} comes from a Secret`);
        assert.equal(secrets.get(ref.name)?.username, u.user, `${variable}: the Secret of user ${u.user}`);
        assert.ok(secrets.get(ref.name)?.[ref.key] !== undefined);
      }
    });
  }

  test('values-local.yaml: one server, JetStream on an emptyDir', () => {
    const v = values('local');
    assert.equal(v.config.cluster.enabled, false);
    assert.equal(v.config.jetstream.fileStore.pvc.enabled, false);
    assert.ok(v.podTemplate?.patch?.some((p) => p.value?.emptyDir !== undefined), 'an emptyDir volume for the store');
  });

  test('values-production.yaml: three servers, JetStream on persistent volumes, the chart\'s PDB', () => {
    const v = values('production');
    assert.equal(v.config.cluster.enabled, true);
    assert.equal(v.config.cluster.replicas, 3);
    assert.equal(v.config.jetstream.fileStore.pvc.enabled, true);
    assert.equal(v.podDisruptionBudget?.enabled, true);
  });
});
