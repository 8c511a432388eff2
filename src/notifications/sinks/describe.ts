// The words every sink shares: one line that says what happened, the facts beside it, and the
// measured values against their limits when analysis decided. Each sink lays them out its way.
import type { MeasuredCheck, Notification, TriggerName } from '../triggers.ts';

const HEADLINES: Record<TriggerName, string> = {
  'on-rollout-started': 'rollout started',
  'on-rollout-weight-changed': 'canary weight changed',
  'on-rollout-step-completed': 'step completed',
  'on-rollout-paused': 'rollout paused',
  'on-rollout-completed': 'rollout completed',
  'on-analysis-inconclusive': 'analysis inconclusive: held',
  'on-analysis-failed': 'analysis failed',
  'on-rollout-degraded': 'rollout degraded',
  'on-rollout-aborted': 'rollout aborted',
  'on-rollout-rolled-back': 'rolled back',
};

export function rolloutName(notification: Notification): string {
  return `${notification.rollout.namespace}/${notification.rollout.name}`;
}

/** "team-a/payments: rolled back (revision 6d5f8c7b)". */
export function headline(notification: Notification): string {
  const revision = notification.revision === undefined ? '' : ` (revision ${notification.revision})`;
  return `${rolloutName(notification)}: ${HEADLINES[notification.trigger]}${revision}`;
}

export interface Fact {
  title: string;
  value: string;
}

export function facts(notification: Notification): Fact[] {
  const list: Fact[] = [{ title: 'Rollout', value: rolloutName(notification) }];
  if (notification.revision !== undefined) list.push({ title: 'Revision', value: notification.revision });
  if (notification.stableRevision !== undefined) list.push({ title: 'Stable revision', value: notification.stableRevision });
  if (notification.phase !== undefined) list.push({ title: 'Phase', value: notification.phase });
  list.push({ title: 'Canary weight', value: `${notification.canaryWeight}%` });
  if (notification.step !== undefined) list.push({ title: 'Step', value: notification.step });
  list.push({ title: 'Reason', value: notification.reason });
  return list;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** "error-rate: 48.2 against limit 5: fail", or the check's own message without a value. */
export function measuredLine(check: MeasuredCheck): string {
  if (check.value === undefined) return `${check.name}: ${check.verdict}: ${check.message}`;
  const limit = check.limit === undefined ? '' : ` against limit ${formatNumber(check.limit)}`;
  return `${check.name}: ${formatNumber(check.value)}${limit}: ${check.verdict}`;
}

/** "failed checks 2, 1 tolerated", or undefined when analysis did not decide. */
export function analysisSummary(notification: Notification): string | undefined {
  const { analysis } = notification;
  if (analysis === undefined) return undefined;
  return `failed checks ${analysis.failedChecks}, ${analysis.failureLimit} tolerated`;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
