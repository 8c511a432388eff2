// One rollout scenario per test: its own namespace, routing, caller sidecar and traffic simulator,
// and controller process, plus the reads and waits the rollout tests share.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { RunningPrometheus } from '../../harness/prometheus.ts';
import type { CallerTraffic } from '../../harness/caller-traffic.ts';
import { createNamespace, deleteNamespace, eventually, installCrds, type TestCluster } from './cluster.ts';
import { deployPaymentsRouting, paymentsRollout, startController, startMeshPrometheus, startTraffic, type ControllerProcess } from './rollout-env.ts';

export interface RolloutView {
  metadata: { name: string; namespace: string; resourceVersion: string; generation?: number; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: {
    phase?: string; canaryWeight?: number; currentStepIndex?: number; stableRevision?: string; canaryRevision?: string; message?: string; step?: string;
    replicas?: number; selector?: string; canaryScaleDownAt?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    analysis?: { failedChecks: number; passedChecks: number; inconclusiveChecks: number; erroredChecks: number; lastRunAt?: string };
    rollback?: { reason: string; message: string; at: string };
  };
}
export interface RouteView { match?: unknown; route: { destination: { subset: string }; weight?: number }[] }

export const ROLLOUTS = { group: 'switchboard.dev', version: 'v1alpha1', plural: 'rollouts' };

/**
 * A rollout test file's world: the CRDs and one Prometheus for the file, and each test's
 * controller, simulator and namespace gone before the next test starts (controllers watch every
 * namespace, so one left running would act on the next test's Rollout too).
 */
export function rolloutSuite(cluster: TestCluster) {
  let prometheus: RunningPrometheus | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    await installCrds(cluster, [
      'crds/switchboard.dev_rollouts.yaml', 'crds/switchboard.dev_analysistemplates.yaml', 'crds/switchboard.dev_clusteranalysistemplates.yaml',
      'crds/istio/networking.istio.io_virtualservices.yaml', 'crds/istio/networking.istio.io_destinationrules.yaml',
    ]);
    prometheus = await startMeshPrometheus();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => { await prometheus?.stop(); });
  const running = (): RunningPrometheus => {
    if (prometheus === undefined) throw new Error('Prometheus is started in beforeAll');
    return prometheus;
  };
  return { ...rolloutScenarios(cluster, running, cleanups), prometheus: running, cleanups };
}

