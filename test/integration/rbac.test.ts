// Least privilege, proven: config/rbac applied to the real API server, `switchboard run` speaking
// only as its ServiceAccount (a TokenRequest token) takes a Rollout through a canary, and people
// bound to the built-in edit and view roles operate and read it with the CLI.
import { AuthorizationV1Api, BatchV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/config.ts';
import { PROJECT_ROOT } from '../harness/binaries.ts';
import { createCertificateAuthority, issueCertificate } from '../harness/certs.ts';
import { renderKustomization } from '../harness/kustomize.ts';
import { asPermissionList, permissionsBeyond, permissionsOf, readExpectedPermissions } from '../harness/rbac-rules.ts';
import { startManagerProcess, type ManagerProcess } from '../harness/manager-process.ts';
import { freePort } from '../harness/ports.ts';
import type { RunningPrometheus } from '../harness/prometheus.ts';
import { writeServiceAccountKubeconfig } from '../harness/service-account-kubeconfig.ts';
import type { CallerTraffic } from '../harness/caller-traffic.ts';
import { createNamespace, deleteNamespace, ensureNamespace, eventually, installCrds, kubectl, testCluster } from './support/cluster.ts';
import { deployPaymentsRouting, paymentsRollout, stableServes, startMeshPrometheus, startTraffic } from './support/rollout-env.ts';

const cluster = testCluster();
const OWN_NAMESPACE = 'switchboard-system';
const ISTIO_NAMESPACE = 'istio-system';
const RBAC_KINDS = ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
const rbacObjects = renderKustomization('config/default').filter((o) => RBAC_KINDS.includes(o.kind ?? ''));
const scratch = mkdtempSync(join(tmpdir(), 'switchboard-rbac-'));
const group = { group: 'switchboard.dev', version: 'v1alpha1', plural: 'rollouts' };
let namespace: string;
let prometheus: RunningPrometheus;
let traffic: CallerTraffic | undefined;
let manager: ManagerProcess | undefined;

const asJsonLines = (objects: KubernetesObject[]) => objects.map((o) => JSON.stringify(o)).join('\n');

interface CliRun { code: number; stdout: string; stderr: string }
function switchboard(kubeconfig: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(join(PROJECT_ROOT, 'node_modules/.bin/node'), [join(PROJECT_ROOT, 'src/cli/main.ts'), ...args, '-n', namespace, '--kubeconfig', kubeconfig], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** A ServiceAccount in the test namespace bound to a built-in ClusterRole there, as a kubeconfig. */
async function person(name: string, clusterRole: string | undefined): Promise<string> {
  await cluster.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  if (clusterRole) {
    await kubectl(['create', 'rolebinding', `${name}-${clusterRole}`, '-n', namespace, `--clusterrole=${clusterRole}`, `--serviceaccount=${namespace}:${name}`]);
  }
  return writeServiceAccountKubeconfig(cluster.kubeConfig, namespace, name, join(scratch, `${name}.kubeconfig`));
}

interface RolloutView { status?: { phase?: string; canaryWeight?: number; stableRevision?: string } ; spec: { template: { spec: { containers: { image: string }[] } } } }
const readRollout = async () => cluster.custom.getNamespacedCustomObject({ ...group, namespace, name: 'payments' }) as Promise<RolloutView>;

async function waitForPhase(phase: string, timeoutMs = 90_000): Promise<RolloutView> {
  let last: RolloutView | undefined;
  await eventually(`rollout payments in phase ${phase}`, async () => {
    last = await readRollout();
    return last.status?.phase === phase;
  }, timeoutMs).catch((error: Error) => { throw new Error(`${error.message}; last status ${JSON.stringify(last?.status)}; manager log ${manager?.logFile}`); });
  return last!;
}

async function changeImage(image: string): Promise<void> {
  await cluster.custom.patchNamespacedCustomObject({ ...group, namespace, name: 'payments', body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
}

async function stableImage(): Promise<string | undefined> {
  const name = `payments-${(await readRollout()).status?.stableRevision}`;
  const deployment = await cluster.apps.readNamespacedDeployment({ namespace, name }).catch(() => undefined);
  return deployment?.spec?.template.spec?.containers[0]?.image;
}

beforeAll(async () => {
  await installCrds(cluster, ['crds/switchboard.dev_rollouts.yaml', 'crds/istio/networking.istio.io_virtualservices.yaml', 'crds/istio/networking.istio.io_destinationrules.yaml']);
  await ensureNamespace(cluster, ISTIO_NAMESPACE);
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=switchboard-rbac-test', '-f', '-'], asJsonLines(rbacObjects));
  namespace = await createNamespace(cluster, 'rbac');
  prometheus = await startMeshPrometheus();
});

afterAll(async () => {
  await manager?.kill('SIGKILL');
  await traffic?.stop();
  await prometheus?.stop();
  if (namespace) await deleteNamespace(cluster, namespace);
  await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], asJsonLines(rbacObjects)).catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

describe('RBAC of config/rbac', () => {
  it('is enough for `switchboard run` to take a Rollout through a canary, and for edit-role users to promote and abort it', async () => {
    const controllerKubeconfig = await writeServiceAccountKubeconfig(cluster.kubeConfig, OWN_NAMESPACE, 'switchboard-controller', join(scratch, 'controller.kubeconfig'));
    const ca = createCertificateAuthority(join(scratch, 'pki'), 'rbac-test-ca');
    const serving = issueCertificate(ca, 'webhook', { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const healthPort = await freePort();
    // Webhook and controller both, with leader election: every call either makes goes through the ServiceAccount.
    manager = startManagerProcess([
      `--kubeconfig=${controllerKubeconfig}`, `--prometheus-url=${prometheus.url}`,
      `--webhook-bind-address=127.0.0.1:${await freePort()}`, `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`,
      '--leader-elect', `--leader-election-namespace=${OWN_NAMESPACE}`,
      '--leader-elect-lease-duration=3s', '--leader-elect-renew-deadline=2s', '--leader-elect-retry-period=500ms',
      '--metrics-bind-address=0', `--health-probe-bind-address=127.0.0.1:${healthPort}`, '--log-level=debug',
    ], join(inject('clusterLogDir'), `rbac-manager-${process.pid}.log`));
    await eventually('the manager, as its ServiceAccount, ready (namespaces watched, informers synced)', async () => {
      const response = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
      return response?.status === 200;
    });

    await deployPaymentsRouting(namespace, { withCanarySubset: true });
    const operator = await person('release-operator', 'edit');
    const viewer = await person('release-viewer', 'view');
    const steps = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '3s' } }];
    // Every round also runs a smoke Job (kwok completes its pod): the Jobs are created, read and deleted as the ServiceAccount.
    const smoke = {
      name: 'smoke',
      job: { spec: { backoffLimit: 0, template: { metadata: { labels: { 'kwok.switchboard.dev/exit': '0' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'smoke', image: 'smoke:1' }] } } } },
    };
    const analysis = { interval: '5s', failureLimit: 1, minRequests: 10, metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }, smoke] };
    // Creating a Rollout is an edit-role right too.
    await loadKubeConfig(operator).makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ ...group, namespace, body: paymentsRollout(namespace, 'payments:1.0', { steps, analysis }) });
    await waitForPhase('Healthy');
    traffic = await startTraffic(cluster, prometheus, namespace, {}, { startOnceApplied: stableServes(2) });

    await changeImage('payments:1.1');
    await waitForPhase('Paused');
    const viewerGet = await switchboard(viewer, ['get', 'payments']);
    expect(viewerGet, viewerGet.stderr).toMatchObject({ code: 0 });
    const viewerPromote = await switchboard(viewer, ['promote', 'payments']);
    expect(viewerPromote.code).not.toBe(0);
    expect(viewerPromote.stderr).toMatch(/forbidden|not allowed|permission/i);
    const promote = await switchboard(operator, ['promote', 'payments']);
    expect(promote, promote.stderr).toMatchObject({ code: 0 });
    await eventually('stable runs payments:1.1', async () => (await stableImage()) === 'payments:1.1', 120_000);
    await waitForPhase('Healthy');

    await changeImage('payments:1.2');
    await waitForPhase('Paused');
    const abort = await switchboard(operator, ['abort', 'payments']);
    expect(abort, abort.stderr).toMatchObject({ code: 0 });
    await waitForPhase('Aborted');
    // Aborted is stored first, then the traffic goes back to stable.
    await eventually('all traffic back on stable', async () => ((await readRollout()).status?.canaryWeight ?? 0) === 0);
    expect(await stableImage()).toBe('payments:1.1');

    const events = await cluster.core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=payments' });
    expect(events.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['Promoted', 'Aborted']));
    expect(events.items.map((e) => e.message ?? '')).toEqual(expect.arrayContaining([expect.stringMatching(/smoke: Job payments-smoke-[0-9a-f]{10} succeeded/)]));
    await eventually('every smoke Job deleted', async () => (await cluster.kubeConfig.makeApiClient(BatchV1Api).listNamespacedJob({ namespace })).items.length === 0, 20_000);
    // No call was denied to the ServiceAccount (the API server says `User "system:serviceaccount:…" cannot …`).
    expect(readFileSync(manager.logFile, 'utf8')).not.toMatch(/serviceaccount:switchboard-system:switchboard-controller\\*" cannot/);
  });

  it('keeps a manager that cannot watch what it needs out of the Service: alive, not ready, saying why', async () => {
    const unprivileged = await person('unprivileged', undefined);
    const healthPort = await freePort();
    const blind = startManagerProcess([
      `--kubeconfig=${unprivileged}`, '--no-webhook', '--metrics-bind-address=0', `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    ], join(inject('clusterLogDir'), `rbac-unprivileged-${process.pid}.log`));
    try {
      await eventually('the unprivileged manager answers its liveness probe', async () => (await fetch(`http://127.0.0.1:${healthPort}/healthz`).catch(() => undefined))?.status === 200);
      const readiness = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      expect(readiness.status).toBe(503);
      expect(await readiness.text()).toContain('controller informers not synced yet');
    } finally {
      await blind.kill('SIGKILL');
    }
  });

  it('grants the ServiceAccount exactly the list kept in config/rbac/expected-permissions.yaml', async () => {
    const expected = readExpectedPermissions();
    const controller = await writeServiceAccountKubeconfig(cluster.kubeConfig, OWN_NAMESPACE, 'switchboard-controller', join(scratch, 'review-controller.kubeconfig'));
    // What every authenticated account may do anyway (discovery, self reviews) is not ours to list.
    const nobody = await person('nobody', undefined);
    const rulesIn = async (kubeconfig: string, where: string) => {
      const review = await loadKubeConfig(kubeconfig).makeApiClient(AuthorizationV1Api).createSelfSubjectRulesReview({ body: { spec: { namespace: where } } });
      return permissionsOf(review.status?.resourceRules ?? []);
    };
    const granted = async (where: string) => permissionsBeyond(await rulesIn(controller, where), await rulesIn(nobody, where));
    const everyNamespace = await granted(namespace);
    const ownNamespace = permissionsBeyond(await granted(OWN_NAMESPACE), everyNamespace);
    const istioNamespace = permissionsBeyond(await granted(ISTIO_NAMESPACE), everyNamespace);
    expect(asPermissionList(everyNamespace)).toEqual(expected.everyNamespace);
    expect(asPermissionList(ownNamespace)).toEqual(expected.ownNamespace);
    expect(asPermissionList(istioNamespace)).toEqual(expected.istioNamespace);
  });
});
