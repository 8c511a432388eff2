// Traffic strategies on istiod's data plane: checkout's sidecar follows the real istiod, and a
// fifth of its requests carry a tester's header.
// - Header and mirror routes: before the canary has any weight, the testers' requests (and only
//   those) reach it; a mirror route copies every request to it, and the copies all fail, which
//   must not fail the release: the Rollout promotes, takes both routes away, and leaves the user's
//   routes as they were, without a request failed by the proxy.
// - Blue-green: the preview at full size gets the testers only, then every request in one switch,
//   while the old version keeps its pods through the post-promotion watch; no request fails.
import { describe, expect, it } from 'vitest';
import type { CallerTraffic } from '../harness/caller-traffic.ts';
import { createNamespace, deleteNamespace, eventually, testCluster } from './support/cluster.ts';
import { deployPaymentsRouting, startController, startTraffic } from './support/rollout-env.ts';
import { rolloutSuite } from './support/rollout-scenario.ts';

const cluster = testCluster();
const { readRollout, readVirtualService, createRollout, changeImage, waitForPhase, roleImage, prometheus, cleanups } = rolloutSuite(cluster);

const TESTERS = { name: 'testers', match: [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }] };
const SHADOW = { name: 'shadow', percentage: 100, match: [{ path: { prefix: '/' } }] };

const ROLLOUT = {
  trafficRouting: {
    host: 'payments',
    virtualService: { name: 'payments-routing', routes: ['primary'] },
    destinationRule: { name: 'payments-destination' },
    managedRoutes: [{ name: 'testers' }, { name: 'shadow' }],
  },
  steps: [{ setHeaderRoute: TESTERS }, { setMirrorRoute: SHADOW }, { pause: { duration: '5s' } }, { setWeight: 50 }, { setHeaderRoute: { name: 'testers' } }],
};

interface Sample { value: number; labels: Record<string, string | number> }

/** istio_requests_total of the caller's simulator, summed over the series that `keep` selects. */
async function requests(traffic: CallerTraffic, keep: (labels: Sample['labels']) => boolean): Promise<number> {
  const metrics = await traffic.simulator.registry.getMetricsAsJSON();
  const values = (metrics.find((metric) => metric.name === 'istio_requests_total')?.values ?? []) as Sample[];
  return values.filter((sample) => keep(sample.labels)).reduce((sum, sample) => sum + sample.value, 0);
}

const seenByCaller = (workload: string) => (labels: Sample['labels']) => labels.reporter === 'source' && labels.destination_workload === workload;
const proxyFailures = (labels: Sample['labels']) => labels.reporter === 'source' && labels.response_flags !== '-';

/** A namespace with the payments routing (named routes), checkout's traffic with a fifth of it carrying `header`, and a controller. */
async function world(prefix: string, header: Record<string, string>, canary: Parameters<typeof startTraffic>[3]): Promise<{ namespace: string; traffic: CallerTraffic }> {
  const namespace = await createNamespace(cluster, prefix);
  await deployPaymentsRouting(namespace, { withCanarySubset: true, namedRoutes: true });
  const traffic = await startTraffic(cluster, prometheus(), namespace, canary, { requestHeaders: [{ share: 0.2, headers: header }] });
  const controller = startController(prometheus().url, prefix);
  cleanups.push(async () => {
    await controller.kill('SIGKILL');
    await traffic.stop();
    await deleteNamespace(cluster, namespace);
  });
  return { namespace, traffic };
}

