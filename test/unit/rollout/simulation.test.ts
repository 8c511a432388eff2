// Whole rollouts through decide() against a fake cluster (simulation.ts): the order of writes,
// and that a controller that dies, forgets or reads stale data at any point still promotes
// exactly once and never without a passing analysis for each step that sends canary traffic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROMOTE_ANNOTATION } from '../../../src/rollout/commands.ts';
import type { RolloutStep } from '../../../src/rollout/types.ts';
import { weightAtStep } from '../../../src/rollout/state.ts';
import { REV_A, REV_B, TEMPLATE_A, TEMPLATE_B, T0, rollout, seedDestinationRule, seedVirtualService } from './fixtures.ts';
import { Simulation, fakeProvider, splitWeights, type Fault } from './simulation.ts';

const STEPS: RolloutStep[] = [{ setWeight: 5 }, { pause: { duration: '2m' } }, { setWeight: 25 }, { setWeight: 50 }];

function newSimulation(canaryErrorRate: number | Error, steps = STEPS, requests?: number): Simulation {
  const initial = rollout({ spec: { template: TEMPLATE_A, steps }, metadata: { finalizers: undefined } });
  return new Simulation({
    now: T0,
    rollout: initial,
    virtualService: seedVirtualService(5),
    destinationRule: seedDestinationRule(),
    provider: fakeProvider(canaryErrorRate, requests),
  });
}

const healthyAt = (revision: string) => (sim: Simulation) =>
  sim.rollout.status?.phase === 'Healthy' && sim.rollout.status.stableRevision === revision && sim.rollout.status.canaryRevision === undefined;

async function deployed(canaryErrorRate: number | Error, steps = STEPS, requests?: number): Promise<Simulation> {
  const sim = newSimulation(canaryErrorRate, steps, requests);
  await sim.runUntil(healthyAt(REV_A));
  expect(healthyAt(REV_A)(sim)).toBe(true);
  sim.editSpec({ template: TEMPLATE_B });
  return sim;
}

/** Every step completion that sent traffic to the canary had a pass since the step started. */
function expectAnalysisBeforeEachStep(sim: Simulation): void {
  for (const { action, before } of sim.applied) {
    if (action.kind !== 'updateStatus') continue;
    // A folded write: each decision was taken on the status the one before it decided.
    const decisions = action.decisions ?? [action];
    decisions.forEach((decision, index) => {
      if (decision.reason !== 'StepCompleted') return;
      const seen = index === 0 ? before : decisions[index - 1]!.status;
      const stepIndex = seen?.currentStepIndex ?? 0;
      if (weightAtStep(STEPS, stepIndex) === 0) return;
      expect(Date.parse(seen?.analysis?.lastPassedAt ?? '')).toBeGreaterThan(Date.parse(seen?.stepStartedAt ?? ''));
    });
  }
}

