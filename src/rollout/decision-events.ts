// Which decisions a person hears of as a core/v1 Event on the Rollout, and what that Event says.
// One write is one Event: a write that folded several status decisions names each of them that
// is worth telling, in order, under the first one's reason.
import type { Action } from './actions.ts';
import type { RolloutStatus } from './types.ts';

/** What operators alert on: rollbacks, failed analysis, deadlines, holds that need a person. */
const WARNING_REASONS = /Fail|RolledBack|RollingBack|Abort|Missing|Invalid|Degraded|Deadline|Inconclusive|Refused|NotOwned|NotFound|Pinned/;

/** Between decisions of one Event's message. */
export const DECISION_SEPARATOR = '; then ';

export interface DecisionEvent {
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
}

interface Told {
  reason: string;
  message: string;
  silent?: boolean;
  warning?: boolean;
  status?: RolloutStatus;
}

/** A status write that only refreshes the view is worth telling only when the phase changes. */
function worthTelling(decision: Told, previousPhase: RolloutStatus['phase']): boolean {
  if (decision.silent === true) return false;
  if (decision.reason !== 'StatusChanged') return true;
  return decision.status?.phase !== undefined && decision.status.phase !== previousPhase;
}

/** The Event for an action that was carried out, or undefined when it is not worth one. */
export function decisionEvent(previous: RolloutStatus | undefined, action: Action): DecisionEvent | undefined {
  const decisions: Told[] = action.kind !== 'updateStatus' ? [action] : action.decisions ?? [action];
  let phase = previous?.phase;
  const told: Told[] = [];
  for (const decision of decisions) {
    if (worthTelling(decision, phase)) told.push(decision);
    phase = decision.status?.phase ?? phase;
  }
  const [first] = told;
  if (first === undefined) return undefined;
  return {
    reason: first.reason,
    message: told.map((decision) => decision.message).join(DECISION_SEPARATOR),
    type: told.some((decision) => decision.warning === true || WARNING_REASONS.test(decision.reason)) ? 'Warning' : 'Normal',
  };
}
