// decide(): what real clusters do that the happy path does not: steps edited mid-flight,
// analysis that cannot conclude, Deployments that are not ours, refused writes, commands on an
// invalid spec, the scale subresource's status, a workloadRef that is missing.
import { describe, expect } from 'vitest';
import { ABORT_ANNOTATION, PROMOTE_ANNOTATION } from '../../../src/rollout/commands.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import { stepsHash } from '../../../src/rollout/revision.ts';
import type { Rollout } from '../../../src/rollout/types.ts';
import { as, runDecideTable } from './decide-table.ts';
import { REV_A, REV_B, at, deployment, iso, observed, rollout, rolloutStatus, round, seedVirtualService } from './fixtures.ts';

const STEPS = rollout().spec.steps;

const annotated = (base: ObservedState, annotation: string, token: string): ObservedState => ({
  ...base,
  rollout: { ...base.rollout, metadata: { ...base.rollout.metadata, annotations: { [annotation]: token } } },
});

/** Step 4 of 5 (indefinite pause) at 25%, as recorded for the default steps. */
const atStep4 = (fields: Parameters<typeof observed>[0] = {}) =>
  observed({ virtualService: seedVirtualService(25), status: rolloutStatus({ currentStepIndex: 3, canaryWeight: 25, stepsHash: stepsHash(STEPS) }), ...fields });

describe('decide: spec.steps edited mid-rollout', () => {
  runDecideTable([
    {
      name: 'steps cut from five to two at step 4 restart from step 1 instead of promoting without a gate',
      observed: atStep4({ spec: { steps: [{ setWeight: 50 }, { pause: { duration: '1m' } }] } }),
      now: at(400),
      expected: {
        kind: 'updateStatus',
        reason: 'StepsChanged',
        status: { currentStepIndex: 0, step: '1/2', stepStartedAt: iso(400), heldWeight: 25, stepsHash: stepsHash([{ setWeight: 50 }, { pause: { duration: '1m' } }]) },
      },
      check: (action) => expect(action.message).toMatch(/restarting from step 1 of the 2 new steps; the canary keeps 25%/),
    },
    {
      name: 'new steps that start with a pause keep the weight the canary had, not 0',
      observed: observed({
        virtualService: seedVirtualService(25),
        spec: { steps: [{ pause: { duration: '1m' } }, { setWeight: 50 }] },
        status: rolloutStatus({ currentStepIndex: 0, canaryWeight: 25, heldWeight: 25, stepStartedAt: iso(400), weightChangedAt: iso(300), stepsHash: stepsHash([{ pause: { duration: '1m' } }, { setWeight: 50 }]) }),
      }),
      now: at(410),
      settle: true,
      expected: { kind: 'wait' },
      check: (action) => expect(action.message).toMatch(/step 1\/2 at 25% canary/),
    },
    {
      name: 'a status from before steps were hashed records the hash without restarting',
      observed: atStep4({ status: rolloutStatus({ currentStepIndex: 3, canaryWeight: 25, stepsHash: undefined }) }),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'StepsRecorded', silent: true, status: { currentStepIndex: 3, stepsHash: stepsHash(STEPS) } },
    },
  ]);
});

