// decide(): the canary Deployment of a rollout of REV_B over stable REV_A: created owned and
// sized for its weight, moved to a new revision only without traffic, and its pods given
// progressDeadlineSeconds to become available.
import { describe } from 'vitest';
import { runDecideTable } from './decide-table.ts';
import { REV_A, REV_B, at, deployment, iso, observed, rolloutStatus, seedVirtualService } from './fixtures.ts';

describe('decide: canary Deployment and pods', () => {
  runDecideTable([
    {
      name: 'step 1 creates the canary sized for its weight (5% of 4 → 1 pod), owned by the Rollout',
      observed: observed({ canaryDeployment: undefined }),
      now: at(1),
      expected: {
        kind: 'createDeployment',
        track: 'canary',
        deployment: {
          metadata: {
            name: 'payment-service-canary',
            labels: { 'switchboard.dev/rollout': 'payment-service', 'switchboard.dev/track': 'canary' },
            annotations: { 'switchboard.dev/revision': REV_B },
            ownerReferences: [{ kind: 'Rollout', name: 'payment-service', uid: 'uid-1', controller: true }],
          },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'payment-service', 'switchboard.dev/track': 'canary' } },
            template: { metadata: { labels: { app: 'payment-service', version: 'v2', 'switchboard.dev/track': 'canary' } } },
          },
        },
      },
    },
    {
      name: 'a canary at another revision with no traffic gets the new template',
      observed: observed({ canaryDeployment: deployment('canary', { revision: REV_A, replicas: 0 }) }),
      now: at(1),
      expected: { kind: 'updateDeployment', track: 'canary', revision: REV_B, replicas: 1 },
    },
    {
      name: 'a canary with pods at another revision and no traffic is replaced only after the scale-down delay',
      observed: observed({ canaryDeployment: deployment('canary', { revision: REV_A, replicas: 1 }), status: rolloutStatus({ canaryScaleDownAt: iso(31) }) }),
      now: at(20),
      expected: { kind: 'wait', reason: 'WaitingForScaleDownDelay', until: at(31) },
    },
    {
      name: 'a canary at another revision that takes traffic is first taken out of the VirtualService',
      observed: observed({ canaryDeployment: deployment('canary', { revision: REV_A, replicas: 1 }), virtualService: seedVirtualService(5) }),
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
