// Rollouts for the RolloutStatus view's tests: payment-service of test/unit/rollout/fixtures.ts
// paused mid-rollout with every field of the view set, and as the controller first finds it.
import type { V1Deployment } from '@kubernetes/client-node';
import type { TrackDeployments } from '../../../src/cli/rollouts/rollout-api.ts';
import type { Rollout, RolloutStatus } from '../../../src/rollout/types.ts';
import { iso, REV_A, REV_B, rollout } from '../rollout/fixtures.ts';

export function trackDeployment(revision: string | undefined, ready: number, desired: number): V1Deployment {
  return {
    metadata: revision === undefined ? {} : { annotations: { 'switchboard.dev/revision': revision } },
    spec: { replicas: desired, selector: {}, template: {} },
    status: { readyReplicas: ready },
  };
}

export const BOTH_DEPLOYMENTS: TrackDeployments = { stable: trackDeployment(REV_A, 4, 4), canary: trackDeployment(REV_B, 1, 1) };
export const NO_DEPLOYMENTS: TrackDeployments = { stable: undefined, canary: undefined };

/** Step 2 (pause 2m) of payment-service, 30 s into the pause; the status as the API server returns it (seconds, no milliseconds). */
export const PAUSED_STATUS: RolloutStatus = {
  phase: 'Paused', message: 'step 2/5: pause 2m', observedGeneration: 2,
  stableRevision: REV_A, canaryRevision: REV_B, currentStepIndex: 1, step: '2/5', canaryWeight: 5, pauseStartedAt: '2025-01-01T00:00:00Z',
  dataPlane: {
    virtualServiceGeneration: 7, canaryWeight: 5, state: 'Synced', proxies: 3, synced: 3,
    writtenAt: '2025-01-01T00:00:00Z', syncedAt: '2025-01-01T00:00:00.400Z', seconds: 0.4, message: 'istiod pushed 5% to 3/3 proxies in 0.4 s',
  },
  managedRoutes: [
    { name: 'testers', type: 'Header', match: [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }] },
    { name: 'shadow', type: 'Mirror', match: [{ method: { exact: 'GET' }, path: { prefix: '/api' }, headers: { cookie: { regex: '.*beta.*' } } }] },
  ],
  analysis: {
    passedChecks: 2, failedChecks: 1, inconclusiveChecks: 1, erroredChecks: 0, lastRunAt: iso(10),
    last: [
      { name: 'error-rate', verdict: 'pass', value: 0.123456, limit: 1, at: iso(10), message: 'canary 0.12% <= 1%' },
      { name: 'latency-p99', verdict: 'inconclusive', at: iso(10), message: 'only 3 requests (< minRequests 20)' },
      { name: 'errors-vs-stable', verdict: 'fail', dryRun: true, value: 0.01, limit: 0.05, at: iso(10), message: 'dry run, not judged: canary 3% (15/500) vs stable 1% (5/500)' },
    ],
  },
  gates: [
    {
      name: 'change-window', point: 'BeforeWeightIncrease', key: `${REV_B}/s/2`, state: 'Refused', attempts: 2, answer: 'HTTP 403: change freeze',
      message: 'gate "change-window" (BeforeWeightIncrease) refused the canary weight going from 5% to 25% at step 3/5: HTTP 403: change freeze',
      lastAttemptAt: iso(20), nextAttemptAt: iso(40),
    },
    {
      name: 'smoke', point: 'BeforeRollout', key: REV_B, state: 'Overridden', attempts: 1, answer: 'HTTP 503',
      message: 'gate "smoke" (BeforeRollout) overridden by alice with `switchboard promote`', lastAttemptAt: iso(-60), overriddenAt: iso(-30), overriddenBy: 'alice',
    },
  ],
  rollback: { reason: 'AnalysisFailed', message: 'error-rate 7% > 1%', at: iso(-900), revision: 'c0ffee0000' },
  conditions: [{ type: 'Available', status: 'True', reason: 'StableAvailable', message: 'payment-service-stable: 4/4', lastTransitionTime: iso(-600) }],
};

/** Every field of the view present: the golden that documents the whole shape. */
export const PAUSED: Rollout = rollout({
  metadata: { generation: 2, creationTimestamp: '2024-12-31T23:00:00Z', annotations: { 'switchboard.dev/promote': 'tok-1' } },
  status: PAUSED_STATUS,
});

/** Created, not yet seen by the controller: the fewest fields the view has. */
export const UNSEEN: Rollout = rollout({ metadata: { name: 'checkout', namespace: 'shop' }, spec: { analysis: undefined } });