export function rolloutScenarios(cluster: TestCluster, prometheus: () => RunningPrometheus, cleanups: (() => Promise<void>)[]) {
  const readRollout = async (namespace: string, name = 'payments') => cluster.custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace, name }) as Promise<RolloutView>;
  const readVirtualService = async (namespace: string) =>
    cluster.custom.getNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', namespace, name: 'payments-routing' }) as Promise<{ metadata: { resourceVersion: string }; spec: { http: RouteView[] } }>;
  const readDestinationRule = async (namespace: string) =>
    cluster.custom.getNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', plural: 'destinationrules', namespace, name: 'payments-destination' }) as Promise<{ metadata: { resourceVersion: string }; spec: { subsets: { name: string; labels: Record<string, string> }[] } }>;

  /**
   * Records every distinct canary weight of the split route, in order, until stopped. One read at a
   * time: overlapping reads may answer out of order and record a weight twice.
   */
  function watchWeights(namespace: string): { seen: number[]; stop: () => void } {
    const seen: number[] = [];
    let stopped = false;
    void (async () => {
      while (!stopped) {
        const vs = await readVirtualService(namespace).catch(() => undefined);
        const weight = vs === undefined ? undefined : canaryWeightOf(vs.spec.http[1]);
        if (!stopped && weight !== undefined && seen.at(-1) !== weight) seen.push(weight);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    return { seen, stop: () => { stopped = true; } };
  }

  async function scenario(prefix: string, options: {
    canaryErrorRate?: number; canaryLatencyMs?: number; withCanarySubset?: boolean; withDestinationRule?: boolean; prometheusUrl?: string; istiod?: boolean;
    /** More flags for the controller; a function of the namespace when they name it. */
    controllerArgs?: (namespace: string) => string[];
  } = {}) {
    const namespace = await createNamespace(cluster, prefix);
    await deployPaymentsRouting(namespace, options);
    const latency = options.canaryLatencyMs === undefined ? {} : { latencyMs: options.canaryLatencyMs };
    const traffic: CallerTraffic = await startTraffic(cluster, prometheus(), namespace, { errorRate: options.canaryErrorRate ?? 0, ...latency });
    const controllerOptions = { ...(options.istiod === undefined ? {} : { istiod: options.istiod }), ...(options.controllerArgs === undefined ? {} : { args: options.controllerArgs(namespace) }) };
    const controllers: ControllerProcess[] = [startController(options.prometheusUrl ?? prometheus().url, prefix, controllerOptions)];
    cleanups.push(async () => {
      for (const c of controllers) await c.kill('SIGKILL');
      await traffic.stop();
      await deleteNamespace(cluster, namespace);
    });
    return { namespace, traffic, controllers };
  }

  async function createRollout(namespace: string, image: string, overrides: Record<string, unknown> = {}): Promise<void> {
    await cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body: paymentsRollout(namespace, image, overrides) });
  }

  // A patch of the one field, as `kubectl set image` sends: a read-modify-replace would race the
  // controller's own status writes and fail with a conflict.
  async function changeImage(namespace: string, image: string): Promise<void> {
    await cluster.custom.patchNamespacedCustomObject({
      ...ROLLOUTS, namespace, name: 'payments', body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }],
    }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
  }

  async function waitForPhase(namespace: string, phase: string, timeoutMs = 90_000): Promise<RolloutView> {
    let last: RolloutView | undefined;
    await eventually(`rollout ${namespace}/payments in phase ${phase}`, async () => {
      last = await readRollout(namespace);
      return last.status?.phase === phase;
    }, timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message}; last status: ${JSON.stringify(last?.status)}`);
    });
    return last!;
  }

  async function deploymentImage(namespace: string, name: string): Promise<{ image?: string; replicas?: number }> {
    const deployment = await cluster.apps.readNamespacedDeployment({ namespace, name });
    return { image: deployment.spec?.template.spec?.containers[0]?.image, replicas: deployment.spec?.replicas };
  }

  /** The Deployment in a role, as the Rollout's status names it (<name>-<revision>); {} when none. */
  async function roleImage(namespace: string, track: 'stable' | 'canary'): Promise<{ image?: string; replicas?: number; name?: string }> {
    const status = (await readRollout(namespace)).status;
    const revision = track === 'stable' ? status?.stableRevision : status?.canaryRevision;
    if (revision === undefined) return {};
    const name = `payments-${revision}`;
    return { ...await deploymentImage(namespace, name), name };
  }

  async function settleFirstDeploy(namespace: string, overrides: Record<string, unknown> = {}): Promise<void> {
    await createRollout(namespace, 'payments:1.0', overrides);
    await waitForPhase(namespace, 'Healthy');
  }

  async function eventReasons(namespace: string): Promise<{ reason: string; type: string; message: string }[]> {
    const events = await cluster.core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.kind=Rollout' });
    return events.items
      .sort((a, b) => (a.lastTimestamp?.getTime() ?? 0) - (b.lastTimestamp?.getTime() ?? 0))
      .map((e) => ({ reason: e.reason ?? '', type: e.type ?? '', message: e.message ?? '' }));
  }

  return {
    readRollout, readVirtualService, readDestinationRule, watchWeights, scenario, createRollout, changeImage, waitForPhase, deploymentImage, roleImage, settleFirstDeploy, eventReasons,
  };
}

export function canaryWeightOf(route: RouteView | undefined): number {
  return route?.route.find((d) => d.destination.subset === 'canary')?.weight ?? 0;
}
