// decide(): a rollout of REV_B over stable REV_A walking its steps
// (0 setWeight 5, 1 pause 2m, 2 setWeight 25, 3 pause {}, 4 setWeight 50), with analysis every 1m.
import { describe, expect } from 'vitest';
import { errorRateQuery } from '../../../src/analysis/queries.ts';
import { as, runDecideTable } from './decide-table.ts';
import { REV_A, REV_B, VS_CLAIMS, at, deployment, iso, observed, rolloutStatus, seedVirtualService } from './fixtures.ts';

/** Step 0 with the weight set at t=10s and recorded. */
const atStep0 = (fields: Parameters<typeof rolloutStatus>[0] = {}) =>
  observed({ virtualService: seedVirtualService(5), status: rolloutStatus({ canaryWeight: 5, weightChangedAt: iso(10), ...fields }) });

const passedAt = (seconds: number) => ({
  analysis: { passedChecks: 1, failedChecks: 0, inconclusiveChecks: 0, erroredChecks: 0, lastRunAt: iso(seconds), lastPassedAt: iso(seconds) },
});

/** Step 1 (pause 2m) started at t=100s at weight 5. */
const atStep1 = (fields: Parameters<typeof rolloutStatus>[0] = {}) =>
  atStep0({ currentStepIndex: 1, stepStartedAt: iso(100), ...fields });

/** Step 3 (indefinite pause) started at t=300s at weight 25. */
const atStep3 = (fields: Parameters<typeof rolloutStatus>[0] = {}) =>
  observed({
    virtualService: seedVirtualService(25),
    status: rolloutStatus({ currentStepIndex: 3, stepStartedAt: iso(300), canaryWeight: 25, weightChangedAt: iso(250), ...fields }),
  });

