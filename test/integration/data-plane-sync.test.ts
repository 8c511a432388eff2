// Proxies that apply istiod's pushes 10 s late, beside a prompt one, against the real istiod.
// With the data plane confirmed, an abort and a promotion each end without a failed request in
// the slow proxy's traffic: no pod it may still route to goes away before it has the change.
// Turned off, with scaleDownDelaySeconds 0, the same abort makes it send requests to canary pods
// that are gone (503 UF), so the confirmation is what makes the difference.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CallerTraffic } from '../harness/caller-traffic.ts';
import { catchAllWeights } from '../harness/envoy-routing.ts';
import { createNamespace, deleteNamespace, eventually, kubectl, testCluster } from './support/cluster.ts';
import { deployPaymentsRouting, startTraffic } from './support/rollout-env.ts';
import { rolloutSuite } from './support/rollout-scenario.ts';

const cluster = testCluster();
const { readRollout, scenario, settleFirstDeploy, changeImage, waitForPhase, deploymentImage, roleImage, eventReasons, prometheus, cleanups } = rolloutSuite(cluster);

const SLOW_PROXY_DELAY_SECONDS = 10;
/** 20%, then held until promote. */
const HELD_STEPS = [{ setWeight: 20 }, { pause: {} }];

async function annotate(namespace: string, annotation: string): Promise<void> {
  await kubectl(['annotate', 'rollouts.switchboard.dev', 'payments', '-n', namespace, `${annotation}=${Date.now()}`, '--overwrite']);
}

/**
 * reports, a second caller of payments, whose sidecar applies every push 10 s after it came. Its
 * traffic is counted apart from checkout's.
 */
async function slowCaller(namespace: string): Promise<CallerTraffic> {
  const labels = { app: 'reports' };
  await kubectl(['apply', '-f', '-'], stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'reports', namespace },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'reports', image: 'reports:1.0' }] } } },
  }));
  const traffic = await startTraffic(cluster, prometheus(), namespace, {}, {
    callerSelector: 'app=reports', applyDelaySeconds: SLOW_PROXY_DELAY_SECONDS,
    // Joining before payments has pods would count failures no rollout caused.
    startOnceApplied: (applied) => {
      const weighted = applied.routes.at(-1)?.clusters.filter((cluster) => cluster.weight > 0) ?? [];
      return weighted.length > 0 && weighted.every((cluster) => applied.clusters[cluster.name]?.endpoints.some((endpoint) => endpoint.healthy));
    },
  });
  cleanups.push(() => traffic.stop());
  return traffic;
}

/** Requests the caller's proxy failed itself (a response flag; the workloads' own errors carry none), by flag. */
async function failures(traffic: CallerTraffic): Promise<Record<string, number>> {
  const metrics = await traffic.simulator.registry.getMetricsAsJSON();
  const requests = metrics.find((metric) => metric.name === 'istio_requests_total');
  const failed: Record<string, number> = {};
  for (const value of (requests?.values ?? []) as { value: number; labels: Record<string, string | number> }[]) {
    const flag = String(value.labels.response_flags);
    if (value.labels.reporter !== 'source' || flag === '-') continue;
    failed[flag] = (failed[flag] ?? 0) + value.value;
  }
  return failed;
}

const canaryWeightApplied = (traffic: CallerTraffic) => catchAllWeights(traffic.sidecar.applied() ?? { host: '', port: 0, acked: {} as never, routes: [], clusters: {} }).canary ?? 0;

/** When the slow sidecar applied a canary weight of 0, and when the canary Deployment went to 0 pods. */
function watchOrder(namespace: string, slow: CallerTraffic): { result: () => { appliedAt?: number; scaledAt?: number }; stop: () => void } {
  let appliedAt: number | undefined;
  let scaledAt: number | undefined;
  const timer = setInterval(() => {
    if (appliedAt === undefined && canaryWeightApplied(slow) === 0) appliedAt = Date.now();
    if (scaledAt === undefined) void roleImage(namespace, 'canary').then((canary) => { if (canary.replicas === 0) scaledAt ??= Date.now(); }, () => undefined);
  }, 50);
  return { result: () => ({ appliedAt, scaledAt }), stop: () => clearInterval(timer) };
}

/**
 * Turned off for this Rollout, with scaleDownDelaySeconds 0: the abort scales the canary away while
 * the slow proxy still sends it 20%, and those requests fail with 503 UF.
 */
