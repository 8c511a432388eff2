// Rollouts and statuses for the notifications tests: one canary of payments in team-a.
import type { Action } from '../../../src/rollout/actions.ts';
import type { MetricResult, Rollout, RolloutStatus } from '../../../src/rollout/types.ts';
import type { Notification } from '../../../src/notifications/triggers.ts';

export const NOW = new Date('2026-03-01T12:00:00.000Z');

export function paymentsRollout(status: RolloutStatus = {}, annotations: Record<string, string> = {}): Rollout {
  return {
    apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout',
    metadata: { name: 'payments', namespace: 'team-a', uid: 'uid-1', annotations },
    spec: {
      selector: { matchLabels: { app: 'payments' } },
      trafficRouting: { host: 'payments', virtualService: { name: 'payments-routing' }, destinationRule: { name: 'payments-destination' } },
      steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: {} }],
      analysis: { failureLimit: 1, metrics: [{ name: 'error-rate', maxErrorRatePercent: 5 }] },
    },
    status,
  };
}

export const STABLE = 'rev-stable';
export const CANARY = 'rev-canary';

export const HEALTHY: RolloutStatus = { phase: 'Healthy', stableRevision: STABLE, canaryWeight: 0 };
export const AT_20: RolloutStatus = {
  phase: 'Progressing', stableRevision: STABLE, canaryRevision: CANARY, currentStepIndex: 0, step: '1/4', canaryWeight: 20, stepsHash: 'h1',
  analysis: { passedChecks: 0, failedChecks: 0, inconclusiveChecks: 0, erroredChecks: 0 },
};

export const FAILED_CHECKS: MetricResult[] = [
  { name: 'error-rate', verdict: 'fail', value: 48.21, limit: 5, at: NOW.toISOString(), message: 'error rate 48.21% is above maxErrorRatePercent 5%' },
  { name: 'latency-p99', verdict: 'pass', value: 31, limit: 500, at: NOW.toISOString(), message: 'p99 latency 31 ms is within maxLatencyMs 500 ms' },
];

export function withAnalysis(status: RolloutStatus, failedChecks: number, last: MetricResult[] = FAILED_CHECKS): RolloutStatus {
  return { ...status, analysis: { passedChecks: 0, failedChecks, inconclusiveChecks: 0, erroredChecks: 0, last } };
}

export function statusWrite(status: RolloutStatus, reason = 'StatusChanged', message = 'status changed'): Action {
  return { kind: 'updateStatus', reason, message, status };
}

export function folded(...decisions: { reason: string; message: string; status: RolloutStatus }[]): Action {
  const [first] = decisions;
  return { kind: 'updateStatus', reason: first!.reason, message: first!.message, status: decisions.at(-1)!.status, decisions };
}

/** The notification each sink golden renders: a rollback decided by analysis. */
export const ROLLED_BACK: Notification = {
  trigger: 'on-rollout-rolled-back', severity: 'error',
  rollout: { namespace: 'team-a', name: 'payments' },
  revision: CANARY, stableRevision: STABLE, phase: 'RolledBack', canaryWeight: 20, step: '1/4',
  reason: 'AnalysisFailed',
  message: 'analysis failed 2 time(s), more than failureLimit 1: error rate 48.21% is above maxErrorRatePercent 5%; all traffic goes back to stable & the canary is scaled to zero',
  at: NOW.toISOString(),
  analysis: {
    failedChecks: 2, failureLimit: 1,
    checks: FAILED_CHECKS.map(({ name, verdict, value, limit, message }) => ({ name, verdict, value: value!, limit: limit!, message })),
  },
};

export const STARTED: Notification = {
  trigger: 'on-rollout-started', severity: 'info',
  rollout: { namespace: 'team-a', name: 'payments' },
  revision: CANARY, stableRevision: STABLE, phase: 'Progressing', canaryWeight: 0, step: '1/4',
  reason: 'RolloutStarted', message: 'rolling out revision rev-canary from the first step', at: NOW.toISOString(),
};
