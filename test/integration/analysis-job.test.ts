// Job metrics end to end: the controller process creates a real Job for each round, the Job
// controller of kube-controller-manager runs its pod on a kwok node, and kwok ends the pod the
// way the template's kwok.switchboard.dev/exit label says (test/harness/kwok-stages/pod-exit.yaml).
import { BatchV1Api, type V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually, kubectl, testCluster } from './support/cluster.ts';
import { paymentsRollout, startController } from './support/rollout-env.ts';
import { ROLLOUTS, rolloutSuite } from './support/rollout-scenario.ts';

const cluster = testCluster();
const batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
const { readRollout, scenario, changeImage, waitForPhase, roleImage, settleFirstDeploy, cleanups, prometheus } = rolloutSuite(cluster);

/**
 * A smoke test whose pod exits as `exit` says: "0", "1" or "hang", after `exitAfter` (a duration)
 * if given; `ttl` is the Job's ttlSecondsAfterFinished.
 */
function smokeAnalysis(exit: string, exitAfter?: string, ttl?: number) {
  return {
    interval: '5s', failureLimit: 0, minRequests: 0,
    metrics: [{
      name: 'smoke',
      job: {
        metadata: { labels: { team: 'payments' } },
        spec: {
          backoffLimit: 0,
          ...(ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }),
          template: {
            metadata: { labels: { 'kwok.switchboard.dev/exit': exit }, ...(exitAfter === undefined ? {} : { annotations: { 'kwok.switchboard.dev/exit-after': exitAfter } }) },
            spec: { restartPolicy: 'Never', containers: [{ name: 'smoke', image: 'smoke:1', args: ['--target={{ canary }}'] }] },
          },
        },
      },
    }],
  };
}

// One step: a round that passes there promotes.
const STEPS = [{ setWeight: 50 }];

/** Every Job seen in the namespace until stopped, by name, as first seen. */
function recordJobs(namespace: string): { seen: Map<string, V1Job>; stop: () => void } {
  const seen = new Map<string, V1Job>();
  const timer = setInterval(() => {
    void batch.listNamespacedJob({ namespace }).then((list) => {
      for (const job of list.items) if (!seen.has(job.metadata!.name!)) seen.set(job.metadata!.name!, job);
    }, () => undefined);
  }, 100);
  return { seen, stop: () => clearInterval(timer) };
}

const jobsLeft = async (namespace: string) => (await batch.listNamespacedJob({ namespace })).items.length;
type Last = { name: string; verdict: string; message: string; value?: number }[];
const lastChecks = (status: unknown) => ((status as { analysis?: { last?: Last } } | undefined)?.analysis?.last ?? []);

