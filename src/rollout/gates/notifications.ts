// Notifications: the gates told, never asked. AfterRollout when a promotion completes, OnRollback
// when a rollback or abort is decided, OnEvent with every decision a person hears of as an Event.
// They hold nothing: the shell delivers them beside the reconcile, retrying with backoff.
import type { Action } from '../actions.ts';
import type { DecisionEvent } from '../decision-events.ts';
import type { GatePoint, Rollout } from '../types.ts';
import { gatePayload, type GateCall, type GatePayload } from './call.ts';

function calls(rollout: Rollout, point: GatePoint, key: string, event: DecisionEvent | undefined, extra: Partial<GatePayload> = {}): GateCall[] {
  return (rollout.spec.gates ?? []).filter((gate) => gate.point === point).map((gate) => ({
    namespace: rollout.metadata.namespace,
    rollout: rollout.metadata.name,
    gate,
    key,
    payload: gatePayload(rollout, gate, { ...extra, ...(event === undefined ? {} : { event: { type: event.type, reason: event.reason, message: event.message } }) }),
  }));
}

/**
 * The notifications an action that was carried out calls for: `rollout` is the Rollout as it was
 * decided on, `event` the Event recorded for the action (undefined when none was).
 */
export function notificationsFor(rollout: Rollout, action: Action, event: DecisionEvent | undefined): GateCall[] {
  const before = rollout.status ?? {};
  const after = action.kind === 'updateStatus' ? action.status : before;
  const written = { ...rollout, status: after };
  const found: GateCall[] = [];
  const promoted = before.canaryRevision !== undefined && after.canaryRevision === undefined && after.stableRevision === before.canaryRevision;
  if (promoted) found.push(...calls(written, 'AfterRollout', `${after.stableRevision}/promoted`, event, { revision: before.canaryRevision }));
  if (before.rollback === undefined && after.rollback !== undefined) {
    found.push(...calls(written, 'OnRollback', `${after.rollback.revision}/${after.rollback.at}`, event));
  }
  if (event !== undefined) found.push(...calls(written, 'OnEvent', `${event.reason}/${after.observedGeneration ?? 0}`, event));
  return found;
}
