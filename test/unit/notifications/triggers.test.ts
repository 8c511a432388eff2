// Which notifications a carried-out write tells: a table of status changes, and folded writes
// walked decision by decision.
import { describe, expect, it } from 'vitest';
import { firedTriggers, notificationsFor, TRIGGERS, type TriggerName } from '../../../src/notifications/triggers.ts';
import type { RolloutStatus } from '../../../src/rollout/types.ts';
import { AT_20, CANARY, folded, HEALTHY, NOW, paymentsRollout, STABLE, statusWrite, withAnalysis } from './notification-fixtures.ts';

const rollback = (reason: 'AnalysisFailed' | 'ProgressDeadlineExceeded' | 'Aborted', from: RolloutStatus): RolloutStatus => ({
  ...from, phase: reason === 'Aborted' ? 'Aborted' : 'RolledBack', rollback: { reason, message: 'm', at: NOW.toISOString(), revision: CANARY },
});

const cases: [string, RolloutStatus, RolloutStatus, TriggerName[]][] = [
  ['a new revision starts', HEALTHY, { ...AT_20, canaryWeight: 0 }, ['on-rollout-started']],
  ['retry starts the rolled-back revision again', rollback('AnalysisFailed', AT_20), { ...AT_20, canaryWeight: 0 }, ['on-rollout-started']],
  ['the canary takes 20%', { ...AT_20, canaryWeight: 0 }, AT_20, ['on-rollout-weight-changed']],
  ['a step completes', AT_20, { ...AT_20, currentStepIndex: 1, step: '2/4' }, ['on-rollout-step-completed']],
  ['steps edited mid-rollout restart from the first: not a completion', { ...AT_20, currentStepIndex: 2 }, { ...AT_20, currentStepIndex: 0, stepsHash: 'h2' }, []],
  ['a pause step waits for promote', AT_20, { ...AT_20, currentStepIndex: 3, phase: 'Paused' }, ['on-rollout-step-completed', 'on-rollout-paused']],
  ['still paused: nothing new', { ...AT_20, phase: 'Paused' }, { ...AT_20, phase: 'Paused', message: 'x' }, []],
  ['a failed round within failureLimit', withAnalysis(AT_20, 0), withAnalysis(AT_20, 1), ['on-analysis-failed']],
  ['a passed round', withAnalysis(AT_20, 1), { ...withAnalysis(AT_20, 1), message: 'passed' }, []],
  ['the failed round past failureLimit rolls back', withAnalysis(AT_20, 1), rollback('AnalysisFailed', withAnalysis(AT_20, 2)), ['on-analysis-failed', 'on-rollout-rolled-back']],
  ['the progress deadline rolls back', AT_20, rollback('ProgressDeadlineExceeded', AT_20), ['on-rollout-rolled-back']],
  ['abort', AT_20, rollback('Aborted', AT_20), ['on-rollout-aborted']],
  ['the same rollback written again', rollback('Aborted', AT_20), { ...rollback('Aborted', AT_20), canaryWeight: 0 }, []],
  ['analysis inconclusive past its limit', AT_20, { ...AT_20, phase: 'Inconclusive' }, ['on-analysis-inconclusive']],
  ['degraded', AT_20, { ...AT_20, phase: 'Degraded' }, ['on-rollout-degraded']],
  ['promoted', { ...AT_20, phase: 'Promoting', currentStepIndex: 4 }, { phase: 'Healthy', stableRevision: CANARY, canaryWeight: 0 }, ['on-rollout-completed']],
  ['stable\'s Deployment takes the new revision mid-promotion: not yet completed',
    { ...AT_20, phase: 'Promoting', currentStepIndex: 4 }, { ...AT_20, phase: 'Promoting', currentStepIndex: 4, stableRevision: CANARY }, []],
  ['the first deploy becomes stable', {}, { phase: 'Healthy', stableRevision: STABLE }, ['on-rollout-completed']],
  ['healthy again after a hold, no rollout in between', { phase: 'Degraded', stableRevision: STABLE }, HEALTHY, []],
];

describe('firedTriggers', () => {
  it.each(cases)('%s', (_name, before, after, expected) => {
    expect(firedTriggers(before, after)).toEqual(expected);
  });

  it('names only triggers of the catalogue', () => {
    for (const [, before, after] of cases) for (const trigger of firedTriggers(before, after)) expect(TRIGGERS).toHaveProperty(trigger);
  });
});

describe('notificationsFor', () => {
  it('tells nothing for a write that is not a status write', () => {
    expect(notificationsFor(paymentsRollout(AT_20), { kind: 'setWeights', reason: 'WeightSet', message: '', virtualService: 'vs', canaryWeight: 50, patch: [] }, NOW)).toEqual([]);
  });

  it('carries the measured values against their limits when analysis rolled back', () => {
    const after = rollback('AnalysisFailed', withAnalysis(AT_20, 2));
    const told = notificationsFor(paymentsRollout(withAnalysis(AT_20, 1)), statusWrite(after, 'AnalysisFailed', 'analysis failed 2 time(s)'), NOW);
    expect(told.map((n) => [n.trigger, n.severity])).toEqual([['on-analysis-failed', 'warn'], ['on-rollout-rolled-back', 'error']]);
    expect(told[1]).toEqual({
      trigger: 'on-rollout-rolled-back', severity: 'error', rollout: { namespace: 'team-a', name: 'payments' },
      revision: CANARY, stableRevision: STABLE, phase: 'RolledBack', canaryWeight: 20, step: '1/4',
      reason: 'AnalysisFailed', message: 'analysis failed 2 time(s)', at: NOW.toISOString(),
      analysis: {
        failedChecks: 2, failureLimit: 1,
        checks: [
          { name: 'error-rate', verdict: 'fail', value: 48.21, limit: 5, message: 'error rate 48.21% is above maxErrorRatePercent 5%' },
          { name: 'latency-p99', verdict: 'pass', value: 31, limit: 500, message: 'p99 latency 31 ms is within maxLatencyMs 500 ms' },
        ],
      },
    });
  });

  it('carries no analysis when the deadline, not analysis, rolled back', () => {
    const after = rollback('ProgressDeadlineExceeded', withAnalysis(AT_20, 0));
    const [told] = notificationsFor(paymentsRollout(withAnalysis(AT_20, 0)), statusWrite(after, 'ProgressDeadlineExceeded'), NOW);
    expect(told?.trigger).toBe('on-rollout-rolled-back');
    expect(told?.analysis).toBeUndefined();
  });

  it('names the promoted revision on completion', () => {
    const [told] = notificationsFor(paymentsRollout({ ...AT_20, phase: 'Promoting' }), statusWrite({ phase: 'Healthy', stableRevision: CANARY, canaryWeight: 0 }, 'Promoted'), NOW);
    expect(told).toMatchObject({ trigger: 'on-rollout-completed', revision: CANARY, stableRevision: CANARY, reason: 'Promoted' });
  });

  it('walks folded decisions one by one, each under its own reason', () => {
    const step = { ...AT_20, currentStepIndex: 1, step: '2/4' };
    const paused = { ...step, phase: 'Paused' as const };
    const told = notificationsFor(paymentsRollout(AT_20), folded(
      { reason: 'StepCompleted', message: 'step 1 done', status: step },
      { reason: 'RolloutPaused', message: 'waiting for promote', status: paused },
    ), NOW);
    expect(told.map((n) => [n.trigger, n.reason, n.message])).toEqual([
      ['on-rollout-step-completed', 'StepCompleted', 'step 1 done'],
      ['on-rollout-paused', 'RolloutPaused', 'waiting for promote'],
    ]);
  });
});
