// Never take over what is not ours. A Deployment labelled with this Rollout's name may belong to
// someone else (a hand-made Deployment, another tool's): scaling it would break a workload this
// Rollout knows nothing about. The one exception is a Deployment this Rollout's name left behind
// when it was deleted with deletionPolicy KeepStable: it carries our labels and the revision's
// selector and has no controller, so it is adopted, as a ReplicaSet adopts matching orphan pods.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import type { Action, AdoptDeploymentAction } from '../actions.ts';
import { CONDITION } from '../conditions.ts';
import { controllerReference, deploymentRevision, isLegacy, revisionLabels } from './deployments.ts';
import { hold, stopWith } from '../hold.ts';
import { sameLabels } from '../routing/subsets.ts';
import type { DecideContext } from '../state.ts';
import { REVISION_LABEL, ROLLOUT_LABEL, TRACK_LABEL, type Track } from '../types.ts';

export type Ownership = { kind: 'owned' } | { kind: 'orphan' } | { kind: 'foreign'; why: string };

export function ownershipOf(deployment: V1Deployment, ctx: DecideContext, track: Track): Ownership {
  const { rollout } = ctx;
  const references = deployment.metadata?.ownerReferences ?? [];
  if (references.some((reference) => reference.uid === rollout.metadata.uid)) return { kind: 'owned' };
  const controller = references.find((reference) => reference.controller === true);
  if (controller !== undefined) return { kind: 'foreign', why: `it is controlled by ${controller.kind} ${controller.name}` };
  const labels = deployment.metadata?.labels ?? {};
  const revision = deploymentRevision(deployment) ?? '';
  const [key, value] = isLegacy(deployment) ? [TRACK_LABEL, track] : [REVISION_LABEL, revision];
  if (labels[ROLLOUT_LABEL] !== rollout.metadata.name || labels[key] !== value) {
    return { kind: 'foreign', why: `it has no owner and lacks the labels ${ROLLOUT_LABEL}=${rollout.metadata.name}, ${key}=${value} of a Deployment this Rollout left behind` };
  }
  const selector = isLegacy(deployment) ? { ...ctx.spec.selector.matchLabels, [TRACK_LABEL]: track } : revisionLabels(ctx.spec, revision);
  if (!sameLabels(deployment.spec?.selector?.matchLabels, selector)) {
    return { kind: 'foreign', why: `its selector is not the one this Rollout gives its pods (spec.selector plus ${key}), and a selector cannot change` };
  }
  return { kind: 'orphan' };
}

function adopt(ctx: DecideContext, deployment: V1Deployment, track: Track): AdoptDeploymentAction {
  const name = deployment.metadata?.name ?? '';
  const references = deployment.metadata?.ownerReferences;
  const patch: Operation[] = [
    { op: 'test', path: '/metadata/uid', value: deployment.metadata?.uid },
    references === undefined
      ? { op: 'add', path: '/metadata/ownerReferences', value: [controllerReference(ctx.rollout)] }
      : { op: 'test', path: '/metadata/ownerReferences', value: references },
  ];
  if (references !== undefined) patch.push({ op: 'add', path: '/metadata/ownerReferences/-', value: controllerReference(ctx.rollout) });
  return { kind: 'adoptDeployment', reason: 'DeploymentAdopted', message: `adopting Deployment ${name}, left behind by an earlier Rollout of this name`, name, track, patch };
}

/** Adopts our orphans; stops, touching nothing, at a Deployment that belongs to someone else. */
export function decideOwnership(ctx: DecideContext): Action | undefined {
  for (const track of ['stable', 'canary'] as const) {
    const deployment = track === 'stable' ? ctx.observed.stableDeployment : ctx.observed.canaryDeployment;
    if (deployment === undefined) continue;
    const ownership = ownershipOf(deployment, ctx, track);
    if (ownership.kind === 'owned') continue;
    if (ownership.kind === 'orphan') return adopt(ctx, deployment, track);
    const name = deployment.metadata?.name ?? '';
    const message =
      `Deployment ${name} already exists and is not this Rollout's: ${ownership.why}. The controller never scales it; ` +
      `rename or delete that Deployment, or give this Rollout another name (its Deployments are called <name>-<revision>)`;
    const condition = { type: CONDITION.progressing, status: 'False' as const, reason: 'DeploymentNotOwned', message };
    return hold(ctx, { phase: 'Degraded', message, conditions: [condition] }, stopWith(condition, ctx));
  }
  return undefined;
}
