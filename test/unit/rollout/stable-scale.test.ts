// dynamicStableScale: stable shrinks to its share once traffic has left it, and is back at the size
// a lower weight needs, every pod available, before any write sends traffic back to it.
import { describe, expect, it } from 'vitest';
import { ABORT_ANNOTATION } from '../../../src/rollout/commands.ts';
import { decide } from '../../../src/rollout/decide.ts';
import { stableReplicasAt } from '../../../src/rollout/deployments/stable-scale.ts';
import type { RolloutStep } from '../../../src/rollout/types.ts';
import { REV_A, REV_B, TEMPLATE_A, TEMPLATE_B, T0, at, deployment, observed, rollout, rolloutStatus, seedDestinationRule, seedVirtualService } from './fixtures.ts';
import { Simulation, fakeProvider } from './simulation.ts';

const STEPS: RolloutStep[] = [{ setWeight: 25 }, { setWeight: 50 }, { pause: {} }];

describe('stableReplicasAt', () => {
  it.each([[0, 4], [25, 3], [50, 2], [90, 1], [99, 1], [100, 0]])('at %i%% canary: %i of 4', (weight, pods) => {
    expect(stableReplicasAt(4, weight)).toBe(pods);
  });
});

describe('decide with dynamicStableScale', () => {
  const spec = { steps: STEPS, dynamicStableScale: true };

  it('shrinks stable only once the new weight is recorded, not when it is written', () => {
    const status = rolloutStatus({ canaryRevision: REV_B, stableRevision: REV_A, currentStepIndex: 1, canaryWeight: 25 });
    const before = decide(observed({ spec, status, virtualService: seedVirtualService(25), canaryDeployment: deployment('canary', { revision: REV_B, replicas: 2 }), stableDeployment: deployment('stable', { revision: REV_A, replicas: 3 }) }), at(1));
    expect(before).toMatchObject({ kind: 'setWeights', canaryWeight: 50 });
    const recorded = rolloutStatus({ canaryRevision: REV_B, stableRevision: REV_A, currentStepIndex: 1, canaryWeight: 50 });
    const after = decide(observed({ spec, status: recorded, virtualService: seedVirtualService(50), canaryDeployment: deployment('canary', { revision: REV_B, replicas: 2 }), stableDeployment: deployment('stable', { revision: REV_A, replicas: 3 }) }), at(1));
    expect(after).toMatchObject({ kind: 'updateDeployment', track: 'stable', replicas: 2, reason: 'ScalingStableWithTraffic' });
  });

  it('an abort first scales stable back up, then waits for its pods, then moves the traffic', () => {
    const status = rolloutStatus({ canaryRevision: REV_B, stableRevision: REV_A, currentStepIndex: 2, canaryWeight: 50, rollback: { reason: 'Aborted', message: 'aborted', at: at(0).toISOString(), revision: REV_B } });
    const small = observed({ spec, status, virtualService: seedVirtualService(50), canaryDeployment: deployment('canary', { revision: REV_B, replicas: 2 }), stableDeployment: deployment('stable', { revision: REV_A, replicas: 2 }) });
    expect(decide(small, at(1))).toMatchObject({ kind: 'updateDeployment', track: 'stable', replicas: 4, reason: 'ScalingStableUp' });
    const starting = { ...small, stableDeployment: deployment('stable', { revision: REV_A, replicas: 4, available: 2 }) };
    expect(decide(starting, at(1))).toMatchObject({ kind: 'wait', reason: 'WaitingForStablePods' });
    const ready = { ...small, stableDeployment: deployment('stable', { revision: REV_A, replicas: 4 }) };
    expect(decide(ready, at(1))).toMatchObject({ kind: 'setWeights', canaryWeight: 0 });
  });

  it('without it, stable keeps spec.replicas throughout', () => {
    const status = rolloutStatus({ canaryRevision: REV_B, stableRevision: REV_A, currentStepIndex: 1, canaryWeight: 50 });
    const action = decide(observed({ spec: { steps: STEPS }, status, virtualService: seedVirtualService(50), canaryDeployment: deployment('canary', { revision: REV_B, replicas: 2 }) }), at(1));
    expect(action).not.toMatchObject({ kind: 'updateDeployment', track: 'stable' });
  });
});

describe('a simulated rollout with dynamicStableScale', () => {
  async function started(): Promise<Simulation> {
    const initial = rollout({ spec: { template: TEMPLATE_A, steps: STEPS, dynamicStableScale: true }, metadata: { finalizers: undefined } });
    const sim = new Simulation({ now: T0, rollout: initial, virtualService: seedVirtualService(0), destinationRule: seedDestinationRule(), provider: fakeProvider(0.1) });
    await sim.runUntil((s) => s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_A);
    sim.editSpec({ template: TEMPLATE_B });
    return sim;
  }
  const stableSizes = (sim: Simulation, sizes: number[]) => {
    const replicas = sim.stable?.spec?.replicas;
    if (replicas !== undefined && sizes.at(-1) !== replicas) sizes.push(replicas);
  };

  it('stable follows its share step by step, and is whole again after promotion', async () => {
    const sim = await started();
    const sizes: number[] = [];
    await sim.runUntil((s) => { stableSizes(s, sizes); return s.rollout.status?.phase === 'Paused'; }, 400);
    expect(sizes).toEqual([4, 3, 2]);
    sim.annotate('switchboard.dev/promote', 'token-1');
    await sim.runUntil((s) => { stableSizes(s, sizes); return s.rollout.status?.phase === 'Healthy' && s.rollout.status.stableRevision === REV_B; }, 400);
    expect(sim.rollout.status?.stableRevision).toBe(REV_B);
    expect(sizes.at(-1)).toBe(4);
  });

  it('an abort at 50% has stable whole before the weight goes back', async () => {
    const sim = await started();
    await sim.runUntil((s) => s.rollout.status?.phase === 'Paused', 400);
    expect(sim.stable?.spec?.replicas).toBe(2);
    const before = sim.applied.length;
    sim.annotate(ABORT_ANNOTATION, 'token-1');
    await sim.runUntil((s) => s.rollout.status?.phase === 'Aborted' && (s.canary?.spec?.replicas ?? 0) === 0, 200);
    const writes = sim.applied.slice(before).map(({ action }) => (action.kind === 'setWeights' ? `setWeights(${action.canaryWeight})` : `${action.kind}:${action.reason}`));
    expect(writes.indexOf('updateDeployment:ScalingStableUp')).toBeGreaterThanOrEqual(0);
    expect(writes.indexOf('updateDeployment:ScalingStableUp')).toBeLessThan(writes.indexOf('setWeights(0)'));
    expect(sim.stable?.spec?.replicas).toBe(4);
  });
});
