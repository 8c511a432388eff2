// One Event per carried-out write, naming each decision in it that a person should hear of.
import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/rollout/actions.ts';
import { DECISION_SEPARATOR, decisionEvent } from '../../../src/rollout/decision-events.ts';

const weights: Action = { kind: 'setWeights', reason: 'WeightChanged', message: 'VirtualService sends 20% to canary', virtualService: 'vs', canaryWeight: 20, patch: [] };

describe('decisionEvent', () => {
  const cases: { name: string; previous: 'Progressing' | 'Healthy' | undefined; action: Action; expected: ReturnType<typeof decisionEvent> }[] = [
    { name: 'a cluster write is always told', previous: 'Progressing', action: weights, expected: { reason: 'WeightChanged', message: 'VirtualService sends 20% to canary', type: 'Normal' } },
    { name: 'a bookkeeping write is not', previous: 'Progressing', action: { kind: 'updateStatus', reason: 'StepsRecorded', message: 'm', status: {}, silent: true }, expected: undefined },
    { name: 'a refreshed view in the same phase is not', previous: 'Progressing', action: { kind: 'updateStatus', reason: 'StatusChanged', message: 'pausing', status: { phase: 'Progressing' } }, expected: undefined },
    { name: 'a refreshed view that changes the phase is', previous: 'Progressing', action: { kind: 'updateStatus', reason: 'StatusChanged', message: 'healthy', status: { phase: 'Healthy' } }, expected: { reason: 'StatusChanged', message: 'healthy', type: 'Normal' } },
    {
      name: 'a folded write tells each decision worth telling, under the first one\'s reason',
      previous: 'Progressing',
      action: {
        kind: 'updateStatus', reason: 'WeightChanged', message: 'weight is 20%', status: { phase: 'Progressing' },
        decisions: [
          { reason: 'WeightChanged', message: 'weight is 20%', status: { phase: 'Progressing' } },
          { reason: 'StepCompleted', message: 'step 1/4 complete', status: { phase: 'Progressing' } },
          { reason: 'StatusChanged', message: 'pausing', status: { phase: 'Progressing' } },
        ],
      },
      expected: { reason: 'WeightChanged', message: `weight is 20%${DECISION_SEPARATOR}step 1/4 complete`, type: 'Normal' },
    },
    {
      name: 'in a folded write, a view is told when it changes the phase the decision before it left',
      previous: 'Progressing',
      action: {
        kind: 'updateStatus', reason: 'ScaleDownDelayStarted', message: 'delay', status: { phase: 'Healthy' }, silent: true,
        decisions: [
          { reason: 'ScaleDownDelayStarted', message: 'delay', status: { phase: 'Progressing' }, silent: true },
          { reason: 'StatusChanged', message: 'now healthy', status: { phase: 'Healthy' } },
        ],
      },
      expected: { reason: 'StatusChanged', message: 'now healthy', type: 'Normal' },
    },
    {
      name: 'a Warning when any decision told is one operators alert on',
      previous: 'Progressing',
      action: {
        kind: 'updateStatus', reason: 'AnalysisCheckFailed', message: 'round failed', status: { phase: 'RolledBack' },
        decisions: [
          { reason: 'StepsRecorded', message: 'books', status: { phase: 'Progressing' }, silent: true },
          { reason: 'AnalysisFailed', message: 'rolled back', status: { phase: 'RolledBack' } },
        ],
      },
      expected: { reason: 'AnalysisFailed', message: 'rolled back', type: 'Warning' },
    },
  ];
  for (const { name, previous, action, expected } of cases) {
    it(name, () => expect(decisionEvent(previous === undefined ? undefined : { phase: previous }, action)).toEqual(expected));
  }
});
