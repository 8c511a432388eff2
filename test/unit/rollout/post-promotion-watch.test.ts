// spec.postPromotionWatch: after the last step, the new version alone under analysis while the old
// one keeps every pod; a failure there switches all traffic straight back to it.
import { describe, expect, it } from 'vitest';
import type { MetricsProvider } from '../../../src/analysis/provider.ts';
import { effectiveSteps, resolveSpec } from '../../../src/rollout/defaults.ts';
import type { RolloutSpec } from '../../../src/rollout/types.ts';
import { validateRollout } from '../../../src/rollout/validate.ts';
import { REV_A, REV_B, TEMPLATE_A, TEMPLATE_B, T0, rollout, seedDestinationRule, seedVirtualService } from './fixtures.ts';
import { Simulation, splitWeights } from './simulation.ts';

/** A Prometheus whose canary error rate (percent) the test changes as it goes. */
function adjustable(): MetricsProvider & { canaryErrorRate: number } {
  const provider = {
    canaryErrorRate: 0.1,
    async query(promql: string) {
      if (promql.includes('increase(istio_requests_total')) return 500;
      return promql.includes(`payment-service-${REV_B}`) ? provider.canaryErrorRate : 0.1;
    },
    async queryByLabel() { return new Map<string, number>(); },
    async isOnline() { return true; },
  };
  return provider;
}

async function started(provider: MetricsProvider, analysis?: RolloutSpec['analysis']): Promise<Simulation> {
  const spec = { template: TEMPLATE_A, steps: [{ setWeight: 25 }], postPromotionWatch: { duration: '10m' }, ...(analysis === undefined ? {} : { analysis }) };
  const initial = rollout({ spec, metadata: { finalizers: undefined } });
  const sim = new Simulation({ now: T0, rollout: initial, virtualService: seedVirtualService(0), destinationRule: seedDestinationRule(), provider });
  await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_A);
  sim.editSpec({ template: TEMPLATE_B });
  return sim;
}

describe('postPromotionWatch', () => {
  it('adds the switch and the watch after the steps', () => {
    expect(effectiveSteps({ steps: [{ setWeight: 25 }], postPromotionWatch: { duration: '10m' } })).toEqual([{ setWeight: 25 }, { setWeight: 100 }, { pause: { duration: '10m' } }]);
  });

  it('is refused with dynamicStableScale, which would shrink the old version during the watch', () => {
    const built = rollout({ spec: { postPromotionWatch: { duration: '5m' }, dynamicStableScale: true } });
    expect(validateRollout(built, resolveSpec(built)).join('\n')).toContain('cannot be used with spec.dynamicStableScale');
  });

  it('a healthy new version is promoted after the watch', async () => {
    const sim = await started(adjustable());
    const start = sim.applied.length;
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B, 600);
    expect(sim.rollout.status?.stableRevision).toBe(REV_B);
    expect(sim.appliedKinds().slice(start).filter((kind) => kind.startsWith('setWeights'))).toEqual(['setWeights(25)', 'setWeights(100)', 'setWeights(0)']);
  });

  it('the comparisons with stable sit the watch out: stable serves nothing then, and they would leave every round inconclusive', async () => {
    const provider = adjustable();
    const comparing = provider.query.bind(provider);
    // Stable's requests stop once all traffic is on the new version.
    let stableServes = true;
    provider.query = async (promql: string) => (!stableServes && promql.includes('payment-service-stable') ? 0 : comparing(promql));
    const judged = {
      interval: '1m', failureLimit: 1, minRequests: 20, maxErrorRateIncrease: 1,
      metrics: [{ name: 'error-rate', maxErrorRatePercent: 1 }, { name: 'errors-vs-stable', judge: { test: 'ErrorRate' as const, minSamples: 50 } }],
    };
    const sim = await started(provider, judged);
    await sim.runUntil((s) => s.rollout.status?.canaryWeight === 100, 400);
    const judgedBefore = sim.rollout.status?.analysis?.last?.map((check) => check.name);
    expect(judgedBefore).toEqual(['error-rate', 'errors-vs-stable', 'error-rate-increase']);
    stableServes = false;
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B, 600);
    expect(sim.rollout.status?.analysis?.inconclusiveChecks ?? 0).toBe(0);
    expect(sim.rollout.status?.analysis?.last?.map((check) => check.name)).toEqual(['error-rate']);
  });

  it('a new version that starts failing during the watch goes, all traffic back on the old one, whole', async () => {
    const provider = adjustable();
    const sim = await started(provider);
    await sim.runUntil((s) => s.rollout.status?.currentStepIndex === 2 && s.rollout.status.canaryWeight === 100, 400);
    provider.canaryErrorRate = 7;
    await sim.runUntil((s) => s.rollout.status?.phase === 'RolledBack' && (s.canary?.spec?.replicas ?? 0) === 0, 400);
    expect(sim.rollout.status?.rollback?.reason).toBe('AnalysisFailed');
    expect(splitWeights(sim.virtualService)).toEqual([100, 0]);
    expect(sim.stable?.metadata?.annotations?.['switchboard.dev/revision']).toBe(REV_A);
    expect(sim.stable?.spec?.replicas).toBe(4);
  });
});