describe('job metrics', () => {
  it('a smoke Job that succeeds passes the step, across a controller restart: found again, not created twice; promoted, and cleaned up', async () => {
    const { namespace, controllers } = await scenario('job-pass', { withCanarySubset: true });
    await settleFirstDeploy(namespace, { steps: STEPS, analysis: smokeAnalysis('0', '6s') });
    const jobs = recordJobs(namespace);
    await changeImage(namespace, 'payments:1.1');
    await eventually('the round\'s Job created', async () => jobs.seen.size > 0, 60_000);
    // Killed mid-round: the next controller plans the same round and takes the Job over.
    await controllers[0]!.kill('SIGKILL');
    controllers.push(startController(prometheus().url, 'job-pass-restarted'));
    await eventually('stable runs payments:1.1', async () => (await roleImage(namespace, 'stable')).image === 'payments:1.1', 90_000);
    const done = await waitForPhase(namespace, 'Healthy', 30_000);
    jobs.stop();
    const smoke = lastChecks(done.status).find((check) => check.name === 'smoke');
    expect(smoke).toMatchObject({ verdict: 'pass', value: 1 });
    expect(smoke?.message).toMatch(/^smoke: Job payments-smoke-[0-9a-f]{10} succeeded \(1 pod completed\)$/);
    // One step, one passing round, one Job: the restarted controller created none of its own.
    expect([...jobs.seen.keys()]).toEqual([smoke?.message.split(' ')[2]]);
    const rollout = await readRollout(namespace);
    for (const job of jobs.seen.values()) {
      expect(job.metadata?.labels).toMatchObject({ team: 'payments', 'switchboard.dev/rollout': 'payments', 'switchboard.dev/analysis-metric': 'smoke' });
      expect(job.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'Rollout', name: 'payments', uid: (rollout.metadata as { uid?: string }).uid, controller: true })]);
      // The canary's workload: its revision's Deployment, stable now.
      expect(job.spec?.template.spec?.containers[0]?.args).toEqual([`--target=payments-${rollout.status?.stableRevision}`]);
    }
    await eventually('no Job left', async () => (await jobsLeft(namespace)) === 0, 20_000);
  });

  it('a release gated by a smoke Job and judged against stable is switched over, then rolled back by the watch when its error rate rises', async () => {
    const { namespace, traffic } = await scenario('job-watch', { withCanarySubset: true, canaryLatencyMs: 20 });
    const smoke = smokeAnalysis('0').metrics[0]!;
    const analysis = {
      interval: '5s', failureLimit: 0, minRequests: 10,
      metrics: [smoke, { name: 'error-rate', maxErrorRatePercent: 5 }, { name: 'errors-vs-stable', judge: { test: 'ErrorRate', significance: 0.001, minSamples: 50 } }],
    };
    await settleFirstDeploy(namespace, { steps: STEPS, postPromotionWatch: { duration: '10m' }, analysis });
    await changeImage(namespace, 'payments:1.1');
    // The step at 50% passed on the Job, the threshold and the judge: the new version takes it all.
    let checks: Last = [];
    await eventually('the watch under way, all traffic on the new version', async () => {
      const { status } = await readRollout(namespace);
      // The 50% step's last round, read before the watch's rounds (without the judge) replace it.
      if (lastChecks(status).length === 3) checks = lastChecks(status);
      return status?.canaryWeight === 100 && status.currentStepIndex === 2;
    }, 120_000);
    expect(checks.find((check) => check.name === 'errors-vs-stable')?.message).toMatch(/two-proportion z = .*no evidence that the canary fails more often/);
    expect(checks.find((check) => check.name === 'smoke')).toMatchObject({ verdict: 'pass' });
    traffic.simulator.setBehaviour('canary', { errorRate: 0.5 });
    const rolledBack = await waitForPhase(namespace, 'RolledBack', 60_000);
    expect(rolledBack.status?.rollback?.reason).toBe('AnalysisFailed');
    expect(rolledBack.status?.message).toMatch(/error-rate/);
    // During the watch the judge sat out: stable served nothing to compare with.
    expect(lastChecks(rolledBack.status).map((check) => check.name)).toEqual(['smoke', 'error-rate']);
    expect((await roleImage(namespace, 'stable')).image).toBe('payments:1.0');
  });

  it('a smoke Job that fails fails the round: rolled back past failureLimit 0, its Job kept for its TTL', async () => {
    const { namespace } = await scenario('job-fail', { withCanarySubset: true });
    await settleFirstDeploy(namespace, { steps: STEPS, analysis: smokeAnalysis('1', undefined, 600) });
    await changeImage(namespace, 'payments:2.0-broken');
    const rolledBack = await waitForPhase(namespace, 'RolledBack', 90_000);
    expect(rolledBack.status?.rollback?.reason).toBe('AnalysisFailed');
    expect(rolledBack.status?.message).toMatch(/smoke: Job payments-smoke-[0-9a-f]{10} failed \(BackoffLimitExceeded/);
    expect(lastChecks(rolledBack.status).find((check) => check.name === 'smoke')).toMatchObject({ verdict: 'fail', value: 0 });
    expect((await roleImage(namespace, 'stable')).image).toBe('payments:1.0');
    expect(rolledBack.status?.message).toMatch(/kept 600s for its logs \(ttlSecondsAfterFinished\)/);
    // Left for Kubernetes' TTL controller: its failed pod's logs are there to read.
    const kept = (await batch.listNamespacedJob({ namespace })).items;
    expect(kept.map((job) => job.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True'))).toEqual([true]);
  });

  it('a Job still running when the rollout is aborted is deleted', async () => {
    const { namespace } = await scenario('job-abort', { withCanarySubset: true });
    await settleFirstDeploy(namespace, { steps: STEPS, analysis: smokeAnalysis('hang') });
    await changeImage(namespace, 'payments:1.1');
    let running: V1Job | undefined;
    await eventually('the round\'s Job running', async () => {
      running = (await batch.listNamespacedJob({ namespace })).items.find((job) => (job.status?.active ?? 0) > 0);
      return running !== undefined;
    }, 90_000);
    await kubectl(['annotate', 'rollouts.switchboard.dev', 'payments', '-n', namespace, `switchboard.dev/abort=${Date.now()}`, '--overwrite']);
    await waitForPhase(namespace, 'Aborted', 30_000);
    await eventually(`Job ${running?.metadata?.name} deleted`, async () => (await jobsLeft(namespace)) === 0, 20_000);
    // The abandoned round counted for nothing.
    expect((await readRollout(namespace)).status?.analysis?.failedChecks ?? 0).toBe(0);
  });

  it('the API server refuses a job metric with a limit, a second way to measure, or no pod template', async () => {
    const namespace = await createNamespace(cluster, 'job-invalid');
    cleanups.push(() => deleteNamespace(cluster, namespace));
    const job = smokeAnalysis('0').metrics[0]!.job;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'smoke', max: 0, job }, /a job metric has a name of its own and takes no max or min/],
      [{ name: 'error-rate', maxErrorRatePercent: 1, job }, /a job metric has a name of its own/],
      [{ name: 'smoke', query: 'up', max: 1, job }, /a metric measures one way only, by query, judge, web or job/],
      [{ name: 'smoke', web: { url: 'http://smoke', jsonPath: '$.failed' }, max: 0, job }, /a metric measures one way only/],
      [{ name: 'smoke', job: { spec: { backoffLimit: 0 } } }, /spec.template: Required value/],
    ];
    for (const [metric, message] of cases) {
      await expect(cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body: paymentsRollout(namespace, 'payments:1.0', { analysis: { interval: '5s', metrics: [metric] } }) }))
        .rejects.toThrow(message);
    }
    // The template's pod spec is kept whole, fields the schema does not list included.
    await cluster.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body: paymentsRollout(namespace, 'payments:1.0', { analysis: { interval: '5s', metrics: [{ name: 'smoke', job }] } }) });
    const stored = await readRollout(namespace);
    expect((stored.spec.analysis as { metrics: unknown[] }).metrics[0]).toEqual({ name: 'smoke', job: { ...job, timeoutSeconds: 600 } });
  });
});
