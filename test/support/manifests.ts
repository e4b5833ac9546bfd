// The Kubernetes manifests of deploy/ as objects: rendered by `kubectl kustomize`, each one
// validated against the Kubernetes schemas (kubernetes-models, offline), typed by its kind.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { CronJob } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { IContainer, IPodSpec, IPodTemplateSpec } from 'kubernetes-models/v1';
import { repoRoot } from './paths.js';

export const DEPLOY_DIR = join(repoRoot, 'deploy');

/** Every kind the manifests may hold; anything else fails the validation (no schema checked it). */
export type KubeObject =
  | DaemonSet | Deployment | HorizontalPodAutoscaler | CronJob | NetworkPolicy | PodDisruptionBudget
  | ConfigMap | Namespace | Secret | Service | ServiceAccount | ClusterRole | ClusterRoleBinding;

/** A typed, schema-validated object; throws naming the object and the schema's complaint. */
export function validated(raw: unknown, where: string): KubeObject {
  const object = typed(raw);
  if (object === undefined) {
    const meta = raw !== null && typeof raw === 'object' ? raw : {};
    throw new Error(`${where}: no schema for ${'apiVersion' in meta ? String(meta.apiVersion) : '?'} ${'kind' in meta ? String(meta.kind) : '?'}`);
  }
  try {
    object.validate();
  } catch (err) {
    throw new Error(`${where}: ${object.kind} ${object.metadata?.name ?? '?'}: ${(err as Error).message}`);
  }
  return object;
}

function typed(raw: unknown): KubeObject | undefined {
  if (DaemonSet.is(raw)) return new DaemonSet(raw);
  if (Deployment.is(raw)) return new Deployment(raw);
  if (HorizontalPodAutoscaler.is(raw)) return new HorizontalPodAutoscaler(raw);
  if (CronJob.is(raw)) return new CronJob(raw);
  if (NetworkPolicy.is(raw)) return new NetworkPolicy(raw);
  if (PodDisruptionBudget.is(raw)) return new PodDisruptionBudget(raw);
  if (ConfigMap.is(raw)) return new ConfigMap(raw);
  if (Namespace.is(raw)) return new Namespace(raw);
  if (Secret.is(raw)) return new Secret(raw);
  if (Service.is(raw)) return new Service(raw);
  if (ServiceAccount.is(raw)) return new ServiceAccount(raw);
  if (ClusterRole.is(raw)) return new ClusterRole(raw);
  if (ClusterRoleBinding.is(raw)) return new ClusterRoleBinding(raw);
  return undefined;
}

/** The documents of a multi-document YAML text, empty ones left out. */
export function yamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined);
}

export function kubectlAvailable(): boolean {
  return spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
}

/** `kubectl kustomize deploy/<dir>`, parsed and validated. */
export function render(dir: string): KubeObject[] {
  const run = spawnSync('kubectl', ['kustomize', join(DEPLOY_DIR, dir)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`kubectl kustomize deploy/${dir} failed: ${run.stderr}`);
  return yamlDocuments(run.stdout).map((raw, i) => validated(raw, `deploy/${dir} (document ${i})`));
}

/**
 * deploy/base without kustomize: its resources read as they are and its ConfigMaps made from the
 * generators (names without the content hash), for when kubectl is missing.
 */
export function baseWithoutKustomize(): KubeObject[] {
  const dir = join(DEPLOY_DIR, 'base');
  const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
    configMapGenerator?: { name: string; files?: string[]; literals?: string[] }[];
  };
  const objects: KubeObject[] = [];
  for (const file of kustomization.resources) {
    yamlDocuments(readFileSync(join(dir, file), 'utf8')).forEach((raw, i) => objects.push(validated(raw, `deploy/base/${file} (document ${i})`)));
  }
  for (const g of kustomization.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const f of g.files ?? []) data[f] = readFileSync(join(dir, f), 'utf8');
    for (const l of g.literals ?? []) data[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
    objects.push(validated({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name }, data }, `deploy/base generator ${g.name}`));
  }
  return objects;
}

/** deploy/secrets.example.yaml, validated. */
export function exampleSecrets(): Secret[] {
  const file = join(DEPLOY_DIR, 'secrets.example.yaml');
  return yamlDocuments(readFileSync(file, 'utf8')).map((raw, i) => {
    const object = validated(raw, `deploy/secrets.example.yaml (document ${i})`);
    if (!(object instanceof Secret)) throw new Error(`deploy/secrets.example.yaml: ${object.kind} is not a Secret`);
    return object;
  });
}

/** A Secret's values as text (stringData, or data decoded). */
export function secretValues(secret: Secret): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) values[k] = Buffer.from(v, 'base64').toString('utf8');
  return { ...values, ...secret.stringData };
}

/** A workload that runs pods: the objects with a pod template. */
export interface Workload {
  object: DaemonSet | Deployment | CronJob;
  name: string;
  template: IPodTemplateSpec;
  pod: IPodSpec;
  /** Runs until stopped (not a job). */
  longRunning: boolean;
}

export function workloads(objects: readonly KubeObject[]): Workload[] {
  const out: Workload[] = [];
  for (const object of objects) {
    const template = object instanceof CronJob ? object.spec?.jobTemplate.spec?.template : object instanceof DaemonSet || object instanceof Deployment ? object.spec?.template : undefined;
    if (template?.spec === undefined || !(object instanceof CronJob || object instanceof DaemonSet || object instanceof Deployment)) continue;
    out.push({ object, name: object.metadata?.name ?? '', template, pod: template.spec, longRunning: !(object instanceof CronJob) });
  }
  return out;
}

/** The workloads of Switchboard itself (label app.kubernetes.io/part-of: switchboard), not Jaeger. */
export function switchboardWorkloads(objects: readonly KubeObject[]): Workload[] {
  return workloads(objects).filter((w) => w.template.metadata?.labels?.['app.kubernetes.io/part-of'] === 'switchboard');
}

export function workload(objects: readonly KubeObject[], name: string): Workload {
  const found = workloads(objects).find((w) => w.name === name);
  if (found === undefined) throw new Error(`no workload ${name}`);
  return found;
}

export function onlyContainer(w: Workload): IContainer {
  const [container, ...more] = w.pod.containers;
  if (container === undefined || more.length > 0) throw new Error(`${w.name}: expected one container`);
  return container;
}

export function configMaps(objects: readonly KubeObject[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const o of objects) if (o instanceof ConfigMap) out.set(o.metadata?.name ?? '', o.data ?? {});
  return out;
}

export function envValue(container: IContainer, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}
