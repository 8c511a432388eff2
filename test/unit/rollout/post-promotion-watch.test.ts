// spec.postPromotionWatch: after the last step, the new version alone under analysis while the old
// one keeps every pod; a failure there switches all traffic straight back to it.
import { describe, expect, it } from 'vitest';
import type { MetricsProvider } from '../../../src/analysis/provider.ts';
import { effectiveSteps, resolveSpec } from '../../../src/rollout/defaults.ts';
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

async function started(provider: MetricsProvider): Promise<Simulation> {
  const initial = rollout({ spec: { template: TEMPLATE_A, steps: [{ setWeight: 25 }], postPromotionWatch: { duration: '10m' } }, metadata: { finalizers: undefined } });
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
