// One-shot commands (`switchboard promote|abort|retry`, `promote --full`) are annotations whose
// value is a fresh token; pause/resume is the level field spec.paused.
//
// Why annotations and not spec fields: a spec field like `abort: true` stays true after the
// controller acted, so someone must reset it, and a controller restarted in between would act
// again. An annotation carries a token instead; the controller copies the token into
// status.acknowledgedCommands in the same status write that records the command's effect, so a
// command is pending exactly while its annotation differs from its acknowledgement. A restart,
// a re-apply of the same manifest or a stale cache can never apply it twice, and a new token
// (any new value) asks again.
//
// The same thing by hand:
//   kubectl annotate rollout NAME switchboard.dev/promote="$(date +%s)" --overwrite
//   kubectl patch rollout NAME --type merge -p '{"metadata":{"annotations":{"switchboard.dev/abort":"1"}}}'
//   kubectl patch rollout NAME --type merge -p '{"spec":{"paused":true}}'
import type { AcknowledgedCommands, Rollout } from './types.ts';

/** Releases the current pause step (timed or indefinite). Analysis the step needs still applies. */
export const PROMOTE_ANNOTATION = 'switchboard.dev/promote';
/**
 * Set by `switchboard promote` beside its token: who asked, as the CLI knows them. Recorded when
 * the promote lets a rollout past a gate; anyone who may annotate the Rollout may write it.
 */
export const PROMOTED_BY_ANNOTATION = 'switchboard.dev/promoted-by';
/** Skips every remaining step and analysis and promotes the current template. */
export const PROMOTE_FULL_ANNOTATION = 'switchboard.dev/promote-full';
/** Rolls the rollout in progress back: 100% stable, canary scaled to zero, phase Aborted. */
export const ABORT_ANNOTATION = 'switchboard.dev/abort';
/** Restarts a rolled-back or aborted rollout of the same template from the first step. */
export const RETRY_ANNOTATION = 'switchboard.dev/retry';
/** Rolls the pods of the running Deployments (as `kubectl rollout restart`), keeping the revision. */
export const RESTART_ANNOTATION = 'switchboard.dev/restart';

export type RolloutCommand = keyof AcknowledgedCommands;

export const COMMAND_ANNOTATIONS: Readonly<Record<RolloutCommand, string>> = {
  abort: ABORT_ANNOTATION,
  retry: RETRY_ANNOTATION,
  promoteFull: PROMOTE_FULL_ANNOTATION,
  promote: PROMOTE_ANNOTATION,
  restart: RESTART_ANNOTATION,
};

/** Order in which pending commands are handled, one per reconcile: abort wins over promotion. */
const COMMAND_PRIORITY: readonly RolloutCommand[] = ['abort', 'retry', 'promoteFull', 'promote', 'restart'];

/** A JSON merge patch (RFC 7386) for the Rollout: `kubectl patch --type merge -p '<json>'`. */
export interface RolloutMergePatch {
  metadata?: { annotations: Record<string, string> };
  spec?: { paused: boolean };
}

/** A fresh token: the time with milliseconds, distinct for any two commands a person issues. */
export function commandToken(now: Date): string {
  return now.toISOString();
}

function annotationPatch(annotation: string, token: string): RolloutMergePatch {
  return { metadata: { annotations: { [annotation]: token } } };
}

export function promotePatch(token: string, by?: string): RolloutMergePatch {
  const patch = annotationPatch(PROMOTE_ANNOTATION, token);
  if (by !== undefined && patch.metadata !== undefined) patch.metadata.annotations[PROMOTED_BY_ANNOTATION] = by;
  return patch;
}

export function promoteFullPatch(token: string): RolloutMergePatch {
  return annotationPatch(PROMOTE_FULL_ANNOTATION, token);
}

export function abortPatch(token: string): RolloutMergePatch {
  return annotationPatch(ABORT_ANNOTATION, token);
}

export function retryPatch(token: string): RolloutMergePatch {
  return annotationPatch(RETRY_ANNOTATION, token);
}

export function restartPatch(token: string): RolloutMergePatch {
  return annotationPatch(RESTART_ANNOTATION, token);
}

export function pausePatch(): RolloutMergePatch {
  return { spec: { paused: true } };
}

export function resumePatch(): RolloutMergePatch {
  return { spec: { paused: false } };
}

export interface PendingCommand {
  command: RolloutCommand;
  token: string;
}

/** The command to act on now, if any: its annotation is set and differs from its acknowledgement. */
export function pendingCommand(rollout: Rollout): PendingCommand | undefined {
  const annotations = rollout.metadata.annotations ?? {};
  const acknowledged = rollout.status?.acknowledgedCommands ?? {};
  for (const command of COMMAND_PRIORITY) {
    const token = annotations[COMMAND_ANNOTATIONS[command]];
    if (token !== undefined && token !== '' && token !== acknowledged[command]) return { command, token };
  }
  return undefined;
}