/** Once the first release is Healthy and checkout's sidecar has stable's endpoints: the proxy failures so far (UH before any pod). */
async function settled(namespace: string, traffic: CallerTraffic): Promise<number> {
  await waitForPhase(namespace, 'Healthy');
  await eventually(`${namespace}: checkout's sidecar has stable's endpoints`, async () => {
    const applied = traffic.sidecar.applied();
    return Object.entries(applied?.clusters ?? {}).some(([name, cluster]) => name.includes('|stable|') && cluster.endpoints.some((e) => e.healthy));
  }, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return requests(traffic, proxyFailures);
}

/** The share of checkout's requests the canary's workload (its revision's Deployment) got over the next two seconds. */
async function canaryShare(namespace: string, traffic: CallerTraffic): Promise<number> {
  const workload = (await roleImage(namespace, 'canary')).name ?? 'none';
  const before = { canary: await requests(traffic, seenByCaller(workload)), all: await requests(traffic, (l) => l.reporter === 'source') };
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  return (await requests(traffic, seenByCaller(workload)) - before.canary) / (await requests(traffic, (l) => l.reporter === 'source') - before.all);
}

describe('header and mirror routes against istiod', () => {
  it('header-matched requests reach the canary at weight 0, failing mirrored copies do not fail the release, and promotion takes both routes away', async () => {
    const { namespace, traffic } = await world('steps', { 'x-canary': 'yes' }, { errorRate: 0, shadowErrorRate: 1 });
    const userRoutes = (await readVirtualService(namespace)).spec.http;
    await createRollout(namespace, 'payments:1.0', ROLLOUT);
    const failedBefore = await settled(namespace, traffic);

    await changeImage(namespace, 'payments:1.1');
    // The pause step: both routes in place, the canary still at weight 0.
    await eventually(`${namespace}: at the pause with both routes applied by checkout's sidecar`, async () => {
      const status = (await readRollout(namespace)).status;
      const names = traffic.sidecar.applied()?.routes.map((route) => route.name) ?? [];
      return status?.currentStepIndex === 2 && names[0] === 'testers' && names[1] === 'shadow';
    }, 90_000);
    const share = await canaryShare(namespace, traffic);
    expect((await readRollout(namespace)).status?.canaryWeight).toBe(0);
    // A fifth of the requests carry the header: they, and nothing else at weight 0, reach the canary.
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.3);
    // Every request is copied to the canary; only its own proxy reports the copies, which all fail.
    const canaryWorkload = (await roleImage(namespace, 'canary')).name;
    const shadowFailures = await requests(traffic, (l) => l.reporter === 'destination' && l.destination_workload === canaryWorkload && l.response_code === '503');
    expect(shadowFailures).toBeGreaterThan(100);

    const promoted = await waitForPhase(namespace, 'Healthy', 120_000);
    expect(promoted.status?.analysis?.failedChecks).toBe(0);
    expect(promoted.status?.analysis?.passedChecks).toBeGreaterThan(0);
    const vs = await readVirtualService(namespace);
    expect(vs.spec.http.map((route) => (route as { name?: string }).name)).toEqual(['beta', 'primary']);
    expect(vs.spec.http[0]).toEqual(userRoutes[0]);
    const { route: _promotedWeights, ...primary } = vs.spec.http[1]!;
    const { route: _initialWeights, ...initialPrimary } = userRoutes[1]!;
    expect(primary).toEqual(initialPrimary);
    expect((promoted.status as { managedRoutes?: unknown }).managedRoutes).toBeUndefined();
    expect(await requests(traffic, proxyFailures)).toBe(failedBefore);
  });
});

describe('blue-green against istiod', () => {
  it('the preview gets only the testers, then every request in one switch, with the old version whole until promotion', async () => {
    const { namespace, traffic } = await world('blue-green', { 'x-preview': '1' }, { errorRate: 0 });
    const blueGreen = { autoPromotionSeconds: 4, postPromotionSeconds: 6, previewRoute: { match: [{ headerName: 'x-preview', headerValue: { exact: '1' } }] } };
    await createRollout(namespace, 'payments:1.0', { ...ROLLOUT, steps: undefined, blueGreen });
    const failedBefore = await settled(namespace, traffic);

    await changeImage(namespace, 'payments:1.1');
    await eventually(`${namespace}: the preview at full size, its route applied by checkout's sidecar`, async () => {
      const status = (await readRollout(namespace)).status;
      const preview = await roleImage(namespace, 'canary');
      return status?.canaryWeight === 0 && preview.replicas === 2 && traffic.sidecar.applied()?.routes[0]?.name === 'preview';
    }, 90_000);
    const share = await canaryShare(namespace, traffic);
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.3);

    // The switch: every request to the new version, the old one still at full size.
    await eventually(`${namespace}: switched`, async () => (await readRollout(namespace)).status?.canaryWeight === 100, 60_000);
    const old = await cluster.apps.readNamespacedDeployment({ namespace, name: (await roleImage(namespace, 'stable')).name! });
    expect(old.spec?.template.spec?.containers[0]?.image).toBe('payments:1.0');
    expect(old.status?.availableReplicas).toBe(2);

    await eventually(`${namespace}: promoted`, async () => {
      const status = (await readRollout(namespace)).status;
      return status?.phase === 'Healthy' && (await roleImage(namespace, 'stable')).image === 'payments:1.1';
    }, 120_000);
    expect((await readVirtualService(namespace)).spec.http.map((route) => (route as { name?: string }).name)).toEqual(['beta', 'primary']);
    expect(await requests(traffic, proxyFailures)).toBe(failedBefore);
  });
});
