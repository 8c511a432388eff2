// setCanaryScale: the canary's size apart from its weight, from its step on, until another
// setCanaryScale (matchTrafficWeight: back to the weight's share); promotion still brings the
// canary to full size before it takes all traffic.
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/rollout/decide.ts';
import { resolveSpec } from '../../../src/rollout/defaults.ts';
import { canaryReplicasAtStep, canaryScaleAtStep } from '../../../src/rollout/state.ts';
import type { RolloutStep } from '../../../src/rollout/types.ts';
import { validateRollout } from '../../../src/rollout/validate.ts';
import { REV_A, REV_B, TEMPLATE_A, TEMPLATE_B, T0, at, observed, rollout, rolloutStatus, seedDestinationRule, seedVirtualService } from './fixtures.ts';
import { Simulation, fakeProvider } from './simulation.ts';

const STEPS: RolloutStep[] = [
  { setCanaryScale: { replicas: 3 } },
  { setWeight: 5 },
  { setCanaryScale: { weight: 50 } },
  { setWeight: 10 },
  { setCanaryScale: { matchTrafficWeight: true } },
  { setWeight: 75 },
];

describe('canaryScaleAtStep and canaryReplicasAtStep', () => {
  it.each([
    [0, 0, 3],
    [1, 5, 3],
    [2, 5, 4],
    [3, 10, 4],
    [4, 10, 1],
    [5, 75, 6],
  ])('step %i at weight %i: %i of 8 pods', (stepIndex, weight, pods) => {
    expect(canaryReplicasAtStep(8, weight, canaryScaleAtStep(STEPS, stepIndex))).toBe(pods);
  });

  it('keeps at least one pod, and none when the Rollout has none', () => {
    expect(canaryReplicasAtStep(8, 20, { replicas: 0 })).toBe(1);
    expect(canaryReplicasAtStep(8, 20, { weight: 1 })).toBe(1);
    expect(canaryReplicasAtStep(0, 20, { replicas: 3 })).toBe(0);
  });

  it.each([
    [{ replicas: 2, weight: 5 }, 'exactly one of replicas, weight or matchTrafficWeight'],
    [{ matchTrafficWeight: false }, 'exactly one of replicas, weight or matchTrafficWeight'],
    [{ weight: 150 }, 'weight 150'],
    [{ replicas: -1 }, 'replicas -1'],
  ])('refuses %j', (scale, message) => {
    const built = rollout({ spec: { steps: [{ setCanaryScale: scale }, { setWeight: 5 }] } });
    expect(validateRollout(built, resolveSpec(built)).join('\n')).toContain(message);
  });
});

describe('decide with setCanaryScale', () => {
  it('sizes the canary by the scale in force, not by the weight', () => {
    const status = rolloutStatus({ canaryRevision: REV_B, stableRevision: REV_A, currentStepIndex: 1, canaryWeight: 0 });
    expect(decide(observed({ spec: { steps: STEPS }, status }), at(1))).toMatchObject({ kind: 'updateDeployment', track: 'canary', replicas: 3 });
  });
});

describe('a simulated rollout with setCanaryScale', () => {
  it('walks the sizes step by step and promotes with the canary at full size', async () => {
    const initial = rollout({ spec: { template: TEMPLATE_A, replicas: 8, steps: STEPS }, metadata: { finalizers: undefined } });
    const sim = new Simulation({ now: T0, rollout: initial, virtualService: seedVirtualService(0), destinationRule: seedDestinationRule(), provider: fakeProvider(0.1) });
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_A);
    sim.editSpec({ template: TEMPLATE_B });
    const sizes: number[] = [];
    await sim.runUntil((s) => {
      const replicas = s.canary?.spec?.replicas;
      if (replicas !== undefined && sizes.at(-1) !== replicas) sizes.push(replicas);
      return s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B;
    }, 800);
    expect(sim.rollout.status?.stableRevision).toBe(REV_B);
    // The canary, at full size, becomes stable in place: it is never scaled down.
    expect(sizes).toEqual([3, 4, 1, 6, 8]);
  });
});
