// Header and mirror routes on istiod's data plane: checkout's sidecar follows the real istiod,
// and a fifth of its requests carry x-canary: yes. Before the canary has any weight, those
// requests (and only those) reach it; a mirror route copies every request to it, and the copies
// all fail, which must not fail the release: the Rollout promotes, takes both routes away, and
// leaves the user's routes as they were, without a request failed by the proxy.
import { describe, expect, it } from 'vitest';
import type { CallerTraffic } from '../harness/caller-traffic.ts';
import { createNamespace, deleteNamespace, eventually, testCluster } from './support/cluster.ts';
import { deployPaymentsRouting, startController, startTraffic } from './support/rollout-env.ts';
import { rolloutSuite } from './support/rollout-scenario.ts';

const cluster = testCluster();
const { readRollout, readVirtualService, createRollout, changeImage, waitForPhase, prometheus, cleanups } = rolloutSuite(cluster);

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

describe('header and mirror routes against istiod', () => {
  it('header-matched requests reach the canary at weight 0, failing mirrored copies do not fail the release, and promotion takes both routes away', async () => {
    const namespace = await createNamespace(cluster, 'steps');
    await deployPaymentsRouting(namespace, { withCanarySubset: true, namedRoutes: true });
    const traffic = await startTraffic(cluster, prometheus(), namespace, { errorRate: 0, shadowErrorRate: 1 }, {
      requestHeaders: [{ share: 0.2, headers: { 'x-canary': 'yes' } }],
    });
    const controller = startController(prometheus().url, 'steps');
    cleanups.push(async () => {
      await controller.kill('SIGKILL');
      await traffic.stop();
      await deleteNamespace(cluster, namespace);
    });
    const userRoutes = (await readVirtualService(namespace)).spec.http;
    await createRollout(namespace, 'payments:1.0', ROLLOUT);
    await waitForPhase(namespace, 'Healthy');
    // Before stable's first pods, checkout's requests find none (UH): not the rollout's doing.
    await eventually(`${namespace}: checkout's sidecar has stable's endpoints`, async () => {
      const applied = traffic.sidecar.applied();
      return Object.entries(applied?.clusters ?? {}).some(([name, cluster]) => name.includes('|stable|') && cluster.endpoints.some((e) => e.healthy));
    }, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const failedBefore = await requests(traffic, proxyFailures);

    await changeImage(namespace, 'payments:1.1');
    // The pause step: both routes in place, the canary still at weight 0.
    await eventually(`${namespace}: at the pause with both routes applied by checkout's sidecar`, async () => {
      const status = (await readRollout(namespace)).status;
      const names = traffic.sidecar.applied()?.routes.map((route) => route.name) ?? [];
      return status?.currentStepIndex === 2 && names[0] === 'testers' && names[1] === 'shadow';
    }, 90_000);
    const before = { canary: await requests(traffic, seenByCaller('payments-canary')), all: await requests(traffic, (l) => l.reporter === 'source') };
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const canaryShare = (await requests(traffic, seenByCaller('payments-canary')) - before.canary) / (await requests(traffic, (l) => l.reporter === 'source') - before.all);
    expect((await readRollout(namespace)).status?.canaryWeight).toBe(0);
    // A fifth of the requests carry the header: they, and nothing else at weight 0, reach the canary.
    expect(canaryShare).toBeGreaterThan(0.1);
    expect(canaryShare).toBeLessThan(0.3);
    // Every request is copied to the canary; only its own proxy reports the copies, which all fail.
    const shadowFailures = await requests(traffic, (l) => l.reporter === 'destination' && l.destination_workload === 'payments-canary' && l.response_code === '503');
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
