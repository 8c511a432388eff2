// What real clusters do that the happy path does not, against the real API server and a real
// Prometheus: steps edited mid-flight, analysis that cannot conclude, Deployments that are not
// ours, refused writes, commands on an invalid spec, deletion, pinned routes, HPAs.
import { describe, expect, it } from 'vitest';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, eventually, kubectl, testCluster } from './support/cluster.ts';
import { deployPaymentsRouting, paymentsRollout, startController } from './support/rollout-env.ts';
import { ROLLOUTS, canaryWeightOf, rolloutSuite } from './support/rollout-scenario.ts';
import { RolloutApi } from '../../src/cli/rollouts/rollout-api.ts';
import { readUndo, undoRollout } from '../../src/cli/rollouts/rollout-undo.ts';
import { templateRevision } from '../../src/rollout/revision.ts';
import type { PodTemplate } from '../../src/rollout/types.ts';

const cluster = testCluster();
const {
  readRollout, readVirtualService, readDestinationRule, watchWeights, scenario, createRollout, waitForPhase, roleImage, settleFirstDeploy, eventReasons, changeImage,
  prometheus, cleanups,
} = rolloutSuite(cluster);

/** The name of the Deployment in the stable role (status.stableRevision). */
async function stableName(namespace: string): Promise<string> {
  return `payments-${(await readRollout(namespace)).status?.stableRevision}`;
}


async function patchRollout(namespace: string, body: object): Promise<void> {
  await kubectl(['patch', 'rollouts.switchboard.dev', 'payments', '-n', namespace, '--type', 'merge', '-p', JSON.stringify(body)]);
}
async function annotate(namespace: string, annotation: string): Promise<void> {
  await kubectl(['annotate', 'rollouts.switchboard.dev', 'payments', '-n', namespace, `${annotation}=${Date.now()}`, '--overwrite']);
}

/** steps: 20%, wait for promote, 50%, pause 5s: the rollout holds at step 2 until promoted. */
const HELD_STEPS = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '5s' } }];

/**
 * Samples, every 100 ms until stopped, whether the DestinationRule's stable subset selects a ready
 * pod: the held-out check of a change of layout or of a takeover.
 */
