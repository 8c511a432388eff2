// A write the API server refused as invalid is reported, never looped: retrying the same write
// cannot succeed until the spec changes (or, for a refusal from outside the spec such as an
// admission policy, until someone fixes that; hence a slow retry).
import type { Action } from './actions.ts';
import { CONDITION } from './conditions.ts';
import { addMilliseconds } from './durations.ts';
import { baseConditions, hold, waitUntil } from './hold.ts';
import { timestamp, type DecideContext } from './state.ts';

/** A refusal not caused by the spec may clear by itself: try the write again this often. */
export const REFUSED_WRITE_RETRY_MS = 5 * 60_000;

export function refusedWriteHold(ctx: DecideContext): Action | undefined {
  const refused = ctx.observed.refusedWrite;
  if (refused === undefined || refused.generation !== ctx.rollout.metadata.generation) return undefined;
  const at = timestamp(refused.at) ?? ctx.now.getTime();
  const retryAt = addMilliseconds(new Date(at), REFUSED_WRITE_RETRY_MS);
  if (ctx.now >= retryAt) return undefined;
  const message =
    `the API server refused ${refused.what}: ${refused.message}. Fix the spec (the field is named above); ` +
    `the controller tries again when the spec changes, or at ${retryAt.toISOString()}`;
  const condition = { type: CONDITION.progressing, status: 'False' as const, reason: 'WriteRefused', message };
  return hold(ctx, { phase: 'Degraded', message, conditions: [...baseConditions(ctx), condition] }, waitUntil('WriteRefused', message, retryAt));
}
