// decide(): deletion, finalizer, invalid spec, missing or unusable traffic objects, subsets first,
// and the steady states around a rollout (first deployment, healthy, start).
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect } from 'vitest';
import { TRAFFIC_RESTORE_FINALIZER, type Rollout } from '../../../src/rollout/types.ts';
import { as, runDecideTable, type DecideCase } from './decide-table.ts';
import {
  REV_A,
  REV_B,
  TEMPLATE_A,
  at,
  deployment,
  iso,
  observed,
  rollout,
  rolloutStatus,
  canaryPinnedVirtualService,
  seedDestinationRule,
  seedVirtualService,
  readyDestinationRule,
  unclaimed,
  claimedBy,
} from './fixtures.ts';

/** Deleted mid-canary; by default the canary has no pods left and stable was already left behind. */
const deleting = (vsWeight: number | undefined, fields: Parameters<typeof observed>[0] = {}, spec: Partial<Rollout['spec']> = {}) => ({
  ...observed({ virtualService: vsWeight === undefined ? undefined : seedVirtualService(vsWeight), canaryDeployment: deployment('canary', { revision: REV_B, replicas: 0 }), stableDeployment: orphaned(deployment('stable', { revision: REV_A, replicas: 4 })), ...fields }),
  rollout: rollout({ spec, metadata: { deletionTimestamp: iso(0), finalizers: ['other', TRAFFIC_RESTORE_FINALIZER] }, status: rolloutStatus({ ...fields.status }) }),
});

/** The Deployment of an earlier revision, in no role; `createdAt`: seconds after T0. */
function retiredAt(revision: string, replicas: number, createdAt = 0): V1Deployment {
  const built = deployment('canary', { revision, replicas, uid: `payment-service-${revision}-uid` });
  return { ...built, metadata: { ...built.metadata, name: `payment-service-${revision}`, creationTimestamp: at(createdAt) } };
}

function orphaned(deployment: V1Deployment): V1Deployment {
  return { ...deployment, metadata: { ...deployment.metadata, ownerReferences: [] } };
}

/** A healthy Rollout running REV_A, nothing in progress. */
const steady = (fields: Parameters<typeof observed>[0] = {}) =>
  observed({ spec: { template: TEMPLATE_A }, status: { stableRevision: REV_A, phase: 'Healthy' }, canaryDeployment: undefined, destinationRule: readyDestinationRule(REV_A, REV_A), ...fields });