describe('decide: analysis that cannot conclude ends', () => {
  const errored = (consecutive: number) => ({ passedChecks: 0, failedChecks: 0, inconclusiveChecks: 0, erroredChecks: consecutive, consecutiveErrors: consecutive });
  const atStep0 = (analysis: Record<string, number>, spec: Partial<Rollout['spec']> = {}) =>
    observed({ spec, virtualService: seedVirtualService(5), status: rolloutStatus({ canaryWeight: 5, weightChangedAt: iso(10), analysis: analysis as never }) });
  runDecideTable([
    {
      name: 'an errored round within consecutiveErrorLimit is only counted',
      observed: { ...atStep0(errored(3)), analysis: round('error', 100) },
      now: at(100),
      expected: { kind: 'updateStatus', reason: 'AnalysisError', status: { analysis: { erroredChecks: 4, consecutiveErrors: 4, failedChecks: 0 } } },
    },
    {
      name: 'the errored round past consecutiveErrorLimit counts as a failed check',
      observed: { ...atStep0(errored(4)), analysis: round('error', 100) },
      now: at(100),
      expected: { kind: 'updateStatus', reason: 'AnalysisCheckFailed', status: { analysis: { erroredChecks: 5, consecutiveErrors: 5, failedChecks: 1 } } },
    },
    {
      name: 'with failureLimit 0 the first error past the limit rolls back',
      observed: { ...atStep0(errored(4), { analysis: { failureLimit: 0, consecutiveErrorLimit: 4, metrics: [{ name: 'error-rate', maxErrorRatePercent: 1 }] } }), analysis: round('error', 100) },
      now: at(100),
      expected: { kind: 'updateStatus', reason: 'AnalysisFailed', status: { phase: 'RolledBack', rollback: { reason: 'AnalysisFailed' } } },
      check: (action) => expect(action.message).toMatch(/Prometheus gave no answer 5 rounds in a row, more than consecutiveErrorLimit 4/),
    },
    {
      name: 'a passing round resets the run of errors',
      observed: { ...atStep0(errored(4)), analysis: round('pass', 100) },
      now: at(100),
      expected: { kind: 'updateStatus', reason: 'AnalysisPassed', status: { analysis: { consecutiveErrors: 0, passedChecks: 1 } } },
    },
    {
      name: 'the inconclusive round past inconclusiveLimit holds the rollout in phase Inconclusive',
      observed: { ...atStep0({ passedChecks: 0, failedChecks: 0, inconclusiveChecks: 3, erroredChecks: 0, consecutiveInconclusive: 3 }), analysis: round('inconclusive', 100) },
      now: at(100),
      expected: { kind: 'updateStatus', reason: 'Inconclusive', status: { phase: 'Inconclusive', inconclusiveStepIndex: 0, analysis: { consecutiveInconclusive: 4 } } },
    },
    {
      name: 'Inconclusive holds the weight and runs no more analysis, with a message naming promote and abort',
      observed: observed({ virtualService: seedVirtualService(5), status: rolloutStatus({ canaryWeight: 5, weightChangedAt: iso(10), inconclusiveStepIndex: 0, analysis: { passedChecks: 0, failedChecks: 0, inconclusiveChecks: 4, erroredChecks: 0, consecutiveInconclusive: 4, lastRunAt: iso(100) } }) }),
      now: at(1000),
      settle: true,
      expected: { kind: 'wait', reason: 'Inconclusive' },
      check: (action) => {
        expect(action.message).toContain('switchboard promote payment-service');
        expect(action.message).toContain('switchboard abort payment-service');
        expect((action as { until?: Date }).until).toBeUndefined();
      },
    },
    {
      name: 'promote on Inconclusive completes the step (a person vouches where analysis could not)',
      observed: annotated(observed({ virtualService: seedVirtualService(5), status: rolloutStatus({ canaryWeight: 5, inconclusiveStepIndex: 0, analysis: { passedChecks: 0, failedChecks: 0, inconclusiveChecks: 4, erroredChecks: 0, consecutiveInconclusive: 4 } }) }), PROMOTE_ANNOTATION, 't1'),
      now: at(1000),
      expected: { kind: 'updateStatus', reason: 'Promoted', status: { currentStepIndex: 1, analysis: { consecutiveInconclusive: 0 }, acknowledgedCommands: { promote: 't1' } } },
      check: (action) => expect(as(action, 'updateStatus').status.inconclusiveStepIndex).toBeUndefined(),
    },
    {
      name: 'abort on Inconclusive rolls back',
      observed: annotated(observed({ virtualService: seedVirtualService(5), status: rolloutStatus({ canaryWeight: 5, inconclusiveStepIndex: 0 }) }), ABORT_ANNOTATION, 't1'),
      now: at(1000),
      expected: { kind: 'updateStatus', reason: 'Aborted', status: { phase: 'Aborted', rollback: { reason: 'Aborted' } } },
    },
  ]);
});

