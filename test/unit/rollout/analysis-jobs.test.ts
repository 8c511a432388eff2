// Rounds with Jobs: the Job a round plans keeps its name until the round is credited (so that a
// restarted controller finds it again), and a round in flight stops counting once the rollout
// was aborted, rolled back, promoted, or moved to another revision or step.
import { describe, expect, it } from 'vitest';
import type { JobCheck } from '../../../src/analysis/types.ts';
import { roundMayCount } from '../../../src/rollout/analysis-schedule.ts';
import { decide } from '../../../src/rollout/decide.ts';
import type { RolloutPhase } from '../../../src/rollout/types.ts';
import { REV_A, REV_B, at, iso, observed, rolloutStatus, seedVirtualService } from './fixtures.ts';

const smoke = { name: 'smoke', job: { spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'smoke', image: 'smoke:1' }] } } } } };

function plannedJobAt(seconds: number, lastRunAt?: number): JobCheck {
  const state = observed({
    virtualService: seedVirtualService(5),
    spec: { analysis: { interval: '1m', metrics: [smoke] } },
    status: rolloutStatus({
      canaryWeight: 5, weightChangedAt: iso(10),
      ...(lastRunAt === undefined ? {} : { analysis: { passedChecks: 1, failedChecks: 0, inconclusiveChecks: 0, erroredChecks: 0, lastRunAt: iso(lastRunAt), lastPassedAt: iso(lastRunAt) } }),
    }),
  });
  state.rollout.metadata.uid = 'uid-1';
  const action = decide(state, at(seconds));
  if (action.kind !== 'runAnalysis') throw new Error(`expected a round, decided ${action.kind}: ${action.message}`);
  return action.plan.checks[0] as JobCheck;
}

describe('rounds with Jobs', () => {
  it('a round due keeps its Job name however often it is decided, and the next round gets another', () => {
    const first = plannedJobAt(70);
    expect(first.owner).toEqual({ name: 'payment-service', uid: 'uid-1' });
    // Decided again later (a restart, another event) before the round was credited: the same Job.
    expect(plannedJobAt(95).job.name).toBe(first.job.name);
    // Credited at 70: the next round, due at 130, is another.
    expect(plannedJobAt(130, 70).job.name).not.toBe(first.job.name);
  });

  it.each<[string, Parameters<typeof rolloutStatus>[0], boolean]>([
    ['still at its step', {}, true],
    ['paused at its step', { phase: 'Paused' }, true],
    ['aborted', { phase: 'Aborted' }, false],
    ['rolled back', { phase: 'RolledBack' as RolloutPhase }, false],
    ['promoted', { phase: 'Healthy' }, false],
    ['at the next step', { currentStepIndex: 1 }, false],
    ['on another revision', { canaryRevision: REV_A }, false],
  ])('a round in flight for revision B at step 1 may count when the rollout is %s: %s', (_case, fields, expected) => {
    expect(roundMayCount(rolloutStatus(fields), { canaryRevision: REV_B, stepIndex: 0 })).toBe(expected);
  });
});
