// decide(): promotion, rollback, template changes during a rollout, and the kubectl commands.
import { describe, expect } from 'vitest';
import { ABORT_ANNOTATION, PROMOTE_ANNOTATION, PROMOTE_FULL_ANNOTATION, RETRY_ANNOTATION } from '../../../src/rollout/commands.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import type { V1Deployment } from '@kubernetes/client-node';
import type { RolloutStatus } from '../../../src/rollout/types.ts';
import { as, runDecideTable } from './decide-table.ts';
import {
  REV_A, REV_B, REV_C, TEMPLATE_A, TEMPLATE_B, TEMPLATE_C, at, deployment, iso, observed, readyDestinationRule, revisionDeployment, rolloutStatus, seedVirtualService,
} from './fixtures.ts';

/**
 * Every step done: status at index 5 (= steps.length), traffic still 50/50. The Deployments are
 * given as the shell lists them: roles come from status (stable REV_A, canary REV_B).
 */
const promoting = (deployments: V1Deployment[], status: RolloutStatus = {}, fields: Parameters<typeof observed>[0] = {}) =>
  observed({
    stableDeployment: undefined,
    canaryDeployment: undefined,
    deployments,
    virtualService: seedVirtualService(50),
    status: rolloutStatus({ phase: 'Promoting', currentStepIndex: 5, stepStartedAt: iso(500), canaryWeight: 50, ...status }),
    ...fields,
  });
const stableA = revisionDeployment(REV_A, { replicas: 4 });
const canaryB = (replicas: number, available = replicas) => revisionDeployment(REV_B, { replicas, available });
/** Status once promotion re-pointed stable to the canary's revision. */
const repointed = { stableRevision: REV_B };

const rollback = { reason: 'AnalysisFailed' as const, message: 'error-rate 7% is above max 1%', at: iso(130), revision: REV_B };

const rolledBack = (fields: Parameters<typeof observed>[0] = {}) =>
  observed({ virtualService: seedVirtualService(25), status: rolloutStatus({ phase: 'RolledBack', canaryWeight: 25, rollback }), ...fields });

/** A rollout at step 4 (indefinite pause) with a command annotation set. */
const withCommand = (annotation: string, token: string, base: ObservedState = observed({ virtualService: seedVirtualService(25), status: rolloutStatus({ currentStepIndex: 3, canaryWeight: 25 }) })) => ({
  ...base,
  rollout: { ...base.rollout, metadata: { ...base.rollout.metadata, annotations: { ...base.rollout.metadata.annotations, [annotation]: token } } },
});

