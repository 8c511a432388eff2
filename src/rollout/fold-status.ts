// Status-only decisions that follow one another ("the weight is 20%", then "step complete", then
// "pausing") cost one write and one pass each, though nothing but status changes in between.
// Folding them is what the next passes would decide on the same objects with the new status, so
// one write carries them all: it is guarded as any status write is (the resourceVersion it was
// decided on), and a controller that dies before it decides the same again.
import type { Action, StatusDecision, UpdateStatusAction } from './actions.ts';
import type { ObservedState } from './observed.ts';
import { canonicalJson } from './revision.ts';
import type { RolloutStatus } from './types.ts';

/** More would mean decide() keeps rewriting status: the rest is left to the next pass. */
export const MAX_FOLDED_DECISIONS = 8;

/** Status as the API server stores it and the cache hands it back: JSON, no undefined members. */
function asStored(status: RolloutStatus): RolloutStatus {
  return JSON.parse(JSON.stringify(status)) as RolloutStatus;
}

function decisionOf(action: UpdateStatusAction): StatusDecision {
  return {
    reason: action.reason,
    message: action.message,
    status: action.status,
    ...(action.silent === true ? { silent: true } : {}),
    ...(action.warning === true ? { warning: true } : {}),
  };
}

export function foldStatusDecisions(observed: ObservedState, now: Date, decideOne: (observed: ObservedState, now: Date) => Action): Action {
  const first = decideOne(observed, now);
  if (first.kind !== 'updateStatus') return first;
  const decisions = [decisionOf(first)];
  let status = asStored(first.status);
  while (decisions.length < MAX_FOLDED_DECISIONS) {
    const next = decideOne({ ...observed, rollout: { ...observed.rollout, status } }, now);
    if (next.kind !== 'updateStatus') break;
    const nextStatus = asStored(next.status);
    if (canonicalJson(nextStatus) === canonicalJson(status)) break;
    decisions.push(decisionOf(next));
    status = nextStatus;
  }
  if (decisions.length === 1) return first;
  // The first decision keeps its own reason, message and silence; decisions tells the rest.
  return { ...first, status: decisions[decisions.length - 1]!.status, decisions };
}
