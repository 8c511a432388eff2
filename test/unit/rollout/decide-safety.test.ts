// decide(): what real clusters do that the happy path does not: steps edited mid-flight,
// analysis that cannot conclude, Deployments that are not ours, refused writes, commands on an
// invalid spec, the scale subresource's status, a workloadRef that is missing.
import { describe, expect } from 'vitest';
import { ABORT_ANNOTATION, PROMOTE_ANNOTATION } from '../../../src/rollout/commands.ts';
import type { ObservedState } from '../../../src/rollout/observed.ts';
import { stepsHash } from '../../../src/rollout/revision.ts';
import type { Rollout } from '../../../src/rollout/types.ts';
import { as, runDecideTable } from './decide-table.ts';
import type { V1Deployment } from '@kubernetes/client-node';
import type { RolloutStatus } from '../../../src/rollout/types.ts';
import { DR_CLAIMS, REV_A, REV_B, TEMPLATE_A, TEMPLATE_B, at, deployment, iso, observed, rollout, rolloutStatus, readyDestinationRule, round, seedDestinationRule, seedVirtualService } from './fixtures.ts';

const STEPS = rollout().spec.steps ?? [];

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
      observed: observed({ canaryDeployment: undefined, destinationRule: readyDestinationRule(REV_A, REV_A), refusedWrite: { ...refused, generation: 0 } }),
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

describe('decide: taking over a live service', () => {
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'payments-v1' };
  const workload = (replicas: number, labelled = true): V1Deployment => ({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'payments-v1', namespace: 'production', uid: 'w-uid', ...(labelled ? { labels: { 'switchboard.dev/rollout': 'payment-service' } } : {}) },
    spec: { replicas, selector: { matchLabels: { app: 'payment-service' } }, template: TEMPLATE_A as never },
  });
  const takingOver = (fields: Parameters<typeof observed>[0] = {}, status: RolloutStatus = { stableRevision: REV_A, phase: 'Healthy' }): ObservedState => {
    const base = observed({ virtualService: seedVirtualService(0), canaryDeployment: undefined, workload: workload(3), destinationRule: readyDestinationRule(REV_A, REV_A), ...fields });
    return { ...base, rollout: rollout({ spec: { template: undefined, workloadRef: ref }, status }) };
  };
  runDecideTable([
    {
      name: 'the stable subset of a live service (version: v1) keeps its pods until our stable pods are available',
      observed: takingOver({ destinationRule: seedDestinationRule(), stableDeployment: deployment('stable', { revision: REV_A, replicas: 4, available: 2 }) }),
      now: at(1),
      // Only the canary subset, which takes no traffic, is re-pointed now.
      expected: {
        kind: 'ensureSubsets',
        patch: [
          { op: 'test', path: '/metadata/annotations/switchboard.dev~1managed-by-rollouts', value: DR_CLAIMS },
          { op: 'test', path: '/spec/subsets/1/name', value: 'canary' },
          { op: 'add', path: '/spec/subsets/1/labels', value: { app: 'payment-service', 'switchboard.dev/revision': REV_A } },
        ],
      },
    },
    {
      name: 'once our stable pods are available the stable subset is re-pointed to them',
      observed: takingOver({ destinationRule: seedDestinationRule() }),
      now: at(1),
      expected: { kind: 'ensureSubsets', patch: expect.arrayContaining([{ op: 'add', path: '/spec/subsets/0/labels', value: { app: 'payment-service', 'switchboard.dev/revision': REV_A } }]) },
    },
    {
      name: 'the workloadRef Deployment is labelled so that its template changes reach the controller',
      observed: takingOver({ workload: workload(3, false) }),
      now: at(1),
      expected: { kind: 'updateWorkload', reason: 'WorkloadReferenced', name: 'payments-v1' },
    },
    {
      name: 'with stable available and selected, the workloadRef Deployment is scaled down after the delay starts',
      observed: takingOver(),
      now: at(1),
      expected: { kind: 'updateStatus', reason: 'WorkloadScaleDownScheduled', status: { workloadScaleDownAt: iso(31) } },
    },
    {
      name: 'during that delay the Rollout waits, and wakes when it is over',
      observed: takingOver({}, { stableRevision: REV_A, phase: 'Healthy', workloadScaleDownAt: iso(31) }),
      now: at(10),
      settle: true,
      expected: { kind: 'wait', until: at(31) },
    },
    {
      name: 'then the workloadRef Deployment goes to zero, guarded by its uid and replicas',
      observed: takingOver({}, { stableRevision: REV_A, phase: 'Healthy', workloadScaleDownAt: iso(31) }),
      now: at(31),
      expected: {
        kind: 'updateWorkload', reason: 'WorkloadScaledDown',
        patch: [
          { op: 'test', path: '/metadata/uid', value: 'w-uid' },
          { op: 'test', path: '/spec/replicas', value: 3 },
          { op: 'replace', path: '/spec/replicas', value: 0 },
        ],
      },
    },
    {
      name: "a change of the workloadRef Deployment's template starts a rollout",
      observed: takingOver({ workload: { ...workload(0), spec: { replicas: 0, selector: { matchLabels: { app: 'payment-service' } }, template: TEMPLATE_B as never } } }),
      now: at(40),
      expected: { kind: 'updateStatus', reason: 'RolloutStarted', status: { canaryRevision: REV_B } },
    },
  ]);
});