describe('decide: promotion in place', () => {
  runDecideTable([
    {
      name: 'promotion first sizes the canary to take all traffic',
      observed: promoting([stableA, canaryB(2)]),
      now: at(501),
      expected: { kind: 'updateDeployment', name: `payment-service-${REV_B}`, track: 'canary', replicas: 4, reason: 'ScalingCanary' },
    },
    {
      name: 'the canary at full size but not yet available: wait, traffic unchanged',
      observed: promoting([stableA, canaryB(4, 3)]),
      now: at(502),
      settle: true,
      expected: { kind: 'wait', reason: 'WaitingForCanaryPods', until: at(1102) },
    },
    {
      name: 'promotion past the deadline is reported, not rolled back',
      observed: promoting([stableA, canaryB(4, 3)], { waitingForPodsSince: iso(502) }),
      now: at(1102),
      expected: { kind: 'updateStatus', status: { phase: 'Degraded', conditions: expect.arrayContaining([expect.objectContaining({ type: 'Progressing', reason: 'ProgressDeadlineExceeded' })]) } },
      check: (action) => expect(as(action, 'updateStatus').status.rollback).toBeUndefined(),
    },
    {
      name: 'the canary at full size and available becomes stable, in status: no pod is created',
      observed: promoting([stableA, canaryB(4)]),
      now: at(503),
      expected: { kind: 'updateStatus', reason: 'PromotionStableRepointed', status: { stableRevision: REV_B, canaryRevision: REV_B } },
    },
    {
      name: 'then the stable subset is re-pointed to the canary\'s pods: one DestinationRule write, the VirtualService untouched',
      observed: promoting([stableA, canaryB(4)], repointed),
      now: at(504),
      expected: {
        kind: 'ensureSubsets',
        patch: expect.arrayContaining([{ op: 'add', path: '/spec/subsets/0/labels', value: { app: 'payment-service', 'switchboard.dev/revision': REV_B } }]),
      },
      check: (action) => expect(as(action, 'ensureSubsets').patch.filter((op) => op.op === 'add')).toHaveLength(1),
    },
    {
      name: 'then all traffic goes to stable, which now selects the canary\'s pods; the old stable keeps its pods meanwhile',
      observed: promoting([stableA, canaryB(4)], repointed, { destinationRule: readyDestinationRule(REV_B, REV_B) }),
      now: at(505),
      expected: { kind: 'setWeights', canaryWeight: 0, reason: 'PromotionTrafficShifted' },
    },
    {
      name: 'with all traffic on stable, the old stable\'s scale-down delay starts, and the promotion is recorded',
      observed: promoting([stableA, canaryB(4)], repointed, { destinationRule: readyDestinationRule(REV_B, REV_B), virtualService: seedVirtualService(0) }),
      now: at(506),
      expected: { kind: 'updateStatus', reason: 'ScaleDownDelayStarted', status: { stableScaleDownAt: iso(536), phase: 'Healthy', stableRevision: REV_B } },
      check: (action) => {
        const { status, decisions } = as(action, 'updateStatus');
        expect(decisions?.map((decision) => decision.reason)).toContain('Promoted');
        expect(status.canaryRevision).toBeUndefined();
        expect(status.currentStepIndex).toBeUndefined();
      },
    },
    {
      name: 'promoted: the old stable keeps its pods until the delay is over',
      observed: promoting([stableA, canaryB(4)], { stableRevision: REV_B, canaryRevision: undefined, phase: 'Healthy', stableScaleDownAt: iso(536) }, {
        destinationRule: readyDestinationRule(REV_B, REV_B), virtualService: seedVirtualService(0), spec: { template: TEMPLATE_B },
      }),
      now: at(520),
      settle: true,
      expected: { kind: 'wait', until: at(536) },
    },
    {
      name: 'then the old stable goes to zero pods and is kept, for undo',
      observed: promoting([stableA, canaryB(4)], { stableRevision: REV_B, canaryRevision: undefined, phase: 'Healthy', stableScaleDownAt: iso(536) }, {
        destinationRule: readyDestinationRule(REV_B, REV_B), virtualService: seedVirtualService(0), spec: { template: TEMPLATE_B },
      }),
      now: at(536),
      expected: { kind: 'updateDeployment', name: `payment-service-${REV_A}`, replicas: 0, reason: 'OldRevisionScaledDown' },
    },
  ]);
});

describe('decide: rollback', () => {
  runDecideTable([
    {
      name: 'rolled back: 100% to stable at once',
      observed: rolledBack(),
      now: at(131),
      expected: { kind: 'setWeights', canaryWeight: 0, reason: 'RollingBack' },
    },
    {
      name: 'rolled back: the canary keeps its pods for scaleDownDelaySeconds after its traffic left',
      observed: rolledBack({ virtualService: seedVirtualService(0) }),
      now: at(132),
      expected: { kind: 'updateStatus', reason: 'ScaleDownDelayStarted', status: { canaryScaleDownAt: iso(162) } },
    },
    {
      name: 'rolled back: then the canary goes to zero pods',
      observed: rolledBack({ virtualService: seedVirtualService(0), status: rolloutStatus({ phase: 'RolledBack', canaryWeight: 25, rollback, canaryScaleDownAt: iso(162) }) }),
      now: at(162),
      expected: { kind: 'updateDeployment', track: 'canary', replicas: 0, reason: 'RollingBack' },
    },
    {
      name: 'rolled back with scaleDownDelaySeconds 0: the canary goes at once',
      observed: rolledBack({ virtualService: seedVirtualService(0), spec: { scaleDownDelaySeconds: 0 } }),
      now: at(132),
      expected: { kind: 'updateDeployment', track: 'canary', replicas: 0, reason: 'RollingBack' },
    },
    {
      name: 'rolled back and settled: status says why and how to go on, then waits',
      observed: rolledBack({ virtualService: seedVirtualService(0), canaryDeployment: deployment('canary', { revision: REV_B, replicas: 0 }) }),
      now: at(133),
      expected: { kind: 'updateStatus', status: { phase: 'RolledBack', canaryWeight: 0, conditions: expect.arrayContaining([expect.objectContaining({ type: 'Progressing', status: 'False', reason: 'AnalysisFailed' })]) } },
      check: (action) => expect(action.message).toContain('switchboard retry payment-service'),
    },
    {
      name: 'rolled back and settled waits for a new template or retry, with no timer',
      observed: rolledBack({ virtualService: seedVirtualService(0), canaryDeployment: deployment('canary', { revision: REV_B, replicas: 0 }) }),
      now: at(133),
      settle: true,
      expected: { kind: 'wait', reason: 'RolledBack' },
      check: (action) => expect(action).not.toHaveProperty('until'),
    },
    {
      name: 'a rolled-back revision is not retried by itself; a new template starts a new rollout',
      observed: rolledBack({ spec: { template: TEMPLATE_C } }),
      now: at(200),
      expected: { kind: 'updateStatus', reason: 'RolloutRestarted', status: { canaryRevision: REV_C, currentStepIndex: 0, analysis: { failedChecks: 0 } } },
      check: (action) => expect(as(action, 'updateStatus').status.rollback).toBeUndefined(),
    },
  ]);
});

