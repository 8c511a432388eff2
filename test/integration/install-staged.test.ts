// The staged install and the uninstall, as a user runs them (config/install.sh, what `make deploy`
// runs, and config/uninstall.sh), against the local control plane: no webhook is registered before
// the manager is Ready, so a manager that never starts blocks no pod; the uninstall removes the
// webhooks first and lets the controller finish every Rollout before the CRD goes. The manager's
// pods run on kwok's fake node: they become Ready without running a container, and the webhooks
// they "serve" are unreachable, which is how a registered webhook shows itself here (fail closed).
// The controller that finishes the Rollouts runs as a local process (`switchboard run --no-webhook`).
import { AdmissionregistrationV1Api, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT, resolveBinaries } from '../harness/binaries.ts';
import { goModuleDir } from '../harness/go-module.ts';
import { createNamespace, deleteNamespace, ensureNamespace, eventually, installCrds, kubectl, podRefusal, testCluster } from './support/cluster.ts';
import { deployPaymentsRouting, startController, type ControllerProcess } from './support/rollout-env.ts';
import { canaryWeightOf, rolloutScenarios } from './support/rollout-scenario.ts';

const cluster = testCluster();
const admission = cluster.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
const NAMESPACE = 'switchboard-system';
const IMAGE = 'registry.example/switchboard:0.1.0';
const PROMETHEUS_URL = 'http://prometheus.monitoring:9090';
const CERT_MANAGER = { module: 'github.com/cert-manager/cert-manager', version: 'v1.21.2' };
const CERT_MANAGER_CRDS = ['certificates.cert-manager.io', 'issuers.cert-manager.io'];
const scratch = mkdtempSync(join(tmpdir(), 'switchboard-staged-'));
const namespaces: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
const { readRollout, readVirtualService, createRollout, changeImage, waitForPhase } = rolloutScenarios(cluster, () => {
  throw new Error('these Rollouts run no analysis');
}, cleanups);

interface ScriptRun { code: number; stderr: string }

/** Runs config/<script> with the test cluster's kubectl first on PATH; never rejects. */
function runScript(script: string, args: string[]): Promise<ScriptRun> {
  const kubectlDir = dirname(process.env.KUBECTL ?? resolveBinaries().paths.kubectl);
  return new Promise((resolve) => {
    execFile(join(PROJECT_ROOT, 'config', script), [...args, '--kubeconfig', inject('kubeconfig')], {
      env: { ...process.env, PATH: `${kubectlDir}:${process.env.PATH}`, KUBECTL: 'kubectl' }, maxBuffer: 16 << 20,
    }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }));
  });
}

const install = (...extra: string[]) => runScript('install.sh', ['--image', IMAGE, '--ca-dir', join(scratch, 'ca'), ...extra]);

async function webhookConfigurationsPresent(): Promise<string[]> {
  const mutating = await admission.listMutatingWebhookConfiguration();
  const validating = await admission.listValidatingWebhookConfiguration();
  return [...mutating.items, ...validating.items].map((c) => c.metadata?.name ?? '').filter((name) => name.startsWith('switchboard-'));
}

function pod(name: string, labels: Record<string, string> = {}): V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } };
}

function refusalOf(namespace: string, name: string, labels: Record<string, string> = {}): Promise<string | undefined> {
  return podRefusal(cluster, namespace, pod(name, labels));
}

async function namespaceWith(labels: Record<string, string>): Promise<string> {
  const name = await createNamespace(cluster, 'staged', labels);
  namespaces.push(name);
  return name;
}

async function gone(what: string, read: () => Promise<unknown>, timeoutMs = 120_000): Promise<void> {
  await eventually(what, async () => read().then(() => false, () => true), timeoutMs);
}

async function removeCertManagerCrds(): Promise<void> {
  await kubectl(['delete', 'crd', '--ignore-not-found', ...CERT_MANAGER_CRDS]);
  for (const name of CERT_MANAGER_CRDS) await gone(`CRD ${name} gone`, () => cluster.apiextensions.readCustomResourceDefinition({ name }));
}

/** Whatever an earlier run or suite left: the webhooks first, so nothing below waits on them. */
async function removeSwitchboard(): Promise<void> {
  await admission.deleteMutatingWebhookConfiguration({ name: 'switchboard-injector' }).catch(() => undefined);
  await admission.deleteValidatingWebhookConfiguration({ name: 'switchboard-proxy-uid-guard' }).catch(() => undefined);
  await cluster.core.deleteNamespace({ name: NAMESPACE }).catch(() => undefined);
  await gone(`namespace ${NAMESPACE} gone`, () => cluster.core.readNamespace({ name: NAMESPACE }));
}

beforeAll(async () => {
  await removeSwitchboard();
  await ensureNamespace(cluster, 'istio-system');
  await installCrds(cluster, ['crds/istio/networking.istio.io_virtualservices.yaml', 'crds/istio/networking.istio.io_destinationrules.yaml']);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await removeSwitchboard();
  for (const namespace of namespaces) await deleteNamespace(cluster, namespace);
  // Other suites install the Rollout CRD they need; the uninstall test removed it.
  rmSync(scratch, { recursive: true, force: true });
});

