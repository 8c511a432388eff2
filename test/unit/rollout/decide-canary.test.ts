// decide(): the canary Deployment of a rollout of REV_B over stable REV_A: created owned and
// sized for its weight, a new revision in a Deployment of its own, no traffic to it before its first step, and its pods given
// progressDeadlineSeconds to become available.
import { describe } from 'vitest';
import { runDecideTable } from './decide-table.ts';
import { REV_A, REV_B, REV_C, at, deployment, iso, observed, readyDestinationRule, revisionDeployment, rolloutStatus, seedVirtualService } from './fixtures.ts';

describe('decide: canary Deployment and pods', () => {
  runDecideTable([
    {
      name: 'step 1 creates the canary, a Deployment of its revision sized for its weight (5% of 4 → 1 pod), owned by the Rollout',
      observed: observed({ canaryDeployment: undefined, destinationRule: readyDestinationRule(REV_A, REV_A) }),
      now: at(1),
      expected: {
        kind: 'createDeployment',
        track: 'canary',
        deployment: {
          metadata: {
            name: `payment-service-${REV_B}`,
            labels: { 'switchboard.dev/rollout': 'payment-service', 'switchboard.dev/revision': REV_B },
            annotations: { 'switchboard.dev/revision': REV_B },
            ownerReferences: [{ kind: 'Rollout', name: 'payment-service', uid: 'uid-1', controller: true }],
          },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'payment-service', 'switchboard.dev/revision': REV_B } },
            template: { metadata: { labels: { app: 'payment-service', version: 'v2', 'switchboard.dev/revision': REV_B } } },
          },
        },
      },
    },
    {
      name: 'a new revision gets a Deployment of its own; the earlier canary\'s, without pods, is left as it is',
      observed: observed({
        stableDeployment: undefined, canaryDeployment: undefined, destinationRule: readyDestinationRule(REV_A, REV_A),
        deployments: [revisionDeployment(REV_A, { replicas: 4 }), revisionDeployment(REV_C, { replicas: 0 })],
      }),
      now: at(1),
      expected: { kind: 'createDeployment', track: 'canary', deployment: { metadata: { name: `payment-service-${REV_B}` } } },
    },
    {
      name: 'the earlier canary\'s pods, which no subset selects, go only after the scale-down delay',
      observed: observed({
        stableDeployment: undefined, canaryDeployment: undefined, destinationRule: readyDestinationRule(REV_A, REV_B), status: rolloutStatus({ stableScaleDownAt: iso(31) }),
        deployments: [revisionDeployment(REV_A, { replicas: 4 }), revisionDeployment(REV_B, { replicas: 1 }), revisionDeployment(REV_C, { replicas: 1 })],
      }),
      now: at(31),
      expected: { kind: 'updateDeployment', name: `payment-service-${REV_C}`, replicas: 0, reason: 'OldRevisionScaledDown' },
    },
    {
      name: 'while the canary subset still selects an earlier revision that takes traffic, the weight goes to 0 first',
      observed: observed({
        stableDeployment: undefined, canaryDeployment: undefined, destinationRule: readyDestinationRule(REV_A, REV_C), virtualService: seedVirtualService(5),
        deployments: [revisionDeployment(REV_A, { replicas: 4 }), revisionDeployment(REV_C, { replicas: 1 })],
      }),
      now: at(1),
      expected: { kind: 'setWeights', canaryWeight: 0, reason: 'CanaryRevisionChanged' },
    },
    {
      name: 'step 5 (50%) scales the canary to 2 pods before moving the weight',
      observed: observed({ virtualService: seedVirtualService(25), status: rolloutStatus({ currentStepIndex: 4, canaryWeight: 25 }) }),
      now: at(1),
      expected: { kind: 'updateDeployment', track: 'canary', replicas: 2 },
    },
    {
      name: 'canary pods not ready: the wait starts and is recorded',
      observed: observed({ canaryDeployment: deployment('canary', { revision: REV_B, replicas: 1, available: 0 }) }),
      now: at(20),
      expected: { kind: 'updateStatus', status: { waitingForPodsSince: iso(20) } },
    },
    {
      name: 'canary pods not ready: wait until the progress deadline',
      observed: observed({ canaryDeployment: deployment('canary', { revision: REV_B, replicas: 1, available: 0 }) }),
      now: at(20),
      settle: true,
      expected: { kind: 'wait', reason: 'WaitingForCanaryPods', until: at(620) },
    },
    {
      name: 'canary pods not ready past progressDeadlineSeconds roll back',
      observed: observed({
        canaryDeployment: deployment('canary', { revision: REV_B, replicas: 1, available: 0 }),
        status: rolloutStatus({ waitingForPodsSince: iso(20) }),
      }),
      now: at(620),
      expected: { kind: 'updateStatus', reason: 'ProgressDeadlineExceeded', status: { phase: 'RolledBack', rollback: { reason: 'ProgressDeadlineExceeded', revision: REV_B } } },
    },
  ]);
});