describe('decide: template changes during a rollout', () => {
  runDecideTable([
    {
      name: 'a new template mid-rollout restarts at step 1 with fresh analysis',
      observed: observed({ spec: { template: TEMPLATE_C }, virtualService: seedVirtualService(25), status: rolloutStatus({ currentStepIndex: 3, canaryWeight: 25 }) }),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'RolloutRestarted', status: { canaryRevision: REV_C, currentStepIndex: 0, step: '1/5', stepStartedAt: iso(400) } },
    },
    {
      name: 'the template reverted to what stable runs ends the rollout without promotion',
      observed: observed({ spec: { template: TEMPLATE_A }, virtualService: seedVirtualService(25), status: rolloutStatus({ currentStepIndex: 3 }) }),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'RolloutEnded' },
      check: (action) => expect(as(action, 'updateStatus').status.canaryRevision).toBeUndefined(),
    },
    {
      name: 'after the rollout ended, traffic goes back to stable',
      observed: observed({ spec: { template: TEMPLATE_A }, virtualService: seedVirtualService(25), status: { stableRevision: REV_A } }),
      now: at(401),
      expected: { kind: 'setWeights', canaryWeight: 0 },
    },
  ]);
});

describe('decide: commands', () => {
  runDecideTable([
    {
      name: 'abort rolls back and acknowledges the token in one write',
      observed: withCommand(ABORT_ANNOTATION, 't1'),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'Aborted', status: { phase: 'Aborted', rollback: { reason: 'Aborted' }, acknowledgedCommands: { abort: 't1' } } },
    },
    {
      name: 'an acknowledged abort is not applied again',
      observed: withCommand(ABORT_ANNOTATION, 't1', observed({ status: rolloutStatus({ acknowledgedCommands: { abort: 't1' } }) })),
      now: at(10),
      expected: { kind: 'setWeights', canaryWeight: 5 },
    },
    {
      name: 'abort with no rollout in progress is acknowledged and explained',
      observed: withCommand(ABORT_ANNOTATION, 't1', observed({ spec: { template: TEMPLATE_A }, status: { stableRevision: REV_A } })),
      now: at(10),
      expected: { kind: 'updateStatus', reason: 'CommandIgnored', status: { acknowledgedCommands: { abort: 't1' }, message: 'abort ignored: no rollout in progress' } },
    },
    {
      name: 'abort wins over a promote pending at the same time',
      observed: withCommand(ABORT_ANNOTATION, 't2', withCommand(PROMOTE_ANNOTATION, 't1')),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'Aborted' },
    },
    {
      name: 'promote releases an indefinite pause (analysis still required)',
      observed: withCommand(PROMOTE_ANNOTATION, 't1'),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'Promoted', status: { pauseReleasedStepIndex: 3, acknowledgedCommands: { promote: 't1' } } },
    },
    {
      name: 'promote on a setWeight step is acknowledged and explained',
      observed: withCommand(PROMOTE_ANNOTATION, 't1', observed()),
      now: at(10),
      expected: { kind: 'updateStatus', reason: 'CommandIgnored', status: { acknowledgedCommands: { promote: 't1' } } },
    },
    {
      name: 'promote --full skips the remaining steps and analysis',
      observed: withCommand(PROMOTE_FULL_ANNOTATION, 't1'),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'PromotedFull', status: { phase: 'Promoting', currentStepIndex: 5, canaryRevision: REV_B, acknowledgedCommands: { promoteFull: 't1' } } },
    },
    {
      name: 'retry restarts a rolled-back revision from step 1',
      observed: withCommand(RETRY_ANNOTATION, 't1', rolledBack()),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'Retried', status: { canaryRevision: REV_B, currentStepIndex: 0, acknowledgedCommands: { retry: 't1' } } },
      check: (action) => expect(as(action, 'updateStatus').status.rollback).toBeUndefined(),
    },
    {
      name: 'retry without a rollback is acknowledged and explained',
      observed: withCommand(RETRY_ANNOTATION, 't1', observed()),
      now: at(10),
      expected: { kind: 'updateStatus', reason: 'CommandIgnored' },
    },
    {
      name: 'a command is applied even while the VirtualService is missing',
      observed: withCommand(ABORT_ANNOTATION, 't1', observed({ virtualService: undefined })),
      now: at(10),
      expected: { kind: 'updateStatus', reason: 'Aborted' },
    },
  ]);
});
