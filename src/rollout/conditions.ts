// metav1.Condition bookkeeping: lastTransitionTime moves only when status flips, so rewriting the
// same condition is a no-op and status writes happen only on real change.
import type { Condition } from './types.ts';

export const CONDITION = {
  /** False when the spec has a problem the CRD's schema could not catch. */
  specValid: 'SpecValid',
  /** False when the VirtualService, DestinationRule or managed routes are missing or unusable. */
  trafficRoutingReady: 'TrafficRoutingReady',
  /** True while a rollout moves; False once it stopped (rolled back, aborted, deadline). */
  progressing: 'Progressing',
  /** The stable Deployment has all its pods available. */
  available: 'Available',
  /** The last analysis round passed (Unknown: inconclusive or Prometheus error). */
  analysisPassing: 'AnalysisPassing',
  /** istiod's proxies applied the last weight change a decision waited for (Unknown: not confirmed). */
  dataPlaneSynced: 'DataPlaneSynced',
} as const;

export type ConditionUpdate = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

export function setCondition(conditions: readonly Condition[], update: ConditionUpdate, now: Date, generation?: number): Condition[] {
  const previous = conditions.find((condition) => condition.type === update.type);
  const next: Condition = {
    ...update,
    lastTransitionTime:
      previous !== undefined && previous.status === update.status ? previous.lastTransitionTime : now.toISOString(),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
  // Keep the list's order so that an unchanged status compares equal and is not rewritten.
  return previous === undefined ? [...conditions, next] : conditions.map((condition) => (condition === previous ? next : condition));
}

export function setConditions(
  conditions: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  now: Date,
  generation?: number,
): Condition[] {
  return updates.reduce<Condition[]>((list, update) => setCondition(list, update, now, generation), [...(conditions ?? [])]);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}