describe('decide: restart rolls the pods without a new revision', () => {
  const steadyA = (fields: Parameters<typeof observed>[0] = {}, status: RolloutStatus = { stableRevision: REV_A, phase: 'Healthy' }) =>
    observed({ spec: { template: TEMPLATE_A }, canaryDeployment: deployment('canary', { revision: REV_A, replicas: 0 }), status, virtualService: seedVirtualService(0), ...fields });
  const withTemplateAnnotation = (base: V1Deployment, token: string): V1Deployment => ({
    ...base, spec: { ...base.spec!, template: { metadata: { annotations: { 'switchboard.dev/restartedAt': token } } } },
  });
  runDecideTable([
    {
      name: 'restart records the running Deployments to roll, in the write that acknowledges it',
      observed: annotated(steadyA(), 'switchboard.dev/restart', 't1'),
      now: at(1),
      expected: { kind: 'updateStatus', reason: 'Restarted', status: { restart: { token: 't1', tracks: ['stable'] }, acknowledgedCommands: { restart: 't1' } } },
    },
    {
      name: 'then each recorded Deployment gets the token in its pod template (the revision annotation is untouched)',
      observed: steadyA({}, { stableRevision: REV_A, phase: 'Healthy', restart: { token: 't1', tracks: ['stable'] } }),
      now: at(2),
      expected: {
        kind: 'updateDeployment', reason: 'RestartingPods', track: 'stable',
        patch: [
          { op: 'test', path: '/metadata/uid', value: 'stable-uid' },
          { op: 'add', path: '/spec/template/metadata/annotations', value: { 'switchboard.dev/restartedAt': 't1' } },
        ],
      },
    },
    {
      name: 'once every recorded Deployment carries the token, the record goes',
      observed: steadyA({ stableDeployment: withTemplateAnnotation(deployment('stable', { revision: REV_A, replicas: 4 }), 't1') }, { stableRevision: REV_A, phase: 'Healthy', restart: { token: 't1', tracks: ['stable'] } }),
      now: at(3),
      expected: { kind: 'updateStatus', reason: 'RestartDone', silent: true },
      check: (action) => expect(as(action, 'updateStatus').status.restart).toBeUndefined(),
    },
    {
      name: 'restart with no pods anywhere is acknowledged and explained',
      observed: annotated(steadyA({ stableDeployment: deployment('stable', { revision: REV_A, replicas: 0 }) }), 'switchboard.dev/restart', 't1'),
      now: at(1),
      expected: { kind: 'updateStatus', reason: 'CommandIgnored' },
    },
  ]);
});