describe('config/install.sh: the manager first, the webhooks once it is Ready', () => {
  it('refuses to start without cert-manager, applying nothing, and says how to go on', async () => {
    await removeCertManagerCrds();
    const run = await install();
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cert-manager is not installed');
    expect(run.stderr).toContain('--without-cert-manager');
    await expect(cluster.core.readNamespace({ name: NAMESPACE })).rejects.toThrow();
    expect(await webhookConfigurationsPresent()).toEqual([]);
  });

  it('refuses an image without a tag, and the placeholder, before touching the cluster', async () => {
    for (const image of ['registry.example/switchboard', 'image-not-set.invalid/switchboard:0.1.0']) {
      const run = await runScript('install.sh', ['--image', image, '--without-cert-manager']);
      expect(run.code, run.stderr).toBe(1);
    }
    await expect(cluster.core.readNamespace({ name: NAMESPACE })).rejects.toThrow();
  });

  it('registers no webhook while the manager is not Ready, so mesh pods are still created', async () => {
    // The manager's pods are never admitted: a quota of zero pods in its namespace.
    await cluster.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await cluster.core.createNamespacedResourceQuota({ namespace: NAMESPACE, body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } } });
    const run = await install('--without-cert-manager', '--timeout', '15');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('the webhooks were NOT registered');
    expect(run.stderr).toContain('exceeded quota');
    const deployment = await cluster.apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'switchboard-controller' });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe(IMAGE);
    expect(deployment.status?.readyReplicas ?? 0).toBe(0);
    expect(await webhookConfigurationsPresent()).toEqual([]);

    const mesh = await namespaceWith({ 'istio-injection': 'enabled' });
    const revision = await namespaceWith({ 'istio.io/rev': 'default' });
    const plain = await namespaceWith({});
    expect(await refusalOf(mesh, 'while-not-ready')).toBeUndefined();
    expect(await refusalOf(revision, 'while-not-ready')).toBeUndefined();
    expect(await refusalOf(plain, 'opted-in', { 'sidecar.istio.io/inject': 'true' })).toBeUndefined();
  });

  it('registers both webhooks once every replica is Ready, trusting the CA of the serving Secret', async () => {
    await cluster.core.deleteNamespacedResourceQuota({ namespace: NAMESPACE, name: 'no-pods' });
    const run = await install('--without-cert-manager', '--timeout', '120', '--prometheus-url', PROMETHEUS_URL);
    expect(run.code, run.stderr).toBe(0);
    // The first run made the certificate; this one keeps it.
    expect(run.stderr).toContain(`secret ${NAMESPACE}/switchboard-webhook-tls exists; kept`);

    const secret = await cluster.core.readNamespacedSecret({ namespace: NAMESPACE, name: 'switchboard-webhook-tls' });
    const caBundle = secret.data?.['ca.crt'];
    expect(caBundle).toBeTruthy();
    const mutating = await admission.readMutatingWebhookConfiguration({ name: 'switchboard-injector' });
    const validating = await admission.readValidatingWebhookConfiguration({ name: 'switchboard-proxy-uid-guard' });
    const hooks = [...mutating.webhooks ?? [], ...validating.webhooks ?? []];
    expect(hooks).toHaveLength(8);
    for (const hook of hooks) expect(String(hook.clientConfig.caBundle), hook.name).toBe(caBundle);

    // Ready first, registered after: every replica's Ready condition predates both configurations.
    const pods = await cluster.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app.kubernetes.io/name=switchboard' });
    const readySince = pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime);
    expect(readySince.filter((t) => t !== undefined)).toHaveLength(2);
    for (const configuration of [mutating, validating]) {
      for (const ready of readySince) expect(new Date(ready!).getTime()).toBeLessThanOrEqual(new Date(configuration.metadata!.creationTimestamp!).getTime());
    }
    const container = (await cluster.apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'switchboard-controller' })).spec?.template.spec?.containers[0];
    expect(container?.env?.find((e) => e.name === 'PROMETHEUS_URL')?.value).toBe(PROMETHEUS_URL);

    // Registered and failing closed: nothing here can answer the API server's calls.
    const mesh = await namespaceWith({ 'istio-injection': 'enabled' });
    expect(await refusalOf(mesh, 'after-registration')).toContain('failed calling webhook "namespace.inject.switchboard.dev"');
    expect(await refusalOf(NAMESPACE, 'own-namespace')).toBeUndefined();
  });

  it("with cert-manager's CRDs but no certificate issued yet, registers nothing", async () => {
    // kwok reports the pods Ready although their Secret volume does not exist; a real kubelet would
    // not start them. The script still refuses to register webhooks nobody could trust.
    await removeSwitchboard();
    const crds = join(goModuleDir(CERT_MANAGER.module, CERT_MANAGER.version), 'deploy', 'crds');
    await installCrds(cluster, [join(crds, 'cert-manager.io_issuers.yaml'), join(crds, 'cert-manager.io_certificates.yaml')]);
    const run = await install('--timeout', '120');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`secret ${NAMESPACE}/switchboard-webhook-tls has no ca.crt`);
    expect(await webhookConfigurationsPresent()).toEqual([]);
    const certificate = await cluster.custom.getNamespacedCustomObject({ group: 'cert-manager.io', version: 'v1', plural: 'certificates', namespace: NAMESPACE, name: 'switchboard-webhook-tls' });
    expect(certificate).toBeDefined();
    await removeSwitchboard();
    await removeCertManagerCrds();
  });
});