function sampleStableSubset(namespace: string): { stop(): Promise<{ samples: number; violations: string[] }> } {
  const violations: string[] = [];
  let samples = 0;
  let sampling = true;
  const done = (async () => {
    while (sampling) {
      const [current, pods] = await Promise.all([readDestinationRule(namespace), cluster.core.listNamespacedPod({ namespace })]);
      const labels = current.spec.subsets.find((s) => s.name === 'stable')?.labels ?? {};
      const ready = pods.items.filter((pod) =>
        Object.entries(labels).every(([k, v]) => pod.metadata?.labels?.[k] === v) &&
        pod.metadata?.deletionTimestamp === undefined &&
        (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
      samples += 1;
      if (ready.length === 0) violations.push(`stable subset ${JSON.stringify(labels)} selects no ready pod`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { stop: async () => { sampling = false; await done; return { samples, violations }; } };
}

describe('rollouts where real clusters differ from the happy path', () => {
  it('steps cut mid-rollout restart from step 1 at the held weight, and still need analysis to promote', async () => {
    const { namespace } = await scenario('steps-edit', { withCanarySubset: true });
    await settleFirstDeploy(namespace, { steps: HELD_STEPS });
    await changeImage(namespace, 'payments:1.1');
    await eventually('held at step 2 at 20%', async () => {
      const status = (await readRollout(namespace)).status;
      return status?.phase === 'Paused' && status.currentStepIndex === 1 && status.canaryWeight === 20;
    }, 90_000);
    const weights = watchWeights(namespace);
    // The poller's first sample is the weight before the change, however slow its first read.
    await eventually('the weight before the change sampled', async () => weights.seen.length > 0);
    await patchRollout(namespace, { spec: { steps: [{ pause: { duration: '5s' } }, { setWeight: 50 }] } });
    await eventually('a StepsChanged event', async () => (await eventReasons(namespace)).some((e) => e.reason === 'StepsChanged'));
    const restarted = await readRollout(namespace);
    expect(restarted.status?.currentStepIndex).toBeLessThanOrEqual(1);
    await eventually('stable runs payments:1.1', async () => (await roleImage(namespace, 'stable')).image === 'payments:1.1', 120_000);
    await eventually('promoted: all traffic on the new stable', async () => (await readRollout(namespace)).status?.phase === 'Healthy' && canaryWeightOf((await readVirtualService(namespace)).spec.http[1]) === 0, 60_000);
    // The sampler reads on its own schedule: it may not have seen the last write yet.
    await eventually('the sampler saw the promotion', async () => weights.seen.at(-1) === 0);
    weights.stop();
    // 20% was kept through the new first step (a pause), then 50%, then promotion (the stable
    // subset re-pointed to the canary's pods, then all traffic on stable): never straight to 0.
    expect(weights.seen).toEqual([20, 50, 0]);
    const reasons = (await eventReasons(namespace)).map((e) => e.reason);
    expect(reasons.lastIndexOf('AnalysisPassed')).toBeGreaterThan(reasons.indexOf('StepsChanged'));
  });

  it('Prometheus unreachable: errored rounds past consecutiveErrorLimit count as failures and roll back', async () => {
    const { namespace } = await scenario('prom-down', { withCanarySubset: true, prometheusUrl: 'http://127.0.0.1:9' });
    await settleFirstDeploy(namespace, { analysis: { interval: '5s', failureLimit: 0, consecutiveErrorLimit: 1, metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }] } });
    await changeImage(namespace, 'payments:1.1');
    const rolledBack = await waitForPhase(namespace, 'RolledBack', 90_000);
    expect(rolledBack.status?.rollback?.reason).toBe('AnalysisFailed');
    expect(rolledBack.status?.rollback?.message).toMatch(/Prometheus gave no answer 2 rounds in a row, more than consecutiveErrorLimit 1/);
    expect(rolledBack.status?.analysis).toMatchObject({ passedChecks: 0, erroredChecks: 2, failedChecks: 1 });
    expect((await roleImage(namespace, 'stable')).image).toBe('payments:1.0');
    expect((await eventReasons(namespace)).find((e) => e.reason === 'AnalysisFailed')?.type).toBe('Warning');
  });

  it('too little traffic: Inconclusive holds the weight with a Warning until promote', async () => {
    const { namespace } = await scenario('inconclusive', { withCanarySubset: true });
    await settleFirstDeploy(namespace, { analysis: { interval: '5s', minRequests: 1_000_000, inconclusiveLimit: 1, metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }] } });
    await changeImage(namespace, 'payments:1.1');
    const held = await waitForPhase(namespace, 'Inconclusive', 90_000);
    expect(held.status?.canaryWeight).toBe(20);
    expect(held.status?.message).toMatch(/switchboard promote payments.*switchboard abort payments/);
    expect((await eventReasons(namespace)).find((e) => e.reason === 'Inconclusive')?.type).toBe('Warning');
    // Held: no more analysis rounds while a person decides.
    const roundsAt = held.status?.analysis?.inconclusiveChecks;
    await new Promise((r) => setTimeout(r, 7_000));
    expect((await readRollout(namespace)).status).toMatchObject({ phase: 'Inconclusive', canaryWeight: 20, analysis: { inconclusiveChecks: roundsAt } });
    await annotate(namespace, 'switchboard.dev/promote');
    await eventually('past step 1', async () => ((await readRollout(namespace)).status?.currentStepIndex ?? 0) >= 1);
  });

  it('canary pods outlive a rollback by scaleDownDelaySeconds, also across a controller restart', async () => {
    const { namespace, controllers } = await scenario('scale-down', { withCanarySubset: true });
    await settleFirstDeploy(namespace, { steps: HELD_STEPS, scaleDownDelaySeconds: 8 });
    await changeImage(namespace, 'payments:1.1');
    await eventually('held at 20%', async () => (await readRollout(namespace)).status?.canaryWeight === 20, 90_000);
    await annotate(namespace, 'switchboard.dev/abort');
    await eventually('traffic back on stable', async () => canaryWeightOf((await readVirtualService(namespace)).spec.http[1]) === 0, 30_000);
    const weightZeroAt = Date.now();
    await eventually('the delay recorded in status', async () => (await readRollout(namespace)).status?.canaryScaleDownAt !== undefined, 10_000);
    const scaleDownAt = Date.parse((await readRollout(namespace)).status!.canaryScaleDownAt!);
    await controllers[0]!.kill('SIGKILL');
    controllers.push(startController(prometheus().url, 'scale-down-second'));
    await eventually('canary scaled to zero', async () => (await roleImage(namespace, 'canary')).replicas === 0, 60_000);
    // Not before the recorded time, which is scaleDownDelaySeconds after the weight write.
    expect(Date.now()).toBeGreaterThanOrEqual(scaleDownAt);
    expect(scaleDownAt - weightZeroAt).toBeGreaterThan(5_000);
    // Once the canary has no pods, the delay is over and leaves status.
    await eventually('the delay cleared from status', async () => (await readRollout(namespace)).status?.canaryScaleDownAt === undefined, 30_000);
    expect((await readRollout(namespace)).status?.phase).toBe('Aborted');
  });

  it('never scales a <name>-<revision> Deployment it does not own', async () => {
    const { namespace } = await scenario('foreign', { withCanarySubset: true });
    await settleFirstDeploy(namespace);
    // The name the canary's Deployment would have, taken by someone else's.
    const next = structuredClone((await readRollout(namespace)).spec.template as PodTemplate);
    next.spec.containers[0]!.image = 'payments:1.1';
    const name = `payments-${templateRevision(next)}`;
    await cluster.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name },
        spec: { replicas: 1, selector: { matchLabels: { app: 'someone-else' } }, template: { metadata: { labels: { app: 'someone-else' } }, spec: { containers: [{ name: 'x', image: 'other:1' }] } } },
      },
    });
    await changeImage(namespace, 'payments:1.1');
    const degraded = await waitForPhase(namespace, 'Degraded', 60_000);
    expect(degraded.status?.message).toMatch(new RegExp(`Deployment ${name} already exists and is not this Rollout's`));
    const canary = await cluster.apps.readNamespacedDeployment({ namespace, name });
    expect(canary.metadata?.generation).toBe(1);
    expect(canary.spec?.template.spec?.containers[0]?.image).toBe('other:1');
  });

  it('a pod template the API server refuses is reported with its message and retried with backoff, not in a loop', async () => {
    const { namespace, controllers } = await scenario('refused', { withCanarySubset: true });
    await settleFirstDeploy(namespace);
    const rollout = await readRollout(namespace);
    const template = rollout.spec.template as { spec: { containers: { name: string }[] } };
    template.spec.containers[0]!.name = 'Web_1';
    await cluster.custom.replaceNamespacedCustomObject({ ...ROLLOUTS, namespace, name: 'payments', body: rollout });
    const degraded = await waitForPhase(namespace, 'Degraded', 60_000);
    expect(degraded.status?.message).toMatch(/the API server refused the creation of Deployment payments-[0-9a-f]{10}: .*spec\.template\.spec\.containers\[0\]\.name: Invalid value: "Web_1"/);
    await new Promise((r) => setTimeout(r, 6_000));
    const { readFileSync } = await import('node:fs');
    const refusals = readFileSync(controllers[0]!.logFile, 'utf8').split('\n').filter((line) => line.includes('write refused by the API server')).length;
    // With per-key backoff: a handful in those seconds, where a loop made a hundred.
    expect(refusals).toBeGreaterThan(0);
    expect(refusals).toBeLessThan(8);
  });

  it('restart rolls the pods of stable without a new revision', async () => {
    const { namespace } = await scenario('restart-pods', { withCanarySubset: true });
    await settleFirstDeploy(namespace);
    const name = await stableName(namespace);
    const before = await cluster.apps.readNamespacedDeployment({ namespace, name });
    const revision = (await readRollout(namespace)).status?.stableRevision;
    await annotate(namespace, 'switchboard.dev/restart');
    await eventually('stable re-templated with the restart token', async () => {
      const after = await cluster.apps.readNamespacedDeployment({ namespace, name });
      return after.spec?.template.metadata?.annotations?.['switchboard.dev/restartedAt'] !== undefined;
    }, 30_000);
    await eventually('the restart record cleared and the Rollout Healthy', async () => {
      const status = (await readRollout(namespace)).status as { phase?: string; restart?: unknown } | undefined;
      return status?.restart === undefined && status?.phase === 'Healthy';
    }, 60_000);
    const after = await cluster.apps.readNamespacedDeployment({ namespace, name });
    expect(after.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);
    expect(after.metadata?.annotations?.['switchboard.dev/revision']).toBe(revision);
    expect((await readRollout(namespace)).status?.stableRevision).toBe(revision);
  });

  it('labels pods by role, moving the canary\'s to stable\'s in place at promotion; a plain undo brings the previous revision back as canary', async () => {
    const { namespace } = await scenario('role-metadata', { withCanarySubset: true });
    const stableMetadata = { labels: { role: 'stable' }, annotations: { 'example.com/serving': 'yes' } };
    await settleFirstDeploy(namespace, { canaryMetadata: { labels: { role: 'canary' } }, stableMetadata, steps: [{ setWeight: 50 }, { pause: {} }] });
    const podsOf = async (revision: string) => (await cluster.core.listNamespacedPod({ namespace, labelSelector: `switchboard.dev/revision=${revision}` }))
      .items.filter((pod) => pod.metadata?.deletionTimestamp === undefined);
    const roles = async (revision: string) => (await podsOf(revision)).map((pod) => `${pod.metadata?.labels?.role}/${pod.metadata?.annotations?.['example.com/serving'] ?? '-'}`);
    const first = (await readRollout(namespace)).status!.stableRevision!;
    await eventually('the first revision\'s pods carry stable\'s metadata', async () => (await roles(first)).join() === 'stable/yes,stable/yes', 30_000);

    await changeImage(namespace, 'payments:1.1');
    const paused = await waitForPhase(namespace, 'Paused', 90_000);
    const second = paused.status!.canaryRevision!;
    // Born with the canary's: the Deployment was created for that role.
    expect(await roles(second)).toEqual(['canary/-']);
    const judged = (await podsOf(second)).map((pod) => pod.metadata?.uid);
    await annotate(namespace, 'switchboard.dev/promote');
    await eventually('promoted, and the judged pod relabelled stable in place', async () => {
      const status = (await readRollout(namespace)).status;
      const pods = await podsOf(second);
      return status?.phase === 'Healthy' && status.stableRevision === second && pods.length === 2 &&
        judged.every((uid) => pods.some((pod) => pod.metadata?.uid === uid)) && (await roles(second)).join() === 'stable/yes,stable/yes';
    }, 90_000);
    await eventually('the previous revision kept at zero pods', async () =>
      (await cluster.apps.readNamespacedDeployment({ namespace, name: `payments-${first}` })).spec?.replicas === 0, 60_000);
    const kept = await cluster.apps.readNamespacedDeployment({ namespace, name: `payments-${first}` });

    // --to-revision takes a prefix of a kept revision; a plain undo with no rollout in progress goes to the previous one.
    const api = new RolloutApi(cluster.kubeConfig, namespace);
    expect((await readUndo(api, 'payments', first.slice(0, 6))).plan).toMatchObject({ revision: first, exact: true });
    expect(await undoRollout(api, 'payments')).toMatch(new RegExp(`it is revision ${first}, whose Deployment was kept`));
    const back = await waitForPhase(namespace, 'Paused', 90_000);
    expect(back.status?.canaryRevision).toBe(first);
    const reused = await cluster.apps.readNamespacedDeployment({ namespace, name: `payments-${first}` });
    expect(reused.metadata?.uid).toBe(kept.metadata?.uid);
    // Scaled up from zero with its template moved to the canary's metadata: its new pod is born a canary.
    expect(await roles(first)).toEqual(['canary/-']);
    expect(reused.spec?.template.metadata?.labels?.role).toBe('canary');
  });

  it('refuses a Rollout whose name cannot be a label value', async () => {
    const namespace = await createNamespace(cluster, 'long-name');
    cleanups.push(() => deleteNamespace(cluster, namespace));
    const body = paymentsRollout(namespace, 'payments:1.0') as { metadata: { name: string } };
    body.metadata.name = 'p'.repeat(64);
    await expect(cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body })).rejects.toThrow(/at most 63 characters/);
    body.metadata.name = 'p'.repeat(63);
    await cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body });
  });

  it('abort sends all traffic to stable even when the spec became invalid mid-canary', async () => {
    const { namespace } = await scenario('invalid-abort', { withCanarySubset: true });
    await settleFirstDeploy(namespace, { steps: HELD_STEPS });
    await changeImage(namespace, 'payments:1.1');
    await eventually('held at 20%', async () => (await readRollout(namespace)).status?.canaryWeight === 20, 90_000);
    await patchRollout(namespace, { spec: { analysis: { interval: '5s', metrics: [{ name: 'saturation', query: 'max(cpu{pod=~"{{ pod }}"})', max: 0.9 }] } } });
    const invalid = await waitForPhase(namespace, 'Invalid', 30_000);
    expect(invalid.status?.message).toMatch(/pod/);
    expect(canaryWeightOf((await readVirtualService(namespace)).spec.http[1])).toBe(20);
    await patchRollout(namespace, { spec: { paused: true } });
    await annotate(namespace, 'switchboard.dev/abort');
    await eventually('traffic back on stable', async () => canaryWeightOf((await readVirtualService(namespace)).spec.http[1]) === 0, 30_000);
    await waitForPhase(namespace, 'Aborted', 30_000);
    await eventually('canary scaled to zero', async () => (await roleImage(namespace, 'canary')).replicas === 0, 30_000);
  });

  it('kubectl scale and a HorizontalPodAutoscaler drive spec.replicas through the scale subresource', async () => {
    const { namespace } = await scenario('scale', { withCanarySubset: true });
    await settleFirstDeploy(namespace);
    await kubectl(['scale', 'rollout.switchboard.dev/payments', '-n', namespace, '--replicas=3']);
    await eventually('stable at 3', async () => (await roleImage(namespace, 'stable')).replicas === 3, 30_000);
    await eventually('status.replicas and selector for the scale subresource', async () => {
      const status = (await readRollout(namespace)).status;
      return status?.replicas === 3 && status.selector === 'app=payments';
    }, 30_000);
    await kubectl(['apply', '-f', '-'], stringify({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'payments', namespace },
      spec: {
        scaleTargetRef: { apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', name: 'payments' },
        minReplicas: 4, maxReplicas: 6,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
      },
    }));
    // kwok pods report no metrics, but the HPA still enforces minReplicas through the scale subresource.
    await eventually('the HPA raised spec.replicas to its minimum', async () => (await readRollout(namespace)).spec.replicas === 4, 90_000);
    await eventually('stable follows the HPA', async () => (await roleImage(namespace, 'stable')).replicas === 4, 30_000);
    // A rollout under the HPA: the canary gets its share of 4, stable stays at what the HPA set.
    await changeImage(namespace, 'payments:1.1');
    await eventually('canary at 20%', async () => (await readRollout(namespace)).status?.canaryWeight === 20, 90_000);
    expect((await roleImage(namespace, 'stable')).replicas).toBe(4);
    expect((await readRollout(namespace)).spec.replicas).toBe(4);
  });

  it('deleting a Rollout keeps stable serving (KeepStable), and a new Rollout of the same name adopts it', async () => {
    const { namespace } = await scenario('delete-keep', { withCanarySubset: true });
    await settleFirstDeploy(namespace);
    const name = await stableName(namespace);
    const stableUid = (await cluster.apps.readNamespacedDeployment({ namespace, name })).metadata?.uid;
    await changeImage(namespace, 'payments:1.1');
    await eventually('canary at 20%', async () => (await readRollout(namespace)).status?.canaryWeight === 20, 90_000);
    const canaryName = (await roleImage(namespace, 'canary')).name!;
    await cluster.custom.deleteNamespacedCustomObject({ ...ROLLOUTS, namespace, name: 'payments' });
    await eventually('Rollout gone', async () => readRollout(namespace).then(() => false, () => true), 60_000);
    expect(canaryWeightOf((await readVirtualService(namespace)).spec.http[1])).toBe(0);
    await eventually('canary garbage collected', async () => cluster.apps.readNamespacedDeployment({ namespace, name: canaryName }).then(() => false, () => true), 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const stable = await cluster.apps.readNamespacedDeployment({ namespace, name });
    expect(stable.metadata?.uid).toBe(stableUid);
    expect(stable.metadata?.ownerReferences ?? []).toEqual([]);
    expect(stable.status?.availableReplicas).toBe(2);

    await createRollout(namespace, 'payments:1.0');
    await waitForPhase(namespace, 'Healthy', 60_000);
    const adopted = await cluster.apps.readNamespacedDeployment({ namespace, name });
    expect(adopted.metadata?.uid).toBe(stableUid);
    expect(adopted.metadata?.ownerReferences?.map((r) => r.kind)).toEqual(['Rollout']);
  });

  it('deletionPolicy DeleteAll lets both Deployments go with the Rollout', async () => {
    const { namespace } = await scenario('delete-all', { withCanarySubset: true });
    await settleFirstDeploy(namespace, { deletionPolicy: 'DeleteAll' });
    const name = await stableName(namespace);
    await cluster.custom.deleteNamespacedCustomObject({ ...ROLLOUTS, namespace, name: 'payments' });
    await eventually('stable garbage collected', async () => cluster.apps.readNamespacedDeployment({ namespace, name }).then(() => false, () => true), 60_000);
  });

  it("refuses a VirtualService whose beta route is pinned to the canary subset, touching nothing", async () => {
    const namespace = await createNamespace(cluster, 'pinned');
    await deployPaymentsRouting(namespace, { withCanarySubset: true });
    const controller = startController(prometheus().url, 'pinned');
    cleanups.push(async () => { await controller.kill('SIGKILL'); await deleteNamespace(cluster, namespace); });
    await kubectl(['patch', 'virtualservices.networking.istio.io', 'payments-routing', '-n', namespace, '--type', 'json', '-p',
      JSON.stringify([{ op: 'replace', path: '/spec/http/0/route/0/destination/subset', value: 'canary' }])]);
    await createRollout(namespace, 'payments:1.0');
    const degraded = await waitForPhase(namespace, 'Degraded', 60_000);
    expect(degraded.status?.message).toMatch(/http route #0 sends 100% to subset canary, which has no pods outside a rollout/);
    expect((await cluster.apps.listNamespacedDeployment({ namespace, labelSelector: 'switchboard.dev/rollout=payments' })).items).toEqual([]);
  });

  it('moves a Rollout of the <name>-stable/<name>-canary layout to one Deployment per revision without a moment where the stable subset selects no ready pod', async () => {
    const namespace = await createNamespace(cluster, 'migrate');
    await deployPaymentsRouting(namespace, { withCanarySubset: true });
    // The Rollout as the earlier version left it: created, its status written, no controller now.
    const body = paymentsRollout(namespace, 'payments:1.0') as { spec: Record<string, unknown> };
    body.spec.scaleDownDelaySeconds = 3;
    const created = (await cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body })) as { metadata: { uid: string }; spec: { template: PodTemplate } };
    const revision = templateRevision(created.spec.template);
    const legacy = (track: 'stable' | 'canary', replicas: number) => ({
      metadata: {
        name: `payments-${track}`,
        labels: { 'switchboard.dev/rollout': 'payments', 'switchboard.dev/track': track },
        annotations: { 'switchboard.dev/revision': revision },
        ownerReferences: [{ apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', name: 'payments', uid: created.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'payments', 'switchboard.dev/track': track } },
        template: { ...created.spec.template, metadata: { ...created.spec.template.metadata, labels: { ...created.spec.template.metadata.labels, 'switchboard.dev/track': track } } },
      },
    });
    await cluster.apps.createNamespacedDeployment({ namespace, body: legacy('stable', 2) as never });
    await cluster.apps.createNamespacedDeployment({ namespace, body: legacy('canary', 0) as never });
    await cluster.custom.patchNamespacedCustomObjectStatus({ ...ROLLOUTS, namespace, name: 'payments', body: { status: { phase: 'Healthy', stableRevision: revision } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await eventually('the old layout\'s stable pods ready', async () => (await cluster.apps.readNamespacedDeployment({ namespace, name: 'payments-stable' })).status?.availableReplicas === 2, 60_000);
    const dr = await readDestinationRule(namespace);
    expect(dr.spec.subsets.find((s) => s.name === 'stable')?.labels).toEqual({ app: 'payments', 'switchboard.dev/track': 'stable' });

    const sampler = sampleStableSubset(namespace);
    const controller = startController(prometheus().url, 'migrate');
    cleanups.push(async () => { await sampler.stop(); await controller.kill('SIGKILL'); await deleteNamespace(cluster, namespace); });

    const gone = (name: string) => cluster.apps.readNamespacedDeployment({ namespace, name }).then(() => false, () => true);
    await eventually('the old layout\'s Deployments deleted', async () => (await gone('payments-stable')) && (await gone('payments-canary')), 120_000);
    await eventually('their pods gone', async () => (await cluster.core.listNamespacedPod({ namespace, labelSelector: 'switchboard.dev/track' })).items.length === 0, 60_000);
    const { samples, violations } = await sampler.stop();
    expect(samples).toBeGreaterThan(10);
    expect(violations).toEqual([]);
    const subsets = (await readDestinationRule(namespace)).spec.subsets;
    expect(subsets.find((s) => s.name === 'stable')?.labels).toEqual({ app: 'payments', 'switchboard.dev/revision': revision });
    const owned = await cluster.apps.listNamespacedDeployment({ namespace, labelSelector: 'switchboard.dev/rollout=payments' });
    expect(owned.items.map((d) => [d.metadata?.name, d.status?.availableReplicas])).toEqual([[`payments-${revision}`, 2]]);
    const reasons = (await eventReasons(namespace)).map((e) => e.reason);
    expect(reasons).toContain('MigratingToRevisionLayout');
    expect(reasons).toContain('OldLayoutDeleted');
    // The migrated Rollout releases as any other: the new revision in a Deployment of its own.
    await changeImage(namespace, 'payments:1.1');
    await eventually('a canary Deployment of the new revision', async () => (await roleImage(namespace, 'canary')).image === 'payments:1.1', 60_000);
    expect((await roleImage(namespace, 'stable')).name).toBe(`payments-${revision}`);
  });

  it('takes over a live Deployment through workloadRef without a moment where the stable subset selects no ready pod', async () => {
    const namespace = await createNamespace(cluster, 'takeover');
    const live = {
      metadata: { name: 'payments-v1' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'payments', version: 'v1' } },
        template: { metadata: { labels: { app: 'payments', version: 'v1' } }, spec: { containers: [{ name: 'payments', image: 'payments:1.0' }] } },
      },
    };
    await cluster.apps.createNamespacedDeployment({ namespace, body: live });
    await deployPaymentsRouting(namespace, { withCanarySubset: true });
    // The live service's DestinationRule: subsets on the version label, as the article writes them.
    const dr = await readDestinationRule(namespace);
    dr.spec.subsets = [{ name: 'stable', labels: { app: 'payments', version: 'v1' } }, { name: 'canary', labels: { app: 'payments', version: 'v2' } }];
    await cluster.custom.replaceNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', plural: 'destinationrules', namespace, name: 'payments-destination', body: dr });
    await eventually('live pods ready', async () => (await cluster.apps.readNamespacedDeployment({ namespace, name: 'payments-v1' })).status?.availableReplicas === 2);

    const sampler = sampleStableSubset(namespace);
    const controller = startController(prometheus().url, 'takeover');
    cleanups.push(async () => { await sampler.stop(); await controller.kill('SIGKILL'); await deleteNamespace(cluster, namespace); });

    const body = paymentsRollout(namespace, 'unused') as { spec: Record<string, unknown> };
    delete body.spec.template;
    body.spec.workloadRef = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'payments-v1' };
    body.spec.scaleDownDelaySeconds = 3;
    await cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body });
    await eventually('the live Deployment scaled down after takeover', async () => (await cluster.apps.readNamespacedDeployment({ namespace, name: 'payments-v1' })).spec?.replicas === 0, 90_000);
    await eventually('its pods gone', async () => (await cluster.core.listNamespacedPod({ namespace, labelSelector: 'version=v1,!switchboard.dev/revision' })).items.length === 0, 60_000);
    const { samples, violations } = await sampler.stop();
    expect(samples).toBeGreaterThan(10);
    expect(violations).toEqual([]);
    const subsets = (await readDestinationRule(namespace)).spec.subsets;
    const { stableRevision } = (await readRollout(namespace)).status ?? {};
    expect(subsets.find((s) => s.name === 'stable')?.labels).toEqual({ app: 'payments', 'switchboard.dev/revision': stableRevision });
    expect((await roleImage(namespace, 'stable')).image).toBe('payments:1.0');
    // The live Deployment's template is the Rollout's: changing it starts a rollout.
    await kubectl(['set', 'image', 'deployment/payments-v1', '-n', namespace, 'payments=payments:1.1']);
    await eventually('a canary of the new template', async () => (await readRollout(namespace)).status?.canaryRevision !== undefined, 60_000);
  });
});
