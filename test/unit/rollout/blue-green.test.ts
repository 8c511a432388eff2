// spec.blueGreen: the steps it stands for, and whole releases through decide(): the preview at full
// size without traffic, testers through its header route, the switch in one write, the new version
// watched alone with the old one whole, and a failure there switching straight back.
import { describe, expect, it } from 'vitest';
import { PROMOTE_ANNOTATION } from '../../../src/rollout/commands.ts';
import { resolveSpec } from '../../../src/rollout/defaults.ts';
import { blueGreenSteps } from '../../../src/rollout/strategies/blue-green.ts';
import type { BlueGreenSpec, Rollout } from '../../../src/rollout/types.ts';
import { validateRollout } from '../../../src/rollout/validate.ts';
import { REV_A, REV_B, TEMPLATE_A, TEMPLATE_B, T0, rollout, seedDestinationRule, seedVirtualService } from './fixtures.ts';
import { Simulation, fakeProvider, splitWeights } from './simulation.ts';

const TESTERS = [{ headerName: 'x-preview', headerValue: { exact: '1' } }];

describe('blueGreenSteps', () => {
  it.each<[string, BlueGreenSpec, unknown[]]>([
    ['promoted at once', {}, [{ setCanaryScale: { weight: 100 } }, { setWeight: 100 }]],
    ['held for a person, watched 5 minutes', { autoPromotionEnabled: false, postPromotionSeconds: 300, previewReplicaCount: 2 }, [
      { setCanaryScale: { replicas: 2 } }, { pause: {} }, { setCanaryScale: { weight: 100 } }, { setWeight: 100 }, { pause: { duration: '300s' } },
    ]],
    ['a preview route, promoted after a minute', { autoPromotionSeconds: 60, previewRoute: { match: TESTERS } }, [
      { setCanaryScale: { weight: 100 } }, { setHeaderRoute: { name: 'preview', match: TESTERS } }, { pause: { duration: '60s' } }, { setWeight: 100 },
    ]],
  ])('%s', (_name, blueGreen, steps) => {
    expect(blueGreenSteps(blueGreen)).toEqual(steps);
  });

  it('lists the preview route among the managed routes', () => {
    const built = rollout({ spec: { steps: undefined, blueGreen: { previewRoute: { name: 'testers', match: TESTERS } } } });
    expect(resolveSpec(built).trafficRouting.managedRoutes).toEqual(['testers']);
    expect(validateRollout(built, resolveSpec(built))).toEqual([]);
  });

  it.each<[string, Partial<Rollout['spec']>, string]>([
    ['both steps and blueGreen', { blueGreen: {} }, 'exactly one of spec.steps (a canary) and spec.blueGreen'],
    ['neither', { steps: undefined }, 'exactly one of spec.steps (a canary) and spec.blueGreen'],
    ['with dynamicStableScale', { steps: undefined, blueGreen: {}, dynamicStableScale: true }, 'cannot be used with spec.blueGreen'],
    ['a preview of no pods', { steps: undefined, blueGreen: { previewReplicaCount: 0 } }, 'previewReplicaCount 0'],
  ])('refuses %s', (_name, spec, message) => {
    const built = rollout({ spec });
    expect(validateRollout(built, resolveSpec(built)).join('\n')).toContain(message);
  });
});

describe('simulated blue-green releases', () => {
  async function started(blueGreen: BlueGreenSpec, errorRate = 0.1): Promise<Simulation> {
    const initial = rollout({ spec: { template: TEMPLATE_A, steps: undefined, blueGreen }, metadata: { finalizers: undefined } });
    const vs = seedVirtualService(0);
    vs.spec.http![0]!.name = 'beta';
    vs.spec.http![1]!.name = 'primary';
    vs.metadata.annotations = {};
    const sim = new Simulation({ now: T0, rollout: initial, virtualService: vs, destinationRule: seedDestinationRule(), provider: fakeProvider(errorRate) });
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_A);
    sim.editSpec({ template: TEMPLATE_B });
    return sim;
  }

  it('the preview gets full size with no traffic, then all traffic in one switch, and is promoted', async () => {
    const sim = await started({});
    const start = sim.applied.length;
    let previewSize: number | undefined;
    let switched = false;
    await sim.runUntil((s) => {
      switched ||= splitWeights(s.virtualService)[1] === 100;
      if (!switched && s.rollout.status?.canaryRevision !== undefined) previewSize = s.canary?.spec?.replicas ?? previewSize;
      return s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B;
    }, 600);
    expect(previewSize).toBe(4);
    expect(sim.appliedKinds().slice(start).filter((kind) => kind.startsWith('setWeights'))).toEqual(['setWeights(100)', 'setWeights(0)']);
    expect(sim.stable?.metadata?.annotations?.['switchboard.dev/revision']).toBe(REV_B);
  });

  it('without autoPromotion it waits, preview ready and no traffic, for promote', async () => {
    const sim = await started({ autoPromotionEnabled: false, previewReplicaCount: 2 });
    await sim.runUntil((s) => s.rollout.status?.phase === 'Paused', 400);
    expect(sim.canary?.spec?.replicas).toBe(2);
    expect(splitWeights(sim.virtualService)).toEqual([100, 0]);
    const sizes: number[] = [];
    sim.annotate(PROMOTE_ANNOTATION, 'token-1');
    await sim.runUntil((s) => {
      if (splitWeights(s.virtualService)[1] === 100 && sizes.length === 0) sizes.push(s.canary?.spec?.replicas ?? 0);
      return splitWeights(s.virtualService)[1] === 100;
    }, 400);
    // The preview was brought to full size before it took the traffic.
    expect(sizes).toEqual([4]);
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B, 600);
    expect(sim.rollout.status?.stableRevision).toBe(REV_B);
  });

  it('testers reach the preview through its header route before the switch, and the route goes at promotion', async () => {
    const sim = await started({ previewRoute: { match: TESTERS }, autoPromotionSeconds: 120 });
    await sim.runUntil((s) => (s.rollout.status?.managedRoutes ?? []).length === 1, 400);
    expect(sim.virtualService?.spec.http?.map((route) => route.name)).toEqual(['preview', 'beta', 'primary']);
    expect(splitWeights({ ...sim.virtualService!, spec: { http: sim.virtualService!.spec.http!.slice(1) } })).toEqual([100, 0]);
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B, 600);
    expect(sim.virtualService?.spec.http?.map((route) => route.name)).toEqual(['beta', 'primary']);
  });

  it('a failing new version in its post-promotion watch switches straight back to the old one, whole', async () => {
    const sim = await started({ postPromotionSeconds: 600 }, 7);
    await sim.runUntil((s) => s.rollout.status?.phase === 'RolledBack' && s.canary?.spec?.replicas === 0, 600);
    expect(sim.rollout.status?.rollback?.reason).toBe('AnalysisFailed');
    expect(splitWeights(sim.virtualService)).toEqual([100, 0]);
    expect(sim.stable?.metadata?.annotations?.['switchboard.dev/revision']).toBe(REV_A);
    expect(sim.stable?.spec?.replicas).toBe(4);
  });
});