describe('config/uninstall.sh: webhooks, then the Rollouts while the controller runs, then the rest', () => {
  let controller: ControllerProcess | undefined;
  let workloads: string;

  beforeAll(async () => {
    const run = await install('--without-cert-manager', '--timeout', '120');
    expect(run.code, run.stderr).toBe(0);
    // The Rollout's namespace is outside the mesh: its pods do not depend on the unreachable webhooks.
    workloads = await namespaceWith({});
    await deployPaymentsRouting(workloads, { withCanarySubset: true });
    controller = startController('http://127.0.0.1:9', 'staged-uninstall');
    // The controller stands in for the manager Deployment's pods, so it lives only as long as that
    // Deployment: an uninstall that deleted the manager before the Rollouts strands them here too.
    const liveWithManager = setInterval(() => {
      void cluster.apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'switchboard-controller' }).then(
        (manager) => manager.metadata?.deletionTimestamp && controller?.kill('SIGKILL'),
        () => controller?.kill('SIGKILL'),
      );
    }, 50);
    cleanups.push(async () => { clearInterval(liveWithManager); await controller?.kill('SIGKILL'); });
    await createRollout(workloads, 'payments:1.0', { steps: [{ setWeight: 20 }, { pause: {} }], analysis: undefined });
    await waitForPhase(workloads, 'Healthy');
    await changeImage(workloads, 'payments:1.1');
    await eventually('canary at 20%, paused', async () => {
      const status = (await readRollout(workloads)).status;
      return status?.phase === 'Paused' && status.canaryWeight === 20;
    }, 90_000);
  });

  it('stops after the webhooks while no replica of the controller is Ready, deleting nothing else', async () => {
    await kubectl(['-n', NAMESPACE, 'scale', 'deployment/switchboard-controller', '--replicas=0']);
    await eventually('no manager replica ready', async () => ((await cluster.apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'switchboard-controller' })).status?.readyReplicas ?? 0) === 0);
    const run = await runScript('uninstall.sh', ['--timeout', '30']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('1 Rollouts exist and no replica of deployment switchboard-system/switchboard-controller is Ready');
    expect(await webhookConfigurationsPresent()).toEqual([]);
    expect((await readRollout(workloads)).metadata.name).toBe('payments');
    expect(await cluster.apiextensions.readCustomResourceDefinition({ name: 'rollouts.switchboard.dev' })).toBeDefined();
    await kubectl(['-n', NAMESPACE, 'scale', 'deployment/switchboard-controller', '--replicas=2']);
    await eventually('both manager replicas ready again', async () => ((await cluster.apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'switchboard-controller' })).status?.readyReplicas ?? 0) === 2);
  });

  it('lets the controller restore traffic and release every Rollout, then removes the rest; the stable Deployment stays', async () => {
    const { stableRevision, canaryRevision } = (await readRollout(workloads)).status ?? {};
    const stableName = `payments-${stableRevision}`;
    const stableUid = (await cluster.apps.readNamespacedDeployment({ namespace: workloads, name: stableName })).metadata?.uid;
    const run = await runScript('uninstall.sh', ['--timeout', '120']);
    expect(run.code, run.stderr).toBe(0);
    const steps = run.stderr.split('\n').filter((line) => line.startsWith('[uninstall] ')).map((line) => line.slice(12, 15));
    expect(steps).toEqual(['1/3', '2/3', '3/3', 'don']);

    // Nothing hangs in Terminating: the script waited for each deletion.
    await expect(cluster.apiextensions.readCustomResourceDefinition({ name: 'rollouts.switchboard.dev' })).rejects.toThrow();
    await expect(cluster.core.readNamespace({ name: NAMESPACE })).rejects.toThrow();
    expect(await webhookConfigurationsPresent()).toEqual([]);
    expect((await rbac.listClusterRole()).items.map((r) => r.metadata?.name).filter((n) => n?.startsWith('switchboard-'))).toEqual([]);

    // What stays, as docs/install.md says: stable, without an owner, and all traffic on it.
    const stable = await cluster.apps.readNamespacedDeployment({ namespace: workloads, name: stableName });
    expect(stable.metadata?.uid).toBe(stableUid);
    expect(stable.metadata?.ownerReferences ?? []).toEqual([]);
    expect(canaryWeightOf((await readVirtualService(workloads)).spec.http[1])).toBe(0);
    await gone('the canary Deployment garbage collected', () => cluster.apps.readNamespacedDeployment({ namespace: workloads, name: `payments-${canaryRevision}` }), 60_000);
    // Without the webhooks, mesh pods are created again.
    const mesh = await namespaceWith({ 'istio-injection': 'enabled' });
    expect(await refusalOf(mesh, 'after-uninstall')).toBeUndefined();
  });
});
