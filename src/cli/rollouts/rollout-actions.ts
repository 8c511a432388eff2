// The one-shot rollout commands: the patch each sends (from commands.ts), the line it prints,
// and the plain kubectl command that does the same, for people who script kubectl or cannot
// install the CLI where they are.
import {
  abortPatch, commandToken, pausePatch, promoteFullPatch, promotePatch, restartPatch, resumePatch, retryPatch,
  ABORT_ANNOTATION, PROMOTE_ANNOTATION, PROMOTE_FULL_ANNOTATION, RESTART_ANNOTATION, RETRY_ANNOTATION, type RolloutMergePatch,
} from '../../rollout/commands.ts';
import { ROLLOUT_GROUP, ROLLOUT_PLURAL } from '../../rollout/types.ts';
import type { RolloutApi, TargetOptions } from './rollout-api.ts';

export type RolloutAction = 'promote' | 'promoteFull' | 'abort' | 'retry' | 'restart' | 'pause' | 'resume';

interface ActionDefinition {
  /** What the command asks, completing "rollout "web" in namespace "prod": ...". */
  asked: string;
  patch: (token: string) => RolloutMergePatch;
  /** Set for the token commands: `kubectl annotate` says it more plainly than a merge patch. */
  annotation?: string;
}

export const ROLLOUT_ACTIONS: Readonly<Record<RolloutAction, ActionDefinition>> = {
  promote: {
    asked: 'promote requested: a gate that holds the rollout is overridden, else the current pause step is released (analysis it needs still applies), or a step held Inconclusive completes',
    patch: promotePatch,
    annotation: PROMOTE_ANNOTATION,
  },
  promoteFull: {
    asked: 'full promotion requested: the remaining steps and analysis are skipped and the canary becomes stable',
    patch: promoteFullPatch,
    annotation: PROMOTE_FULL_ANNOTATION,
  },
  abort: {
    asked: 'abort requested: all traffic goes back to stable and the canary is scaled to zero',
    patch: abortPatch,
    annotation: ABORT_ANNOTATION,
  },
  retry: {
    asked: 'retry requested: the rolled back or aborted rollout restarts from the first step',
    patch: retryPatch,
    annotation: RETRY_ANNOTATION,
  },
  restart: {
    asked: 'restart requested: the pods of the running Deployments are replaced, the revision stays',
    patch: restartPatch,
    annotation: RESTART_ANNOTATION,
  },
  pause: { asked: 'paused (spec.paused=true): the rollout holds at its current step', patch: () => pausePatch() },
  resume: { asked: 'resumed (spec.paused=false): the rollout continues from its current step', patch: () => resumePatch() },
};

/** The line printed after the patch: what was asked, and where the controller's answer shows. */
export function requestedLine(action: RolloutAction, name: string, namespace: string): string {
  const acknowledged = ROLLOUT_ACTIONS[action].annotation === undefined
    ? ''
    : `; the controller acknowledges it in status (see: switchboard status ${name} -n ${namespace})`;
  return `rollout "${name}" in namespace "${namespace}": ${ROLLOUT_ACTIONS[action].asked}${acknowledged}\n`;
}

/**
 * Sends the action's patch and returns the line that says what was asked: the one path of the
 * `promote`, `abort`, ... commands and of the dashboard's buttons, so the two cannot differ.
 */
export async function sendRolloutAction(
  api: Pick<RolloutApi, 'mergePatchRollout' | 'whoAmI' | 'namespace'>, name: string, action: RolloutAction, now: Date,
): Promise<string> {
  const token = commandToken(now);
  // A promote may let a rollout past a gate: who asked is recorded with it.
  const patch = action === 'promote' ? promotePatch(token, await api.whoAmI()) : ROLLOUT_ACTIONS[action].patch(token);
  await api.mergePatchRollout(name, patch);
  return requestedLine(action, name, api.namespace);
}

/** POSIX shell quoting: bare when safe, else single quotes (a quote inside becomes '\''). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The resource spelled with its group: `kubectl annotate rollout` would pick Argo Rollouts'
 * kind where both are installed (the CRD avoids the short name "ro" for the same reason).
 */
export const KUBECTL_RESOURCE = `${ROLLOUT_PLURAL}.${ROLLOUT_GROUP}`;

/**
 * The flags as the user gave them: without -n, kubectl falls back to the context's namespace
 * exactly as the CLI does, so the printed command needs no kubeconfig to be written.
 */
function targetFlags(target: TargetOptions): string[] {
  return [
    ...(target.namespace === undefined ? [] : ['-n', shellQuote(target.namespace)]),
    ...(target.context === undefined ? [] : ['--context', shellQuote(target.context)]),
    ...(target.kubeconfig === undefined ? [] : ['--kubeconfig', shellQuote(target.kubeconfig)]),
  ];
}

/**
 * The same request as plain kubectl. The token is `$(date +%s)` rather than the CLI's own, so
 * the printed command asks again each time it is run (a repeated token would be ignored).
 */
export function kubectlEquivalent(action: RolloutAction, name: string, target: TargetOptions = {}): string {
  const { annotation, patch } = ROLLOUT_ACTIONS[action];
  const resource = [KUBECTL_RESOURCE, shellQuote(name)];
  if (annotation !== undefined) {
    return ['kubectl', 'annotate', ...resource, ...targetFlags(target), `${annotation}="$(date +%s)"`, '--overwrite'].join(' ');
  }
  return ['kubectl', 'patch', ...resource, ...targetFlags(target), '--type', 'merge', '-p', shellQuote(JSON.stringify(patch('')))].join(' ');
}

/** A JSON patch as `kubectl patch --type json` takes it (undo). */
export function kubectlJsonPatch(name: string, patch: unknown, target: TargetOptions = {}): string {
  return ['kubectl', 'patch', KUBECTL_RESOURCE, shellQuote(name), ...targetFlags(target), '--type', 'json', '-p', shellQuote(JSON.stringify(patch))].join(' ');
}
