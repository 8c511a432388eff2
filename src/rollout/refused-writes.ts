// A write the API server refused as invalid is reported, never looped: retrying the same write
// cannot succeed until the spec changes (or, for a refusal from outside the spec such as an
// admission policy, until someone fixes that; hence a slow retry). The same goes for a write
// that someone else keeps undoing: writing it back again and again is a fight, not a fix.
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
  return hold(ctx, { phase: 'Degraded', message, conditions: [...baseConditions(ctx), condition], warning: true }, waitUntil('WriteRefused', message, retryAt));
}

export function writeLoopHold(ctx: DecideContext): Action | undefined {
  const loop = ctx.observed.writeLoop;
  if (loop === undefined || loop.generation !== ctx.rollout.metadata.generation) return undefined;
  // Traffic goes back to stable after a rollback or an abort, fight or not.
  if (ctx.status.rollback !== undefined) return undefined;
  const at = timestamp(loop.at) ?? ctx.now.getTime();
  const retryAt = addMilliseconds(new Date(at), REFUSED_WRITE_RETRY_MS);
  if (ctx.now >= retryAt) return undefined;
  const writer = loop.writer === undefined ? 'another writer' : `field manager ${loop.writer}`;
  const message =
    `${loop.what} was undone ${loop.count} times in ${loop.windowSeconds}s by ${writer}: two writers are fighting over it. ` +
    `Stop the other writer (a GitOps tool syncing the weights, another controller, a script), or change this Rollout; ` +
    `the controller writes nothing until the spec changes, or until ${retryAt.toISOString()}`;
  const condition = { type: CONDITION.progressing, status: 'False' as const, reason: 'WriteLoop', message };
  return hold(ctx, { phase: 'Degraded', message, conditions: [...baseConditions(ctx), condition], warning: true }, waitUntil('WriteLoop', message, retryAt));
}