describe('decide: deletion and finalizer', () => {
  runDecideTable([
    {
      name: 'deleting mid-canary sends 100% to stable first',
      observed: deleting(5),
      now: at(1),
      expected: { kind: 'setWeights', reason: 'RestoringStableBeforeDeletion', canaryWeight: 0 },
    },
    {
      name: 'deleting with all traffic on stable releases the finalizer, guarded by its index',
      observed: deleting(0, { virtualService: unclaimed(seedVirtualService(0)), destinationRule: unclaimed(readyDestinationRule()) }),
      now: at(1),
      expected: {
        kind: 'removeFinalizer',
        patch: [
          { op: 'test', path: '/metadata/finalizers/1', value: TRAFFIC_RESTORE_FINALIZER },
          { op: 'remove', path: '/metadata/finalizers/1' },
        ],
      },
    },
    {
      name: 'deleting with all traffic on stable lets go of its claims first, the VirtualService\'s then the DestinationRule\'s',
      observed: deleting(0),
      now: at(1),
      expected: {
        kind: 'updateClaims',
        reason: 'RouteReleased',
        plural: 'virtualservices',
        patch: [
          { op: 'test', path: '/metadata/resourceVersion', value: '7' },
          { op: 'remove', path: '/metadata/annotations/switchboard.dev~1managed-by-rollouts' },
        ],
      },
    },
    {
      name: 'deleting with the VirtualService gone lets go of the DestinationRule\'s subsets',
      observed: deleting(undefined),
      now: at(1),
      expected: { kind: 'updateClaims', plural: 'destinationrules', name: 'payment-service-destination' },
    },
    {
      name: 'deleting with the VirtualService gone and no claims left releases the finalizer',
      observed: deleting(undefined, { destinationRule: unclaimed(readyDestinationRule()) }),
      now: at(1),
      expected: { kind: 'removeFinalizer' },
    },
    {
      name: 'deleting with canary pods left: they keep running for the scale-down delay after traffic left them',
      observed: deleting(0, { canaryDeployment: deployment('canary', { revision: REV_B, replicas: 1 }) }),
      now: at(1),
      expected: { kind: 'updateStatus', reason: 'ScaleDownDelayStarted', status: { canaryScaleDownAt: iso(31) } },
    },
    {
      name: 'deleting during the scale-down delay waits for it (the timestamp survives a restart)',
      observed: deleting(0, { canaryDeployment: deployment('canary', { revision: REV_B, replicas: 1 }), status: { canaryScaleDownAt: iso(31) } }),
      now: at(10),
      expected: { kind: 'wait', reason: 'WaitingForScaleDownDelay', until: at(31) },
    },
    {
      name: 'deleting with deletionPolicy KeepStable (default): the stable Deployment is left behind without its owner reference',
      observed: deleting(0, { stableDeployment: deployment('stable', { revision: REV_A, replicas: 4 }) }),
      now: at(1),
      expected: {
        kind: 'orphanDeployment',
        name: 'payment-service-stable',
        patch: [
          { op: 'test', path: '/metadata/uid', value: 'stable-uid' },
          { op: 'test', path: '/metadata/ownerReferences/0/uid', value: 'uid-1' },
          { op: 'remove', path: '/metadata/ownerReferences/0' },
        ],
      },
    },
    {
      name: 'deleting with deletionPolicy DeleteAll: stable goes with the Rollout',
      observed: deleting(0, { stableDeployment: deployment('stable', { revision: REV_A, replicas: 4 }), virtualService: unclaimed(seedVirtualService(0)), destinationRule: unclaimed(readyDestinationRule()) }, { deletionPolicy: 'DeleteAll' }),
      now: at(1),
      expected: { kind: 'removeFinalizer' },
    },
    {
      name: 'deleting after the finalizer is gone waits',
      observed: { ...deleting(5), rollout: rollout({ metadata: { deletionTimestamp: iso(0), finalizers: [] } }) },
      now: at(1),
      expected: { kind: 'wait', reason: 'Deleting' },
    },
    {
      name: 'a Rollout without the finalizer gets it before any other write',
      observed: { ...observed(), rollout: rollout({ metadata: { finalizers: undefined } }) },
      now: at(1),
      expected: { kind: 'addFinalizer', patch: [{ op: 'add', path: '/metadata/finalizers', value: [TRAFFIC_RESTORE_FINALIZER] }] },
    },
    {
      name: 'the finalizer is appended to other finalizers behind a test of the list',
      observed: { ...observed(), rollout: rollout({ metadata: { finalizers: ['other'] } }) },
      now: at(1),
      expected: {
        kind: 'addFinalizer',
        patch: [
          { op: 'test', path: '/metadata/finalizers', value: ['other'] },
          { op: 'add', path: '/metadata/finalizers/-', value: TRAFFIC_RESTORE_FINALIZER },
        ],
      },
    },
  ]);
});