async function abortWithoutConfirmation(namespace: string, slow: CallerTraffic): Promise<void> {
  await changeImage(namespace, 'payments:1.1');
  await eventually(`${namespace}: the slow proxy sends 20% to the canary`, async () => canaryWeightApplied(slow) === 20, 60_000);
  expect(await failures(slow)).toEqual({});
  await annotate(namespace, 'switchboard.dev/abort');
  await eventually(`${namespace}: canary scaled to zero`, async () => (await roleImage(namespace, 'canary')).replicas === 0, 30_000);
  await eventually(`${namespace}: the slow proxy back on stable`, async () => canaryWeightApplied(slow) === 0, 30_000);
  expect((await failures(slow)).UF ?? 0).toBeGreaterThan(0);
  expect(((await readRollout(namespace)).status as { dataPlane?: unknown } | undefined)?.dataPlane).toBeUndefined();
}

/** On: the step waits for the slow proxy, and neither an abort nor a promotion fails one of its requests. */
async function abortAndPromoteWithConfirmation(namespace: string, slow: CallerTraffic, prompt: CallerTraffic): Promise<void> {
  const promptBefore = await failures(prompt);
  // The step's weight counts as changed only once the slow proxy has it.
  await changeImage(namespace, 'payments:1.1');
  const held = await waitForPhase(namespace, 'Paused', 90_000);
  const dataPlane = (held.status as { dataPlane?: { state: string; proxies: number; synced: number; seconds: number } }).dataPlane;
  expect(dataPlane).toMatchObject({ state: 'Synced', synced: dataPlane?.proxies });
  expect(dataPlane?.proxies).toBeGreaterThanOrEqual(2);
  expect(dataPlane?.seconds).toBeGreaterThanOrEqual(SLOW_PROXY_DELAY_SECONDS - 0.5);

  // Abort: the canary's pods stay until the slow proxy routes nothing to them.
  const order = watchOrder(namespace, slow);
  await annotate(namespace, 'switchboard.dev/abort');
  await waitForPhase(namespace, 'Aborted', 60_000);
  await eventually(`${namespace}: canary scaled to zero`, async () => (await roleImage(namespace, 'canary')).replicas === 0, 60_000);
  // The watcher reads on its own timer: let it see the scale-down too before comparing its times.
  await eventually(`${namespace}: the watcher saw the scale-down`, async () => order.result().scaledAt !== undefined, 10_000);
  order.stop();
  const { appliedAt, scaledAt } = order.result();
  expect(appliedAt).toBeDefined();
  expect(scaledAt).toBeGreaterThanOrEqual(appliedAt!);
  expect(await failures(slow)).toEqual({});

  // Promotion: the stable subset is re-pointed to the canary's pods, and the previous stable's
  // pods go only once the slow proxy sends them nothing.
  const previous = (await roleImage(namespace, 'stable')).name!;
  await changeImage(namespace, 'payments:1.2');
  await waitForPhase(namespace, 'Paused', 90_000);
  await annotate(namespace, 'switchboard.dev/promote');
  await eventually(`${namespace}: promoted, payments:1.2 stable and Healthy, the previous stable at zero`, async () => {
    const status = (await readRollout(namespace)).status;
    return status?.phase === 'Healthy' && (await roleImage(namespace, 'stable')).image === 'payments:1.2'
      && (await deploymentImage(namespace, previous)).replicas === 0;
  }, 120_000);
  expect(await failures(slow)).toEqual({});
  expect(await failures(prompt)).toEqual(promptBefore);
  const reasons = await eventReasons(namespace);
  expect(reasons.filter((event) => event.reason === 'DataPlaneSynced').length).toBeGreaterThanOrEqual(2);
  expect(reasons.filter((event) => event.reason.startsWith('DataPlane') && event.type === 'Warning')).toEqual([]);
}

describe('data-plane confirmation against istiod with a slow proxy', () => {
  // Both Rollouts at once, in two namespaces, under the one controller: the slow proxies' 10 s
  // delays overlap instead of adding up.
  it('off, an abort fails the slow proxy\'s requests with 503 UF; on, neither an abort nor a promotion fails one', async () => {
    const on = await scenario('dp-on', { withCanarySubset: true });
    const off = await createNamespace(cluster, 'dp-off');
    cleanups.push(() => deleteNamespace(cluster, off));
    await deployPaymentsRouting(off, { withCanarySubset: true });
    await Promise.all([
      settleFirstDeploy(on.namespace, { steps: HELD_STEPS, scaleDownDelaySeconds: 0 }),
      settleFirstDeploy(off, { steps: HELD_STEPS, scaleDownDelaySeconds: 0, dataPlaneSync: { enabled: false } }),
    ]);
    const [slowOn, slowOff] = await Promise.all([slowCaller(on.namespace), slowCaller(off)]);
    await Promise.all([abortAndPromoteWithConfirmation(on.namespace, slowOn, on.traffic), abortWithoutConfirmation(off, slowOff)]);
  });
});
