// Proxies get time to see a weight change before the pods it took traffic from go away. Istio
// pushes a VirtualService change to every sidecar asynchronously: a canary scaled down the
// moment its weight is written to 0 still gets requests from proxies that have not caught up,
// and those fail. So once traffic has left the canary, its pods stay for scaleDownDelaySeconds.
// The moment is a timestamp in status (canaryScaleDownAt): a restarted controller keeps it.
// With istiod known, the pods also wait until every proxy has applied the change (data-plane.ts).
import type { Action } from '../actions.ts';
import { addMilliseconds } from '../durations.ts';
import { waitUntil } from '../hold.ts';
import { timestamp, type DecideContext } from '../state.ts';
import { recordStatus } from '../transitions.ts';
import type { Track } from '../types.ts';
import { dataPlaneGate, dataPlaneReason, recorded, withDataPlane, type DataPlaneGate } from '../routing/data-plane.ts';

/**
 * Call only once the VirtualService sends nothing to the canary. undefined: the canary's pods may
 * go now; otherwise the status write that starts the delay, or the wait until it is over.
 */
export function scaleDownDelay(ctx: DecideContext, what: string, track: Track = 'canary'): Action | undefined {
  return delayFloor(ctx, what, track) ?? dataPlaneHold(ctx, what, track);
}

function delayFloor(ctx: DecideContext, what: string, track: Track): Action | undefined {
  const delayMs = ctx.spec.scaleDownDelaySeconds * 1000;
  if (delayMs === 0) return undefined;
  const field = track === 'canary' ? 'canaryScaleDownAt' : 'stableScaleDownAt';
  const at = timestamp(ctx.status[field]);
  if (at === undefined) {
    const until = addMilliseconds(ctx.now, delayMs);
    return recordStatus('ScaleDownDelayStarted', `traffic left the ${track}: ${what} at ${until.toISOString()}`, { ...ctx.status, [field]: until.toISOString() });
  }
  if (ctx.now.getTime() >= at) return undefined;
  const until = new Date(at);
  return waitUntil('WaitingForScaleDownDelay', `traffic left the ${track}; ${what} at ${until.toISOString()} (scaleDownDelaySeconds ${ctx.spec.scaleDownDelaySeconds}), once every proxy has seen the change`, until);
}

/** How often a scale-down held past the timeout looks again, besides istiod's own news. */
const HELD_RECHECK_MS = 10_000;

/**
 * Past the floor, the pods wait for every proxy istiod knows to have applied the change. Past
 * the timeout they go anyway when istiod could not be asked (the floor is the fallback) or when
 * spec.dataPlaneSync.onTimeout says ScaleDown; with KeepPods they stay while a known proxy lags.
 */
function dataPlaneHold(ctx: DecideContext, what: string, track: Track): Action | undefined {
  const gate = dataPlaneGate(ctx, 'applied');
  if (gate.kind === 'off') return undefined;
  if (gate.kind === 'waiting') return waitUntil('WaitingForDataPlane', `traffic left the ${track}; ${what} once every proxy has applied the change: ${gate.message}`, gate.until);
  if (!recorded(ctx, gate)) {
    const weight = 'canaryWeight' in ctx && typeof ctx.canaryWeight === 'number' ? ctx.canaryWeight : 0;
    const status = withDataPlane(ctx, ctx.status, gate, weight);
    const told = dataPlaneReason(gate) ?? { reason: 'DataPlaneSynced', warning: false };
    const held = gate.kind === 'unconfirmed' && keepsPods(ctx, gate) ? `; ${what} is held until they have it (spec.dataPlaneSync.onTimeout: KeepPods)` : '';
    return { kind: 'updateStatus', reason: told.reason, message: `${status.dataPlane?.message ?? what}${held}`, status, ...(told.warning ? { warning: true } : {}) };
  }
  if (gate.kind === 'unconfirmed' && keepsPods(ctx, gate)) {
    return waitUntil('DataPlaneSyncTimeout', `${what} is held: ${gate.message}`, addMilliseconds(ctx.now, HELD_RECHECK_MS));
  }
  return undefined;
}

function keepsPods(ctx: DecideContext, gate: Extract<DataPlaneGate, { kind: 'unconfirmed' }>): boolean {
  return gate.state === 'TimedOut' && gate.proxiesLeft && ctx.spec.dataPlaneSync.onTimeout === 'KeepPods';
}