describe('decide: invalid spec and missing traffic objects stop without touching anything', () => {
  const invalidSelector = observed({ spec: { selector: { matchLabels: { app: 'other' } } } });
  const unknownVariable = observed({
    spec: { analysis: { metrics: [{ name: 'saturation', query: 'max(cpu{pod=~"{{ pod }}"})', max: 0.9 }] } },
  });
  runDecideTable([
    {
      name: 'a selector missing from the template labels makes the Rollout Invalid',
      observed: invalidSelector,
      now: at(1),
      expected: { kind: 'updateStatus', status: { phase: 'Invalid', conditions: [{ type: 'SpecValid', status: 'False', reason: 'InvalidSpec' }] } },
    },
    {
      name: 'an Invalid Rollout already reported stops',
      observed: invalidSelector,
      now: at(1),
      settle: true,
      expected: { kind: 'stop', condition: { type: 'SpecValid', status: 'False' } },
    },
    {
      name: 'an unknown custom query variable makes the Rollout Invalid with the variable named',
      observed: unknownVariable,
      now: at(1),
      expected: { kind: 'updateStatus', status: { phase: 'Invalid' } },
      check: (action) => expect(as(action, 'updateStatus').status.message).toContain('unknown template variable {{ pod }}'),
    },
    {
      name: 'a missing VirtualService is reported in a condition',
      observed: observed({ virtualService: undefined }),
      now: at(1),
      expected: {
        kind: 'updateStatus',
        status: { phase: 'Degraded', conditions: [{ type: 'TrafficRoutingReady', status: 'False', reason: 'VirtualServiceNotFound' }] },
      },
    },
    {
      name: 'a missing VirtualService already reported stops',
      observed: observed({ virtualService: undefined }),
      now: at(1),
      settle: true,
      expected: { kind: 'stop', condition: { reason: 'VirtualServiceNotFound' } },
    },
    {
      name: 'a missing DestinationRule stops even the first deployment',
      observed: observed({ destinationRule: undefined, stableDeployment: undefined, canaryDeployment: undefined, status: {} }),
      now: at(1),
      settle: true,
      expected: { kind: 'stop', condition: { reason: 'DestinationRuleNotFound' } },
    },
    {
      name: 'a DestinationRule for another host stops',
      observed: observed({ destinationRule: { ...seedDestinationRule(), spec: { host: 'ledger', subsets: [] } } }),
      now: at(1),
      settle: true,
      expected: { kind: 'stop', condition: { reason: 'DestinationRuleHostMismatch' } },
    },
    {
      name: 'a VirtualService with no route to both subsets stops',
      observed: observed({ virtualService: { ...seedVirtualService(), spec: { http: [{ route: [{ destination: { host: 'payment-service', subset: 'stable' } }] }] } } }),
      now: at(1),
      settle: true,
      expected: { kind: 'stop', condition: { reason: 'NoManagedRoutes' } },
    },
    {
      name: "a route outside the managed ones pinned to the canary subset (the article's beta route) is refused: 503 between rollouts",
      observed: observed({ virtualService: canaryPinnedVirtualService(0), stableDeployment: undefined, canaryDeployment: undefined, status: {} }),
      now: at(1),
      settle: true,
      expected: { kind: 'stop', condition: { type: 'TrafficRoutingReady', status: 'False', reason: 'CanaryPinnedRoute' } },
      check: (action) => expect(action.message).toMatch(/http route #0 sends 100% to subset canary, which has no pods outside a rollout/),
    },
    {
      name: 'a beta route that sends to both subsets (canary 0) is managed like the others, not refused',
      observed: observed({ virtualService: { ...claimedBy('{"http/#0":"payment-service","http/#1":"payment-service"}', seedVirtualService()), spec: { http: [
        { match: [{ headers: { 'x-beta-user': { exact: 'true' } } }], route: [{ destination: { host: 'payment-service', subset: 'canary' }, weight: 0 }, { destination: { host: 'payment-service', subset: 'stable' }, weight: 100 }] },
        ...(seedVirtualService().spec.http ?? []).slice(1),
      ] } } }),
      now: at(1),
      expected: { kind: 'setWeights', canaryWeight: 5 },
    },
    {
      name: 'subsets are repaired before anything else, even the first deployment',
      observed: observed({ destinationRule: seedDestinationRule(), stableDeployment: undefined, canaryDeployment: undefined, status: {} }),
      now: at(1),
      expected: { kind: 'ensureSubsets', destinationRule: 'payment-service-destination' },
    },
    {
      name: 'stable deleted during a rollout stops with a way out',
      observed: observed({ stableDeployment: undefined }),
      now: at(1),
      settle: true,
      expected: { kind: 'stop', condition: { type: 'Progressing', status: 'False', reason: 'StableDeploymentMissing' } },
      check: (action) => expect(action.message).toContain('switchboard promote --full payment-service'),
    },
  ]);
});

describe('decide: first deployment and steady state', () => {
  const cases: DecideCase[] = [
    {
      name: 'the first Rollout records its revision as stable, in status (roles are not pod labels)',
      observed: steady({ stableDeployment: undefined, status: {} }),
      now: at(1),
      expected: { kind: 'updateStatus', reason: 'StableRevisionRecorded', status: { stableRevision: REV_A } },
    },
    {
      name: 'then creates the revision\'s Deployment at full replicas, its pods labelled with the revision, and no canary',
      observed: steady({ stableDeployment: undefined, status: { stableRevision: REV_A } }),
      now: at(1),
      expected: {
        kind: 'createDeployment',
        track: 'stable',
        deployment: {
          metadata: { name: `payment-service-${REV_A}`, labels: { 'switchboard.dev/rollout': 'payment-service', 'switchboard.dev/revision': REV_A } },
          spec: {
            replicas: 4,
            selector: { matchLabels: { app: 'payment-service', 'switchboard.dev/revision': REV_A } },
            template: { metadata: { labels: { app: 'payment-service', version: 'v1', 'switchboard.dev/revision': REV_A } } },
          },
        },
      },
    },
    {
      name: 'a stable Deployment deleted by hand is recreated with the template it ran',
      observed: steady({ stableDeployment: undefined }),
      now: at(1),
      expected: { kind: 'createDeployment', track: 'stable' },
    },
    {
      name: 'steady with canary traffic left in the VirtualService sends it back to stable',
      observed: steady({ virtualService: seedVirtualService(5) }),
      now: at(1),
      expected: { kind: 'setWeights', canaryWeight: 0, reason: 'RestoringStable' },
    },
    {
      name: 'steady while stable pods start shows Progressing',
      observed: steady({ stableDeployment: deployment('stable', { revision: REV_A, replicas: 4, available: 1 }) }),
      now: at(1),
      expected: { kind: 'updateStatus', status: { phase: 'Progressing', stableRevision: REV_A } },
    },
    {
      name: 'steady and available shows Healthy once, then waits without writing',
      observed: steady(),
      now: at(1),
      settle: true,
      expected: { kind: 'wait', reason: 'Healthy' },
      check: (action) => expect(action).not.toHaveProperty('until'),
    },
    {
      name: 'a new spec.replicas scales stable (no rollout)',
      observed: steady({ spec: { template: TEMPLATE_A, replicas: 6 } }),
      now: at(1),
      expected: { kind: 'updateDeployment', track: 'stable', replicas: 6 },
    },
    {
      name: 'an earlier revision left with pods and no subset selecting it is scaled to zero, after the scale-down delay',
      observed: steady({ retired: [retiredAt(REV_B, 1)] }),
      now: at(1),
      expected: { kind: 'updateStatus', reason: 'ScaleDownDelayStarted', status: { stableScaleDownAt: iso(31) } },
    },
    {
      name: 'an earlier revision left with pods is scaled to zero once the delay is over, and kept for undo',
      observed: steady({ retired: [retiredAt(REV_B, 1)], status: { stableRevision: REV_A, phase: 'Healthy', stableScaleDownAt: iso(31) } }),
      now: at(31),
      expected: { kind: 'updateDeployment', name: `payment-service-${REV_B}`, replicas: 0, reason: 'OldRevisionScaledDown' },
    },
    {
      name: 'an earlier revision that a subset still selects keeps its pods (the subset moves first)',
      observed: steady({ retired: [retiredAt(REV_B, 1)], destinationRule: readyDestinationRule(REV_A, REV_B), virtualService: seedVirtualService(5) }),
      now: at(31),
      expected: { kind: 'setWeights', canaryWeight: 0 },
    },
    {
      name: 'once every earlier revision is at zero, a served delay leaves status',
      observed: steady({ retired: [retiredAt(REV_B, 0)], status: { stableRevision: REV_A, phase: 'Healthy', stableScaleDownAt: iso(31) } }),
      now: at(40),
      expected: { kind: 'updateStatus', reason: 'ScaleDownDelayServed' },
      check: (action) => expect(action.kind === 'updateStatus' && action.status.stableScaleDownAt).toBeUndefined(),
    },
    {
      name: 'earlier revisions past revisionHistoryLimit are deleted, oldest first, guarded by uid',
      observed: steady({ spec: { template: TEMPLATE_A, revisionHistoryLimit: 1 }, retired: [retiredAt(REV_B, 0, 20), retiredAt('cccccccccc', 0, 10)] }),
      now: at(40),
      expected: { kind: 'deleteDeployment', reason: 'OldRevisionDeleted', name: 'payment-service-cccccccccc', uid: 'payment-service-cccccccccc-uid' },
    },
    {
      name: 'a new template starts a rollout at step 1 in status first',
      observed: observed({ status: { stableRevision: REV_A, phase: 'Healthy' }, canaryDeployment: undefined, destinationRule: readyDestinationRule(REV_A, REV_A) }),
      now: at(5),
      expected: {
        kind: 'updateStatus',
        reason: 'RolloutStarted',
        status: { phase: 'Progressing', canaryRevision: REV_B, currentStepIndex: 0, step: '1/5', stepStartedAt: iso(5) },
      },
    },
    {
      name: 'never promotes twice: once promoted, the revision is simply steady',
      observed: observed({
        status: { phase: 'Healthy', stableRevision: REV_B },
        stableDeployment: deployment('stable', { revision: REV_B, replicas: 4 }),
        canaryDeployment: undefined,
        retired: [retiredAt(REV_A, 0)],
        destinationRule: readyDestinationRule(REV_B, REV_B),
      }),
      now: at(1),
      settle: true,
      expected: { kind: 'wait', reason: 'Healthy' },
    },
  ];
  runDecideTable(cases);
});
