// Proxies get time to see a weight change before the pods it took traffic from go away. Istio
// pushes a VirtualService change to every sidecar asynchronously: a canary scaled down the
// moment its weight is written to 0 still gets requests from proxies that have not caught up,
// and those fail. So once traffic has left the canary, its pods stay for scaleDownDelaySeconds.
// The moment is a timestamp in status (canaryScaleDownAt): a restarted controller keeps it.
import type { Action } from '../actions.ts';
import { addMilliseconds } from '../durations.ts';
import { waitUntil } from '../hold.ts';
import { timestamp, type DecideContext } from '../state.ts';
import { recordStatus } from '../transitions.ts';

/**
 * Call only once the VirtualService sends nothing to the canary. undefined: the canary's pods may
 * go now; otherwise the status write that starts the delay, or the wait until it is over.
 */
export function scaleDownDelay(ctx: DecideContext, what: string): Action | undefined {
  const delayMs = ctx.spec.scaleDownDelaySeconds * 1000;
  if (delayMs === 0) return undefined;
  const at = timestamp(ctx.status.canaryScaleDownAt);
  if (at === undefined) {
    const until = addMilliseconds(ctx.now, delayMs);
    return recordStatus('ScaleDownDelayStarted', `traffic left the canary: ${what} at ${until.toISOString()}`, { ...ctx.status, canaryScaleDownAt: until.toISOString() });
  }
  if (ctx.now.getTime() >= at) return undefined;
  const until = new Date(at);
  return waitUntil('WaitingForScaleDownDelay', `traffic left the canary; ${what} at ${until.toISOString()} (scaleDownDelaySeconds ${ctx.spec.scaleDownDelaySeconds}), once every proxy has seen the change`, until);
}