describe('simulated rollouts', () => {
  it('taking over a live service: stable created, its subset re-pointed only once its pods are available, then the canary subset once it takes no traffic', async () => {
    const sim = newSimulation(0.1);
    await sim.runUntil(healthyAt(REV_A));
    expect(sim.appliedKinds().filter((kind) => kind !== 'wait' && kind !== 'updateStatus')).toEqual([
      'addFinalizer',
      'createDeployment',
      'ensureSubsets',
      'setWeights(0)',
      'ensureSubsets',
    ]);
    // Outside a rollout the canary subset selects stable's revision too: never a subset without pods.
    expect(sim.destinationRule?.spec.subsets?.map((subset) => subset.labels)).toEqual([
      { app: 'payment-service', 'switchboard.dev/revision': REV_A },
      { app: 'payment-service', 'switchboard.dev/revision': REV_A },
    ]);
  });

  it('a healthy canary walks every step with analysis and is promoted once', async () => {
    const sim = await deployed(0.1);
    const start = sim.applied.length;
    await sim.runUntil(healthyAt(REV_B));
    expect(healthyAt(REV_B)(sim)).toBe(true);
    const weights = sim.appliedKinds().slice(start).filter((kind) => kind.startsWith('setWeights'));
    // Promotion re-points the stable subset to the canary's pods: no shift to 100% canary, no new pods.
    expect(weights).toEqual(['setWeights(5)', 'setWeights(25)', 'setWeights(50)', 'setWeights(0)']);
    expect(splitWeights(sim.virtualService)).toEqual([100, 0]);
    expect(sim.canary).toBeUndefined();
    expect(sim.stable?.metadata?.name).toBe(`payment-service-${REV_B}`);
    const created = sim.applied.slice(start).filter(({ action }) => action.kind === 'createDeployment');
    expect(created.map(({ action }) => action.kind === 'createDeployment' && action.deployment.metadata?.name)).toEqual([`payment-service-${REV_B}`]);
    const repoint = sim.appliedReasons().indexOf('PromotionStableRepointed');
    expect(repoint).toBeGreaterThan(-1);
    expect(sim.destinationRule?.spec.subsets?.map((subset) => subset.labels?.['switchboard.dev/revision'])).toEqual([REV_B, REV_B]);
    // The previous stable is kept for undo, at zero, once its delay is over.
    await sim.runUntil((s) => (s.ofRevision(REV_A)?.spec?.replicas ?? 1) === 0);
    expect(sim.ofRevision(REV_A)?.spec?.replicas).toBe(0);
    expect(sim.appliedReasons().filter((reason) => reason === 'Promoted')).toHaveLength(1);
    expectAnalysisBeforeEachStep(sim);
    // The first route (beta users pinned to canary, with its fault) was never touched.
    expect(sim.virtualService?.spec.http?.[0]).toEqual(seedVirtualService().spec.http?.[0]);
  });

  it('a failing canary is rolled back after failureLimit + 1 failed rounds', async () => {
    const sim = await deployed(7);
    await sim.runUntil((s) => s.rollout.status?.phase === 'RolledBack' && s.canary?.spec?.replicas === 0);
    expect(sim.rollout.status?.rollback?.reason).toBe('AnalysisFailed');
    expect(sim.rollout.status?.analysis?.failedChecks).toBe(2);
    expect(splitWeights(sim.virtualService)).toEqual([100, 0]);
    expect(sim.stable?.metadata?.annotations?.['switchboard.dev/revision']).toBe(REV_A);
  });

  it('Prometheus unreachable never promotes; errors past consecutiveErrorLimit count as failures and roll back', async () => {
    const sim = await deployed(new Error('connect ECONNREFUSED 127.0.0.1:9090'));
    await sim.runUntil((s) => s.rollout.status?.rollback !== undefined || s.now.getTime() > T0.getTime() + 3_600_000);
    expect(sim.rollout.status?.currentStepIndex).toBe(0);
    expect(sim.rollout.status?.rollback?.reason).toBe('AnalysisFailed');
    expect(sim.rollout.status?.rollback?.message).toMatch(/Prometheus gave no answer 6 rounds in a row, more than consecutiveErrorLimit 4/);
    // Errors 5 and 6 in a row each count as a failed check: failureLimit 1 is exceeded at the sixth.
    expect(sim.rollout.status?.analysis).toMatchObject({ erroredChecks: 6, failedChecks: 2, consecutiveErrors: 6, passedChecks: 0 });
    expect(sim.stable?.metadata?.annotations?.['switchboard.dev/revision']).toBe(REV_A);
  });

  it('too little traffic holds the rollout as Inconclusive at its weight after inconclusiveLimit, until promote', async () => {
    const sim = await deployed(0.1, STEPS, 5);
    await sim.runUntil((s) => s.rollout.status?.phase === 'Inconclusive');
    expect(sim.rollout.status).toMatchObject({ currentStepIndex: 0, inconclusiveStepIndex: 0, analysis: { consecutiveInconclusive: 4, passedChecks: 0 } });
    expect(splitWeights(sim.virtualService)).toEqual([95, 5]);
    const heldAt = sim.now;
    await sim.runUntil((s) => s.now.getTime() > heldAt.getTime() + 600_000);
    expect(sim.rollout.status?.phase).toBe('Inconclusive');
    expect(sim.rollout.status?.analysis?.inconclusiveChecks).toBe(4);
    sim.annotate(PROMOTE_ANNOTATION, 'token-1');
    await sim.runUntil((s) => s.rollout.status?.currentStepIndex === 1);
    expect(sim.rollout.status?.inconclusiveStepIndex).toBeUndefined();
    expect(sim.rollout.status?.analysis?.consecutiveInconclusive).toBe(0);
  });

  it('canary pods that never become ready roll back at the progress deadline', async () => {
    const sim = await deployed(0.1);
    sim.canaryPodsReady = false;
    await sim.runUntil((s) => s.rollout.status?.rollback !== undefined);
    expect(sim.rollout.status?.rollback?.reason).toBe('ProgressDeadlineExceeded');
    expect(sim.appliedKinds()).not.toContain('setWeights(5)');
  });

  it('an indefinite pause waits for promote, then finishes', async () => {
    const steps: RolloutStep[] = [{ setWeight: 10 }, { pause: {} }];
    const sim = await deployed(0.1, steps);
    await sim.runUntil((s) => s.rollout.status?.phase === 'Paused' && s.rollout.status.analysis?.lastPassedAt !== undefined, 200);
    const pausedAt = sim.now;
    await sim.runUntil((s) => s.now.getTime() > pausedAt.getTime() + 600_000);
    expect(sim.rollout.status?.currentStepIndex).toBe(1);
    sim.annotate(PROMOTE_ANNOTATION, 'token-1');
    await sim.runUntil(healthyAt(REV_B));
    expect(healthyAt(REV_B)(sim)).toBe(true);
    expect(sim.rollout.status?.acknowledgedCommands?.promote).toBe('token-1');
  });

  it('deleting the Rollout mid-canary restores 100% stable before the finalizer goes', async () => {
    const sim = await deployed(0.1);
    await sim.runUntil((s) => splitWeights(s.virtualService)[1] === 25);
    sim.delete();
    await sim.runUntil((s) => (s.rollout.metadata.finalizers ?? []).length === 0);
    const writes = sim.appliedKinds().filter((kind) => kind !== 'wait');
    expect(writes.slice(writes.lastIndexOf('setWeights(0)'))).toEqual(['setWeights(0)', 'updateStatus', 'orphanDeployment', 'updateClaims', 'updateClaims', 'removeFinalizer']);
    expect(splitWeights(sim.virtualService)).toEqual([100, 0]);
    // KeepStable: the stable Deployment outlives the Rollout, without an owner.
    expect(sim.stable?.metadata?.ownerReferences).toEqual([]);
  });

  it('a controller that crashes, forgets or reads stale data at any point still promotes exactly once', async () => {
    const fault = fc.constantFrom<Fault>('none', 'none', 'none', 'crash', 'forget', 'stale');
    await fc.assert(
      fc.asyncProperty(fc.array(fault, { minLength: 50, maxLength: 300 }), async (faults) => {
        const sim = await deployed(0.1);
        await sim.runUntil(healthyAt(REV_B), 800, faults);
        expect(healthyAt(REV_B)(sim)).toBe(true);
        expect(sim.appliedReasons().filter((reason) => reason === 'Promoted')).toHaveLength(1);
        expectAnalysisBeforeEachStep(sim);
        expect(splitWeights(sim.virtualService)).toEqual([100, 0]);
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it('undo to the kept earlier revision scales its Deployment back up through the steps: no Deployment is created', async () => {
    const sim = await deployed(0.1);
    await sim.runUntil(healthyAt(REV_B));
    await sim.runUntil((s) => (s.ofRevision(REV_A)?.spec?.replicas ?? 1) === 0);
    const kept = sim.ofRevision(REV_A)?.metadata?.uid;
    const start = sim.applied.length;
    // What `switchboard undo --to-revision` writes: the template the kept Deployment recorded.
    sim.editSpec({ template: JSON.parse(sim.ofRevision(REV_A)?.metadata?.annotations?.['switchboard.dev/template'] ?? '{}') });
    await sim.runUntil(healthyAt(REV_A), 600);
    expect(healthyAt(REV_A)(sim)).toBe(true);
    expect(sim.applied.slice(start).filter(({ action }) => action.kind === 'createDeployment')).toEqual([]);
    expect(sim.stable?.metadata?.uid).toBe(kept);
    expect(sim.appliedReasons().slice(start)).toContain('StepCompleted');
    expect(splitWeights(sim.virtualService)).toEqual([100, 0]);
  });
});