describe('decide: Deployments that are not ours', () => {
  const foreign = deployment('canary', { revision: REV_B, replicas: 1 });
  foreign.metadata = { ...foreign.metadata, ownerReferences: undefined, labels: { app: 'payment-service' } };
  const otherController = deployment('stable', { revision: REV_A, replicas: 4 });
  otherController.metadata = { ...otherController.metadata, ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'payments', uid: 'argo', controller: true }] };
  const leftBehind = deployment('stable', { revision: REV_A, replicas: 4 });
  leftBehind.metadata = { ...leftBehind.metadata, ownerReferences: [] };
  runDecideTable([
    {
      name: 'a hand-made <name>-canary is never scaled or re-templated: Degraded, naming it and what to do',
      observed: observed({ canaryDeployment: foreign }),
      now: at(1),
      settle: true,
      expected: { kind: 'stop', condition: { reason: 'DeploymentNotOwned' } },
      check: (action) => expect(action.message).toMatch(/Deployment payment-service-canary already exists and is not this Rollout's: it has no owner and lacks the labels/),
    },
    {
      name: "a <name>-stable controlled by someone else's controller is not ours either",
      observed: observed({ stableDeployment: otherController }),
      now: at(1),
      settle: true,
      expected: { kind: 'stop', condition: { reason: 'DeploymentNotOwned' } },
      check: (action) => expect(action.message).toContain('it is controlled by Rollout payments'),
    },
    {
      name: 'the stable Deployment an earlier Rollout of this name left behind (KeepStable) is adopted',
      observed: observed({ stableDeployment: leftBehind }),
      now: at(1),
      expected: {
        kind: 'adoptDeployment',
        name: 'payment-service-stable',
        patch: [
          { op: 'test', path: '/metadata/uid', value: 'stable-uid' },
          { op: 'test', path: '/metadata/ownerReferences', value: [] },
          { op: 'add', path: '/metadata/ownerReferences/-', value: { apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', name: 'payment-service', uid: 'uid-1', controller: true, blockOwnerDeletion: true } },
        ],
      },
    },
  ]);
});

describe('decide: refused writes and commands on an invalid spec', () => {
  const refused = { what: 'createDeployment payment-service-canary', message: 'Deployment.apps "payment-service-canary" is invalid: spec.template.spec.containers[0].name: Invalid value: "Web_1"', at: iso(5), generation: 1 };
  const invalidMidCanary = observed({
    virtualService: seedVirtualService(25),
    spec: { analysis: { metrics: [{ name: 'saturation', query: 'max(cpu{pod=~"{{ pod }}"})', max: 0.9 }] } },
    status: rolloutStatus({ currentStepIndex: 3, canaryWeight: 25 }),
  });
  runDecideTable([
    {
      name: 'a write the API server refused as invalid is reported with its message, and retried only after a while',
      observed: observed({ canaryDeployment: undefined, refusedWrite: refused }),
      now: at(10),
      settle: true,
      expected: { kind: 'wait', reason: 'WriteRefused', until: at(305) },
      check: (action) => expect(action.message).toContain('spec.template.spec.containers[0].name: Invalid value: "Web_1"'),
    },
    {
      name: 'a refused write of an older generation is tried again at once (the spec changed)',
      observed: observed({ canaryDeployment: undefined, refusedWrite: { ...refused, generation: 0 } }),
      now: at(10),
      expected: { kind: 'createDeployment', track: 'canary' },
    },
    {
      name: 'an invalid spec mid-canary holds the weight and says why',
      observed: invalidMidCanary,
      now: at(400),
      settle: true,
      expected: { kind: 'stop', condition: { reason: 'InvalidSpec' } },
    },
    {
      name: 'abort works on an invalid spec',
      observed: annotated(invalidMidCanary, ABORT_ANNOTATION, 't1'),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'Aborted', status: { rollback: { reason: 'Aborted' }, acknowledgedCommands: { abort: 't1' } } },
    },
    {
      name: 'an aborted rollout with an invalid spec still sends all traffic back to stable',
      observed: { ...invalidMidCanary, rollout: { ...invalidMidCanary.rollout, status: rolloutStatus({ currentStepIndex: 3, canaryWeight: 25, rollback: { reason: 'Aborted', message: 'aborted by the user', at: iso(400), revision: REV_B } }) } },
      now: at(401),
      expected: { kind: 'setWeights', canaryWeight: 0, reason: 'RollingBack' },
    },
    {
      name: 'promote on an invalid spec is acknowledged and explained, not applied later by surprise',
      observed: annotated(invalidMidCanary, PROMOTE_ANNOTATION, 't1'),
      now: at(400),
      expected: { kind: 'updateStatus', reason: 'CommandIgnored', status: { acknowledgedCommands: { promote: 't1' } } },
      check: (action) => expect(action.message).toContain('the spec is invalid'),
    },
  ]);
});

describe('decide: status for the scale subresource, and workloadRef', () => {
  runDecideTable([
    {
      name: 'every status write carries the pods of both tracks and the selector, for HPAs and kubectl scale',
      observed: observed({ virtualService: seedVirtualService(5) }),
      now: at(10),
      expected: { kind: 'updateStatus', status: { replicas: 5, selector: 'app=payment-service' } },
    },
    {
      name: 'a workloadRef Deployment that does not exist stops everything, naming it',
      observed: { ...observed(), rollout: rollout({ spec: { template: undefined, workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'payments-v1' } }, status: rolloutStatus() }) },
      now: at(10),
      settle: true,
      expected: { kind: 'stop', condition: { reason: 'WorkloadNotFound' } },
      check: (action) => expect(action.message).toContain('Deployment payments-v1 named in spec.workloadRef was not found'),
    },
  ]);
});
