// Which notifications a landed write tells. Level-based like the rest of the controller: a
// trigger is a change between the status before a write and the status it stored, never a guess
// from an Event's wording. A write that folded several decisions is walked decision by decision,
// so "step 2 completed, then paused" is two notifications from one write.
import type { Action } from '../rollout/actions.ts';
import type { MetricResult, Rollout, RolloutPhase, RolloutStatus } from '../rollout/types.ts';

/** Flagger's alert severities: a subscription at one level hears it and everything above. */
export const SEVERITIES = ['info', 'warn', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface TriggerDefinition {
  severity: Severity;
  /** Heard only by a subscription that names the trigger: too chatty for a severity subscription. */
  optIn?: boolean;
  /** For docs and error messages. */
  description: string;
}

/** Argo Rollouts' trigger names where one exists (docs/notifications.md maps the rest). */
export const TRIGGERS = {
  'on-rollout-started': { severity: 'info', description: 'a new revision starts its rollout (or `retry` starts it again)' },
  'on-rollout-weight-changed': { severity: 'info', optIn: true, description: 'the canary takes a new share of the traffic' },
  'on-rollout-step-completed': { severity: 'info', optIn: true, description: 'a step is done and the next one starts' },
  'on-rollout-paused': { severity: 'info', description: 'the rollout waits at a pause step or spec.paused for `promote` or `resume`' },
  'on-rollout-completed': { severity: 'info', description: 'the new revision is promoted: it runs as stable and takes all traffic' },
  'on-analysis-inconclusive': { severity: 'warn', description: 'analysis stayed inconclusive past inconclusiveLimit: held for a person' },
  'on-analysis-failed': { severity: 'warn', description: 'an analysis round failed (the canary is rolled back once failureLimit is passed)' },
  'on-rollout-degraded': { severity: 'warn', description: 'the rollout cannot go on (phase Degraded): missing objects, a stalled promotion, refused writes' },
  'on-rollout-aborted': { severity: 'warn', description: '`abort`: all traffic went back to stable' },
  'on-rollout-rolled-back': { severity: 'error', description: 'failed analysis or the progress deadline sent all traffic back to stable' },
} as const satisfies Record<string, TriggerDefinition>;

export type TriggerName = keyof typeof TRIGGERS;
export const TRIGGER_NAMES = Object.keys(TRIGGERS) as TriggerName[];

export function isTriggerName(name: string): name is TriggerName {
  return Object.hasOwn(TRIGGERS, name);
}

export function severityOf(trigger: TriggerName): Severity {
  return TRIGGERS[trigger].severity;
}

/** One metric of the round that decided, as measured against its limit. */
export interface MeasuredCheck {
  name: string;
  verdict: MetricResult['verdict'];
  value?: number;
  limit?: number;
  message: string;
}

/** What every sink renders from. Stable: the generic webhook sends it as it is. */
export interface Notification {
  trigger: TriggerName;
  severity: Severity;
  rollout: { namespace: string; name: string };
  /** The revision concerned: the canary's, or for on-rollout-completed the one promoted. */
  revision?: string;
  stableRevision?: string;
  phase?: RolloutPhase;
  /** Percent of traffic on the canary after the write. */
  canaryWeight: number;
  /** "2/4": the step the rollout is at after the write. */
  step?: string;
  /** The decision's reason (as in the Event) and its message for people. */
  reason: string;
  message: string;
  /** When the write was decided (RFC 3339). */
  at: string;
  /** When analysis decided: the measured values against their limits. */
  analysis?: { failedChecks: number; failureLimit: number; checks: MeasuredCheck[] };
}

interface Decision {
  reason: string;
  message: string;
  status: RolloutStatus;
}

function decisionsOf(action: Action): Decision[] {
  if (action.kind !== 'updateStatus') return [];
  return action.decisions ?? [{ reason: action.reason, message: action.message, status: action.status }];
}

const ANALYSIS_TRIGGERS: ReadonlySet<TriggerName> = new Set(['on-analysis-failed', 'on-analysis-inconclusive', 'on-rollout-rolled-back']);

/** The triggers one status change fires, in the order a person would tell them. */
export function firedTriggers(before: RolloutStatus, after: RolloutStatus): TriggerName[] {
  const fired: TriggerName[] = [];
  // The same rollout going on: same revision, neither side rolled back (retry is a new start).
  const continuing = after.canaryRevision !== undefined && after.canaryRevision === before.canaryRevision && before.rollback === undefined && after.rollback === undefined;
  const failedMore = (after.analysis?.failedChecks ?? 0) > (before.analysis?.failedChecks ?? 0);
  const newRollback = after.rollback !== undefined && (before.rollback?.at !== after.rollback.at || before.rollback.revision !== after.rollback.revision);
  if (after.canaryRevision !== undefined && after.rollback === undefined && (after.canaryRevision !== before.canaryRevision || before.rollback !== undefined)) {
    fired.push('on-rollout-started');
  }
  if (continuing && failedMore) fired.push('on-analysis-failed');
  if (continuing && after.stepsHash === before.stepsHash && (after.currentStepIndex ?? 0) > (before.currentStepIndex ?? 0)) fired.push('on-rollout-step-completed');
  if (continuing && (after.canaryWeight ?? 0) !== (before.canaryWeight ?? 0)) fired.push('on-rollout-weight-changed');
  if (newRollback) {
    if (after.rollback!.reason === 'AnalysisFailed' && failedMore) fired.push('on-analysis-failed');
    fired.push(after.rollback!.reason === 'Aborted' ? 'on-rollout-aborted' : 'on-rollout-rolled-back');
  }
  const entered = (phase: RolloutPhase) => after.phase === phase && before.phase !== phase;
  if (entered('Paused')) fired.push('on-rollout-paused');
  if (entered('Inconclusive')) fired.push('on-analysis-inconclusive');
  if (entered('Degraded')) fired.push('on-rollout-degraded');
  // Promotion ends the rollout (its fields are cleared) in phase Healthy; stableRevision alone is
  // no sign, it follows the stable Deployment and changes while promotion is still under way.
  const rolloutEnded = before.canaryRevision !== undefined && after.canaryRevision === undefined && after.stableRevision === before.canaryRevision;
  const firstDeploy = before.phase === undefined && before.stableRevision === undefined;
  if (entered('Healthy') && after.stableRevision !== undefined && (rolloutEnded || firstDeploy)) fired.push('on-rollout-completed');
  return fired;
}

function notification(rollout: Rollout, trigger: TriggerName, decision: Decision, now: Date): Notification {
  const { status } = decision;
  const revision = trigger === 'on-rollout-completed' ? status.stableRevision : status.canaryRevision ?? status.rollback?.revision;
  const measured = ANALYSIS_TRIGGERS.has(trigger) && status.analysis?.last !== undefined && (trigger !== 'on-rollout-rolled-back' || status.rollback?.reason === 'AnalysisFailed');
  return {
    trigger, severity: severityOf(trigger),
    rollout: { namespace: rollout.metadata.namespace, name: rollout.metadata.name },
    ...(revision === undefined ? {} : { revision }),
    ...(status.stableRevision === undefined ? {} : { stableRevision: status.stableRevision }),
    ...(status.phase === undefined ? {} : { phase: status.phase }),
    canaryWeight: status.canaryWeight ?? 0,
    ...(status.step === undefined ? {} : { step: status.step }),
    reason: decision.reason, message: decision.message, at: now.toISOString(),
    ...(measured ? {
      analysis: {
        failedChecks: status.analysis!.failedChecks, failureLimit: rollout.spec.analysis?.failureLimit ?? 0,
        checks: status.analysis!.last!.map(({ name, verdict, value, limit, message }) => ({
          name, verdict, ...(value === undefined ? {} : { value }), ...(limit === undefined ? {} : { limit }), message,
        })),
      },
    } : {}),
  };
}

/** Every notification a carried-out action tells, given the status it was decided on. */
export function notificationsFor(rollout: Rollout, action: Action, now: Date): Notification[] {
  let before = rollout.status ?? {};
  const told: Notification[] = [];
  for (const decision of decisionsOf(action)) {
    for (const trigger of firedTriggers(before, decision.status)) told.push(notification(rollout, trigger, decision, now));
    before = decision.status;
  }
  return told;
}
