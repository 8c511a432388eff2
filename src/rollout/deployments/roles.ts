// Which of a Rollout's Deployments plays which role. Roles live in status, not in pod labels:
// stable is the Deployment of status.stableRevision (before any is recorded, the template's),
// canary that of status.canaryRevision. Every other Deployment of ours is retired: kept at zero
// (fast undo) or, for the layout before one Deployment per revision, deleted once no subset
// selects its pods.
import type { V1Deployment } from '@kubernetes/client-node';
import { deploymentName, deploymentRevision, isLegacy, newestFirst } from './deployments.ts';
import { NO_TEMPLATE } from '../defaults.ts';
import { templateRevision } from '../revision.ts';
import type { Rollout, RolloutStatus, Track } from '../types.ts';
import { TRACK_LABEL } from '../types.ts';

export interface Roles {
  stable?: V1Deployment;
  canary?: V1Deployment;
  /** Ours, in no role. */
  retired: V1Deployment[];
}

export function isOwnedBy(deployment: V1Deployment, rollout: Rollout): boolean {
  return (deployment.metadata?.ownerReferences ?? []).some((reference) => reference.uid === rollout.metadata.uid);
}

/**
 * The Deployment that runs `revision` for a role: one of the current layout first; else one of the
 * earlier layout running it, the role's own track first (after an old-style promotion both ran it);
 * else one that merely has its name, someone else's (ownership.ts stops at it).
 */
function ofRevision(rollout: Rollout, deployments: readonly V1Deployment[], revision: string, track: Track): V1Deployment | undefined {
  const runs = deployments.filter((deployment) => deploymentRevision(deployment) === revision);
  return (
    runs.find((deployment) => !isLegacy(deployment)) ??
    runs.find((deployment) => deployment.metadata?.labels?.[TRACK_LABEL] === track) ??
    runs.find(isLegacy) ??
    deployments.find((deployment) => deployment.metadata?.name === deploymentName(rollout.metadata.name, revision))
  );
}

export function assignRoles(rollout: Rollout, deployments: readonly V1Deployment[], status: RolloutStatus, templateRevision: string): Roles {
  const stableRevision = status.stableRevision ?? templateRevision;
  const stable =
    ofRevision(rollout, deployments, stableRevision, 'stable') ??
    // A Rollout of the earlier layout whose status never recorded a stable revision.
    (status.stableRevision === undefined ? deployments.find((d) => d.metadata?.labels?.[TRACK_LABEL] === 'stable') : undefined);
  const canary = status.canaryRevision === undefined ? undefined : ofRevision(rollout, deployments, status.canaryRevision, 'canary');
  const retired = deployments.filter((deployment) => deployment !== stable && deployment !== canary && isOwnedBy(deployment, rollout));
  return { ...(stable === undefined ? {} : { stable }), ...(canary === undefined ? {} : { canary }), retired };
}

/**
 * The stable and canary Deployments a person is shown, from the Rollout's labelled Deployments:
 * outside a rollout there is no canary (its subset selects stable's pods). `previous`: the kept
 * revision created last, where a plain `undo` goes when no rollout is in progress (as
 * `kubectl rollout undo` goes to the revision before the current one).
 */
export function roleDeployments(rollout: Rollout, deployments: readonly V1Deployment[]): { stable: V1Deployment | undefined; canary: V1Deployment | undefined; previous: V1Deployment | undefined } {
  const roles = assignRoles(rollout, deployments, rollout.status ?? {}, templateRevision(rollout.spec.template ?? NO_TEMPLATE));
  const previous = roles.retired.filter((deployment) => !isLegacy(deployment)).sort(newestFirst)[0];
  return { stable: roles.stable, canary: roles.canary === roles.stable ? undefined : roles.canary, previous };
}

/** The revision in each role, read as assignRoles reads them: before status names stable, the template's. */
export function roleRevisions(rollout: Rollout): { stable: string | undefined; canary: string | undefined } {
  const status = rollout.status ?? {};
  const stable = status.stableRevision ?? (rollout.spec.template === undefined ? undefined : templateRevision(rollout.spec.template));
  return { stable, canary: status.canaryRevision };
}