describe('decide: weights and analysis', () => {
  runDecideTable([
    {
      name: 'canary ready: step 1 sets 5% with a guarded patch on the managed route only',
      observed: observed(),
      now: at(10),
      expected: {
        kind: 'setWeights',
        canaryWeight: 5,
        virtualService: 'payment-service-routing',
        patch: [
          // Still this Rollout's route, as read (claims.ts).
          { op: 'test', path: '/metadata/annotations/switchboard.dev~1managed-by-rollouts', value: VS_CLAIMS },
          { op: 'test', path: '/spec/http/1/route/0/destination/subset', value: 'stable' },
          { op: 'test', path: '/spec/http/1/route/0/weight', value: 100 },
          { op: 'replace', path: '/spec/http/1/route/0/weight', value: 95 },
          { op: 'test', path: '/spec/http/1/route/1/destination/subset', value: 'canary' },
          { op: 'test', path: '/spec/http/1/route/1/weight', value: 0 },
          { op: 'replace', path: '/spec/http/1/route/1/weight', value: 5 },
        ],
      },
    },
    {
      name: 'the weight now in the VirtualService is recorded with its time before analysis is scheduled',
      observed: observed({ virtualService: seedVirtualService(5) }),
      now: at(10),
      expected: { kind: 'updateStatus', status: { canaryWeight: 5, weightChangedAt: iso(10) } },
    },
    {
      name: 'analysis is due one interval after the weight change: wait until then',
      observed: atStep0(),
      now: at(30),
      settle: true,
      expected: { kind: 'wait', reason: 'WaitingForAnalysis', until: at(70) },
    },
    {
      name: 'analysis due: run the plan for this revision and step',
      observed: atStep0(),
      now: at(70),
      expected: { kind: 'runAnalysis', plan: { canaryRevision: REV_B, stepIndex: 0, minRequests: 20, namespace: 'production' } },
      check: (action) =>
        expect(as(action, 'runAnalysis').plan.checks[0]).toMatchObject({
          name: 'error-rate',
          query: errorRateQuery({ namespace: 'production', workload: 'payment-service-canary', window: '1m', serviceHost: 'payment-service' }),
          max: 1,
        }),
    },
    {
      name: 'an interval shorter than four scrape intervals widens the query range instead of leaving rate() without samples',
      observed: { ...atStep0(), minAnalysisWindowMs: 120_000 },
      now: at(70),
      expected: { kind: 'runAnalysis' },
      check: (action) => expect(as(action, 'runAnalysis').plan.checks[0]).toMatchObject({
        query: errorRateQuery({ namespace: 'production', workload: 'payment-service-canary', window: '120s', serviceHost: 'payment-service' }),
      }),
    },
    {
      name: 'a passing round is credited once, with its time',
      observed: { ...atStep0(), analysis: { canaryRevision: REV_B, stepIndex: 0, at: iso(70), verdict: 'pass', checks: [] } },
      now: at(71),
      expected: { kind: 'updateStatus', reason: 'AnalysisPassed', status: { analysis: { passedChecks: 1, lastRunAt: iso(70), lastPassedAt: iso(70) } } },
    },
    {
      name: 'a round already credited is not credited again (the step completes instead)',
      observed: { ...atStep0(passedAt(70)), analysis: { canaryRevision: REV_B, stepIndex: 0, at: iso(70), verdict: 'pass', checks: [] } },
      now: at(71),
      expected: { kind: 'updateStatus', reason: 'StepCompleted', status: { currentStepIndex: 1, stepStartedAt: iso(71) } },
    },
    {
      name: 'a round planned for another revision is ignored',
      observed: { ...atStep0(), analysis: { canaryRevision: REV_A, stepIndex: 0, at: iso(70), verdict: 'pass', checks: [] } },
      now: at(71),
      expected: { kind: 'runAnalysis' },
    },
    {
      name: 'a round planned for another step is ignored',
      observed: { ...atStep1(), analysis: { canaryRevision: REV_B, stepIndex: 0, at: iso(170), verdict: 'pass', checks: [] } },
      now: at(171),
      expected: { kind: 'runAnalysis', plan: { stepIndex: 1 } },
    },
    {
      name: 'a failed round within failureLimit is counted, no rollback',
      observed: { ...atStep0(), analysis: { canaryRevision: REV_B, stepIndex: 0, at: iso(70), verdict: 'fail', checks: [] } },
      now: at(71),
      expected: { kind: 'updateStatus', reason: 'AnalysisCheckFailed', status: { phase: 'Progressing', analysis: { failedChecks: 1 } } },
      check: (action) => expect(as(action, 'updateStatus').status.rollback).toBeUndefined(),
    },
    {
      name: 'failureLimit + 1 failed rounds roll back in the same write',
      observed: {
        ...atStep0({ analysis: { passedChecks: 0, failedChecks: 1, inconclusiveChecks: 0, erroredChecks: 0, lastRunAt: iso(70) } }),
        analysis: { canaryRevision: REV_B, stepIndex: 0, at: iso(130), verdict: 'fail', checks: [] },
      },
      now: at(131),
      expected: { kind: 'updateStatus', reason: 'AnalysisFailed', status: { phase: 'RolledBack', analysis: { failedChecks: 2 }, rollback: { reason: 'AnalysisFailed', revision: REV_B } } },
    },
    {
      name: 'an inconclusive round (too few requests) is counted and is not a pass',
      observed: { ...atStep0(), analysis: { canaryRevision: REV_B, stepIndex: 0, at: iso(70), verdict: 'inconclusive', checks: [] } },
      now: at(71),
      expected: { kind: 'updateStatus', reason: 'AnalysisInconclusive', status: { analysis: { inconclusiveChecks: 1, passedChecks: 0 } } },
      check: (action) => expect(as(action, 'updateStatus').status.analysis?.lastPassedAt).toBeUndefined(),
    },
    {
      name: 'a Prometheus error is counted and is not a pass',
      observed: { ...atStep0(), analysis: { canaryRevision: REV_B, stepIndex: 0, at: iso(70), verdict: 'error', checks: [] } },
      now: at(71),
      expected: { kind: 'updateStatus', reason: 'AnalysisError', status: { analysis: { erroredChecks: 1, passedChecks: 0 } } },
    },
    {
      name: 'after an errored round the step does not advance, even with an earlier pass',
      observed: atStep0({ analysis: { passedChecks: 1, failedChecks: 0, inconclusiveChecks: 0, erroredChecks: 1, lastPassedAt: iso(70), lastRunAt: iso(130) } }),
      now: at(131),
      settle: true,
      expected: { kind: 'wait', reason: 'WaitingForAnalysis', until: at(190) },
    },
  ]);
});

