// Canary releases end to end: the controller process, the real API server, a real Prometheus
// scraping Istio-shaped series from a simulator that routes by what a caller's sidecar has
// applied from istiod's pushes.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, eventually, kubectl, testCluster } from './support/cluster.ts';
import { paymentsRollout, startController } from './support/rollout-env.ts';
import { ROLLOUTS, canaryWeightOf, rolloutSuite, type RolloutView } from './support/rollout-scenario.ts';

const cluster = testCluster();


const {
  readRollout, readVirtualService, readDestinationRule, watchWeights, scenario, createRollout, changeImage, waitForPhase, deploymentImage, roleImage, settleFirstDeploy, prometheus, cleanups,
} = rolloutSuite(cluster);
const group = ROLLOUTS;

describe('canary rollouts', () => {
  it('walks a healthy canary through every step and promotes it, the statistical judge reading the real Prometheus', async () => {
    // As fast as stable: the judge compares the two (a strict significance: this test is about the path, not the odds).
    const { namespace } = await scenario('healthy', { withCanarySubset: true, canaryLatencyMs: 20 });
    const judge = (name: string, test: string) => ({ name, judge: { test, significance: 0.001, minSamples: 50 } });
    await settleFirstDeploy(namespace, {
      analysis: {
        interval: '5s', failureLimit: 1, minRequests: 10,
        metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }, judge('errors-vs-stable', 'ErrorRate'), judge('latency-vs-stable', 'Latency')],
      },
    });
    const first = await roleImage(namespace, 'stable');
    expect(first).toMatchObject({ image: 'payments:1.0', replicas: 2 });
    const weights = watchWeights(namespace);
    // The poller's first sample is the weight before the change, however slow its first read.
    await eventually('the weight before the change sampled', async () => weights.seen.length > 0);
    await changeImage(namespace, 'payments:1.1');
    const done = await waitForPhase(namespace, 'Healthy', 120_000).then(async () => {
      // Healthy again only after promotion: wait for the new revision to be the stable one.
      let rollout = await readRollout(namespace);
      await eventually('stable runs payments:1.1', async () => (await roleImage(namespace, 'stable')).image === 'payments:1.1', 120_000);
      rollout = await waitForPhase(namespace, 'Healthy', 60_000);
      return rollout;
    });
    await eventually('the sampler saw the promotion', async () => weights.seen.at(-1) === 0);
    weights.stop();
    // Promotion re-points the stable subset to the canary's pods: no shift to 100% canary first.
    expect(weights.seen).toEqual([0, 20, 50, 0]);
    expect(done.status?.canaryWeight ?? 0).toBe(0);
    // The previous revision is kept at zero pods (for undo), with its template.
    await eventually('the previous revision scaled to zero', async () => (await deploymentImage(namespace, first.name!)).replicas === 0, 120_000);
    expect(await deploymentImage(namespace, first.name!)).toEqual({ image: 'payments:1.0', replicas: 0 });
    expect(`payments-${done.status?.stableRevision}`).not.toBe(first.name);
    const vs = await readVirtualService(namespace);
    expect(vs.spec.http[1]!.route.map((d) => d.weight)).toEqual([100, 0]);
    expect(vs.spec.http[0]!.route).toEqual([{ destination: { host: 'payments', subset: 'stable' }, weight: 100 }]);
    const last = (done.status?.analysis as { last?: { name: string; verdict: string; message: string }[] } | undefined)?.last ?? [];
    expect(last.find((check) => check.name === 'latency-vs-stable')?.message).toMatch(/Mann-Whitney z = .* over \d+ buckets|canary and .* stable requests/);
    expect(last.filter((check) => check.name.endsWith('-vs-stable')).map((check) => check.verdict)).toEqual(['pass', 'pass']);
  });

  it('rolls a failing canary back within one analysis interval of the failure limit, judged by a ClusterAnalysisTemplate with args', async () => {
    const { namespace } = await scenario('failing', { withCanarySubset: true, canaryErrorRate: 0.5 });
    // The metrics come from a template, one of whose queries takes the Rollout's name as an argument.
    const templateName = `${namespace}-errors`;
    const analysis = {
      interval: '5s', failureLimit: 1, minRequests: 10,
      templates: [{ templateName, clusterScope: true }], args: [{ name: 'workload', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
    };
    await createRollout(namespace, 'payments:1.0', { analysis });
    const waiting = await waitForPhase(namespace, 'Degraded', 60_000);
    expect(waiting.status?.message).toMatch(/ClusterAnalysisTemplate .* does not exist in the cluster/);
    await cluster.custom.createClusterCustomObject({
      group: 'switchboard.dev', version: 'v1alpha1', plural: 'clusteranalysistemplates',
      body: {
        apiVersion: 'switchboard.dev/v1alpha1', kind: 'ClusterAnalysisTemplate', metadata: { name: templateName },
        spec: {
          args: [{ name: 'workload' }],
          metrics: [
            { name: 'error-rate', maxErrorRatePercent: 5 },
            { name: 'canary-seen', query: 'count(istio_requests_total{destination_workload=~"{{ args.workload }}-.*"}) or vector(0)', min: 0 },
          ],
        },
      },
    });
    cleanups.push(async () => { await cluster.custom.deleteClusterCustomObject({ group: 'switchboard.dev', version: 'v1alpha1', plural: 'clusteranalysistemplates', name: templateName }); });
    await waitForPhase(namespace, 'Healthy');
    await changeImage(namespace, 'payments:2.0-broken');
    const rolledBack = await waitForPhase(namespace, 'RolledBack', 120_000);
    expect(rolledBack.status?.rollback?.reason).toBe('AnalysisFailed');
    expect(rolledBack.status?.analysis?.failedChecks).toBeGreaterThanOrEqual(2);
    // The round that reached failureLimit + 1 is the one that rolled back: no further interval waited.
    const { at } = rolledBack.status!.rollback!;
    const lastRunAt = (rolledBack.status!.analysis as { lastRunAt?: string }).lastRunAt!;
    expect(Date.parse(at) - Date.parse(lastRunAt)).toBeLessThanOrEqual(5_000);
    expect(rolledBack.status?.message ?? '').toMatch(/error-rate/);
    const last = (rolledBack.status?.analysis as { last?: { name: string; verdict: string }[] } | undefined)?.last ?? [];
    expect(last.find((check) => check.name === 'canary-seen')?.verdict).toBe('pass');
    // The decision is recorded in status first and carried out by the next writes, so that a
    // controller that dies in between still finishes it.
    await eventually('all traffic back on stable', async () => canaryWeightOf((await readVirtualService(namespace)).spec.http[1]) === 0, 10_000);
    await eventually('canary scaled to zero', async () => (await roleImage(namespace, 'canary')).replicas === 0);
    expect((await roleImage(namespace, 'stable')).image).toBe('payments:1.0');
  });

  it('never promotes while Prometheus is unreachable', async () => {
    const { namespace } = await scenario('no-prometheus', { withCanarySubset: true, prometheusUrl: 'http://127.0.0.1:9' });
    await settleFirstDeploy(namespace);
    await changeImage(namespace, 'payments:1.1');
    await eventually('an analysis round that errored', async () => ((await readRollout(namespace)).status?.analysis?.erroredChecks ?? 0) > 0, 60_000);
    // Three more intervals: long enough for a healthy canary to have gone through two steps.
    await new Promise((r) => setTimeout(r, 15_000));
    const rollout = await readRollout(namespace);
    expect(rollout.status?.phase).not.toBe('Healthy');
    expect(rollout.status?.canaryWeight).toBeLessThanOrEqual(20);
    expect((await roleImage(namespace, 'stable')).image).toBe('payments:1.0');
  });

  it('adds the canary subset to the DestinationRule before the first weight change', async () => {
    const { namespace } = await scenario('subsets', { withCanarySubset: false });
    const history: string[] = [];
    const timer = setInterval(() => {
      void Promise.all([readDestinationRule(namespace), readVirtualService(namespace)]).then(([dr, vs]) => {
        const entry = `subset canary ${dr.spec.subsets.some((s) => s.name === 'canary') ? 'present' : 'absent'}, weight ${canaryWeightOf(vs.spec.http[1])}`;
        if (history.at(-1) !== entry) history.push(entry);
      }, () => undefined);
    }, 50);
    await eventually('history recording', async () => history.length > 0);
    await settleFirstDeploy(namespace);
    await changeImage(namespace, 'payments:1.1');
    await eventually('canary weight 20', async () => canaryWeightOf((await readVirtualService(namespace)).spec.http[1]) === 20, 60_000);
    clearInterval(timer);
    expect(history[0]).toBe('subset canary absent, weight 0');
    expect(history.indexOf('subset canary present, weight 0')).toBeGreaterThan(0);
    expect(history.indexOf('subset canary present, weight 20')).toBeGreaterThan(history.indexOf('subset canary present, weight 0'));
    expect(history).not.toContain('subset canary absent, weight 20');
    const canary = (await readDestinationRule(namespace)).spec.subsets.find((s) => s.name === 'canary');
    expect(canary?.labels).toEqual({ app: 'payments', 'switchboard.dev/revision': (await readRollout(namespace)).status?.canaryRevision });
  });

  it('leaves the VirtualService untouched and says why when the DestinationRule is missing', async () => {
    const { namespace } = await scenario('no-dr', { withDestinationRule: false });
    const before = (await readVirtualService(namespace)).metadata.resourceVersion;
    await createRollout(namespace, 'payments:1.0');
    let rollout: RolloutView | undefined;
    await eventually('a condition naming the missing DestinationRule', async () => {
      rollout = await readRollout(namespace);
      return (rollout.status?.conditions ?? []).some((c) => c.status !== 'True' && /payments-destination/.test(c.message)) || /payments-destination/.test(rollout.status?.message ?? '');
    }, 60_000);
    expect((await readVirtualService(namespace)).metadata.resourceVersion).toBe(before);
    expect(rollout?.status?.phase).toBe('Degraded');
  });

  it('finishes correctly after the controller is killed mid-rollout', async () => {
    const { namespace, controllers } = await scenario('restart', { withCanarySubset: true });
    await settleFirstDeploy(namespace);
    const first = await roleImage(namespace, 'stable');
    const weights = watchWeights(namespace);
    // The poller's first sample is the weight before the change, however slow its first read.
    await eventually('the weight before the change sampled', async () => weights.seen.length > 0);
    await changeImage(namespace, 'payments:1.1');
    await eventually('canary at 20%', async () => (await readRollout(namespace)).status?.canaryWeight === 20, 60_000);
    await controllers[0]!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 3_000));
    controllers.push(startController(prometheus().url, 'restart-second'));
    await eventually('stable runs payments:1.1', async () => (await roleImage(namespace, 'stable')).image === 'payments:1.1', 120_000);
    const done = await waitForPhase(namespace, 'Healthy', 60_000);
    await eventually('the sampler saw the promotion', async () => weights.seen.at(-1) === 0);
    weights.stop();
    expect(weights.seen).toEqual([0, 20, 50, 0]);
    const events = await cluster.core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.kind=Rollout' });
    const count = (reason: string) => events.items.filter((e) => e.reason === reason).length;
    const story = events.items.map((e) => `${e.lastTimestamp?.toISOString()} ${e.reason}: ${e.message}`).sort().join('\n');
    expect(count('PromotionStableRepointed'), story).toBe(1);
    expect(count('Promoted'), story).toBe(1);
    // One Deployment per revision, each created once: promotion created none.
    expect(count('CreatingCanary'), story).toBe(1);
    const owned = await cluster.apps.listNamespacedDeployment({ namespace, labelSelector: 'switchboard.dev/rollout=payments' });
    expect(owned.items.map((deployment) => deployment.metadata?.name).sort()).toEqual([`payments-${done.status?.stableRevision}`, first.name].sort());
    expect(done.status?.stableRevision).toBeDefined();
  });

  it('sends all traffic back to stable when the Rollout is deleted mid-canary', async () => {
    const { namespace } = await scenario('delete', { withCanarySubset: true });
    await settleFirstDeploy(namespace);
    await changeImage(namespace, 'payments:1.1');
    await eventually('canary at 20%', async () => (await readRollout(namespace)).status?.canaryWeight === 20, 60_000);
    await cluster.custom.deleteNamespacedCustomObject({ ...group, namespace, name: 'payments' });
    await eventually('Rollout gone', async () => readRollout(namespace).then(() => false, () => true), 60_000);
    const vs = await readVirtualService(namespace);
    expect(vs.spec.http[1]!.route.map((d) => [d.destination.subset, d.weight])).toEqual([['stable', 100], ['canary', 0]]);
  });

  it('schedules the canary away from stable\'s node with required anti-affinity, sized by setCanaryScale at weight 0', async () => {
    // A second node (kwok runs every node) beside the test cluster's one, for the canary to go to.
    const node = `kwok-affinity-${Date.now()}`;
    await kubectl(['apply', '-f', '-'], stringify({
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: node, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { 'kubernetes.io/hostname': node, type: 'kwok' } },
      status: { allocatable: { cpu: '32', memory: '256Gi', pods: '110' }, capacity: { cpu: '32', memory: '256Gi', pods: '110' } },
    }));
    cleanups.push(async () => { await kubectl(['delete', 'node', node, '--wait=false']); });
    const { namespace } = await scenario('affinity', { withCanarySubset: true });
    await settleFirstDeploy(namespace, {
      replicas: 1, antiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} }, steps: [{ setCanaryScale: { replicas: 1 } }, { pause: {} }],
    });
    await changeImage(namespace, 'payments:1.1');
    const nodeOf = async (track: 'stable' | 'canary') => {
      const status = (await readRollout(namespace)).status;
      const revision = track === 'stable' ? status?.stableRevision : status?.canaryRevision;
      if (revision === undefined) return [];
      const pods = await cluster.core.listNamespacedPod({ namespace, labelSelector: `app=payments,switchboard.dev/revision=${revision}` });
      return pods.items.map((pod) => pod.spec?.nodeName).filter((name) => name !== undefined);
    };
    await eventually(`${namespace}: the canary pod scheduled`, async () => (await nodeOf('canary')).length === 1, 60_000);
    const [canaryNode] = await nodeOf('canary');
    expect(await nodeOf('stable')).not.toContain(canaryNode);
    const paused = await waitForPhase(namespace, 'Paused', 60_000);
    expect(paused.status?.canaryWeight).toBe(0);
  });

  it('has the API server refuse an invalid Rollout with a message a person understands', async () => {
    const namespace = await createNamespace(cluster, 'invalid');
    cleanups.push(() => deleteNamespace(cluster, namespace));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ steps: [{ setWeight: 150 }] }, /setWeight.*(less than or equal to 100|100)/],
      [{ steps: [{ setWeight: 10, pause: {} }] }, /exactly one of setWeight, pause, setHeaderRoute, setMirrorRoute or setCanaryScale/],
      [{ steps: [{ setHeaderRoute: { name: 'testers', match: [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }] } }] }, /names a route of spec.trafficRouting.managedRoutes/],
      [{ steps: [{ setHeaderRoute: { name: 'testers', match: [{ headerName: 'x', headerValue: { exact: 'a', regex: 'b' } }] } }] }, /exactly one of exact, prefix or regex/],
      [{ steps: [{ setMirrorRoute: { name: 'shadow', percentage: 101 } }] }, /percentage.*100/],
      [{ steps: [{ setCanaryScale: { replicas: 1, weight: 5 } }] }, /exactly one of replicas, weight or matchTrafficWeight true/],
      [{ antiAffinity: {} }, /exactly one of requiredDuringSchedulingIgnoredDuringExecution and preferredDuringSchedulingIgnoredDuringExecution/],
      [{ analysis: { templates: [{ templateName: 't' }], args: [{ name: 'a', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] } }, /exactly one of value and valueFrom/],
      [{ analysis: { interval: '1m' } }, /analysis needs metrics, inline or from templates/],
      [{ analysis: { metrics: [{ name: 'smoke', web: { url: 'http://smoke', jsonPath: '$.failed' } }] } }, /a web metric has a name of its own, takes no query or judge, and needs max or min/],
      [{
        trafficRouting: { host: 'payments', virtualService: { name: 'vs', routes: ['primary'] }, destinationRule: { name: 'dr' }, managedRoutes: [{ name: 'primary' }] },
      }, /weighted route cannot be a header or mirror route/],
      [{
        trafficRouting: { host: 'payments', virtualService: { name: 'vs' }, destinationRule: { name: 'dr' }, managedRoutes: [{ name: 'r' }] },
        steps: [{ setHeaderRoute: { name: 'r' } }, { setMirrorRoute: { name: 'r' } }],
      }, /either a header route or a mirror route/],
      [{ analysis: { interval: '1s', metrics: [{ name: 'error-rate', maxErrorRatePercent: 1 }] } }, /at least 5s/],
      [{ trafficRouting: { host: 'payments', virtualService: { name: 'vs' }, destinationRule: { name: 'dr', stableSubset: 'x', canarySubset: 'x' } } }, /two different subsets/],
      // Several VirtualServices: one form or the other, each listed once, ports and SNI hosts given.
      [{ trafficRouting: { host: 'payments', virtualService: { name: 'vs' }, virtualServices: [{ name: 'vs' }], destinationRule: { name: 'dr' } } }, /exactly one of virtualService .* and virtualServices/],
      [{ trafficRouting: { host: 'payments', destinationRule: { name: 'dr' } } }, /exactly one of virtualService .* and virtualServices/],
      [{ trafficRouting: { host: 'payments', virtualServices: [{ name: 'vs', tcpRoutes: [{ port: 0 }] }], destinationRule: { name: 'dr' } } }, /tcpRoutes\[0\]\.port/],
      [{ trafficRouting: { host: 'payments', virtualServices: [{ name: 'vs', tlsRoutes: [{ port: 443 }] }], destinationRule: { name: 'dr' } } }, /sniHosts: Required value/],
      [{
        trafficRouting: { host: 'payments', virtualServices: [{ name: 'vs', routes: ['primary'] }], destinationRule: { name: 'dr' }, managedRoutes: [{ name: 'primary' }] },
      }, /virtualServices\[0\]\.routes; a weighted route cannot be a header or mirror route/],
      // Role metadata: never a label that selects the pods, never the controller's keys.
      [{ canaryMetadata: { labels: { app: 'payments-canary' } } }, /a label of spec.canaryMetadata must not be one spec.selector or spec.template sets/],
      [{ stableMetadata: { annotations: { 'switchboard.dev/role': 'stable' } } }, /annotations under switchboard.dev\/ are the controller's/],
    ];
    for (const [overrides, message] of cases) {
      await expect(cluster.custom.createNamespacedCustomObject({ ...group, namespace, body: paymentsRollout(namespace, 'payments:1.0', overrides) }))
        .rejects.toThrow(message);
    }
  });
});