describe('decide: steps', () => {
  runDecideTable([
    {
      name: 'setWeight step with a pass since it started completes',
      observed: atStep0(passedAt(70)),
      now: at(71),
      expected: { kind: 'updateStatus', reason: 'StepCompleted', status: { currentStepIndex: 1, step: '2/5', stepStartedAt: iso(71), phase: 'Progressing' } },
    },
    {
      name: 'timed pause: wait for the earlier of next analysis and pause end',
      observed: atStep1(passedAt(70)),
      now: at(130),
      settle: true,
      expected: { kind: 'wait', reason: 'Pausing', until: at(160) },
    },
    {
      name: 'timed pause over but its analysis is due: analyse first',
      observed: atStep1(passedAt(70)),
      now: at(230),
      expected: { kind: 'runAnalysis', plan: { stepIndex: 1 } },
    },
    {
      name: 'a pass from the previous step does not count for this one',
      observed: atStep1({ ...passedAt(99), weightChangedAt: iso(10) }),
      now: at(159),
      settle: true,
      expected: { kind: 'wait', until: at(160) },
    },
    {
      name: 'timed pause over with a pass since it started completes',
      observed: atStep1(passedAt(200)),
      now: at(230),
      expected: { kind: 'updateStatus', reason: 'StepCompleted', status: { currentStepIndex: 2 } },
    },
    {
      name: 'indefinite pause shows Paused and keeps analysing',
      observed: atStep3(),
      now: at(340),
      settle: true,
      expected: { kind: 'wait', reason: 'WaitingForPromotion', until: at(360) },
      check: (action) => expect(action.message).toContain('switchboard promote payment-service'),
    },
    {
      name: 'indefinite pause released by promote completes once analysis passed',
      observed: atStep3({ pauseReleasedStepIndex: 3, ...passedAt(360) }),
      now: at(370),
      expected: { kind: 'updateStatus', reason: 'StepCompleted', status: { currentStepIndex: 4 } },
      check: (action) => expect(as(action, 'updateStatus').status.pauseReleasedStepIndex).toBeUndefined(),
    },
    {
      name: 'indefinite pause released without a pass since it started waits for one',
      observed: atStep3({ pauseReleasedStepIndex: 3, ...passedAt(290) }),
      now: at(330),
      settle: true,
      expected: { kind: 'wait', reason: 'WaitingForAnalysis', until: at(360) },
    },
    {
      name: 'the last step completed moves to promotion',
      observed: observed({
        virtualService: seedVirtualService(50),
        canaryDeployment: deployment('canary', { revision: REV_B, replicas: 2 }),
        status: rolloutStatus({ currentStepIndex: 4, stepStartedAt: iso(400), canaryWeight: 50, weightChangedAt: iso(410), ...passedAt(470) }),
      }),
      now: at(471),
      expected: { kind: 'updateStatus', status: { currentStepIndex: 5, phase: 'Promoting', step: '5/5' } },
    },
    {
      name: 'spec.paused holds a completed step',
      observed: { ...atStep0(passedAt(70)), rollout: { ...atStep0(passedAt(70)).rollout, spec: { ...atStep0().rollout.spec, paused: true } } },
      now: at(71),
      settle: true,
      expected: { kind: 'wait', reason: 'RolloutPaused', until: at(130) },
    },
    {
      name: 'spec.paused holds the weight where it is',
      observed: observed({ spec: { paused: true } }),
      now: at(10),
      expected: { kind: 'updateStatus', status: { phase: 'Paused', pauseStartedAt: iso(10) } },
    },
  ]);
});
