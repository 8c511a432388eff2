// Deployments that left their role: the previous stable after a promotion, a canary whose
// rollout ended or was replaced, and those of the layout before one Deployment per revision.
// Their pods go only once neither of our subsets selects them, scaleDownDelaySeconds has passed
// and, where istiod is known, every proxy has applied the VirtualService as it is now
// (scale-down.ts). Revisions are then kept at zero replicas, so that `undo` brings one back by
// scaling it up (the newest spec.revisionHistoryLimit of them; older ones are deleted);
// Deployments of the earlier layout are deleted.
import type { V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { Action, WaitAction } from '../actions.ts';
import { deploymentRevision, desiredReplicas, isLegacy, newestFirst } from './deployments.ts';
import { scaleDownDelay } from './scale-down.ts';
import { selects } from '../routing/subsets.ts';
import type { DecideContext } from '../state.ts';
import { recordStatus } from '../transitions.ts';
import { TRACK_LABEL } from '../types.ts';
import { createDeployment, deleteDeployment, scaleDeployment } from '../writes.ts';

export interface Retirement {
  action?: Action;
  /** The wait for a delay or for the data plane: decide() returns it when nothing else is to be done. */
  wait?: WaitAction;
}

/** Whether the stable or canary subset, as the DestinationRule has it now, selects the Deployment's pods. */
export function selectedBySubset(ctx: DecideContext, deployment: V1Deployment): boolean {
  const { stableSubset, canarySubset } = ctx.spec.trafficRouting.destinationRule;
  const podLabels = deployment.spec?.template?.metadata?.labels ?? {};
  return (ctx.observed.destinationRule?.spec?.subsets ?? []).some(
    (subset) => (subset.name === stableSubset || subset.name === canarySubset) && Object.keys(subset.labels ?? {}).length > 0 && selects(subset, podLabels),
  );
}

export function retireDeployments(ctx: DecideContext): Retirement {
  const retired = ctx.observed.retired ?? [];
  const free = retired.filter((deployment) => !selectedBySubset(ctx, deployment));
  const running = free.find((deployment) => desiredReplicas(deployment) > 0);
  if (running !== undefined) {
    const name = running.metadata?.name ?? '';
    const hold = scaleDownDelay(ctx, `Deployment ${name} (revision ${deploymentRevision(running) ?? '?'}) is scaled down`, 'stable');
    if (hold?.kind === 'wait') return { wait: hold };
    if (hold !== undefined) return { action: hold };
    return {
      action: isLegacy(running)
        ? deleteDeployment(running, 'OldLayoutDeleted', 'no subset selects its pods any more (migrated to one Deployment per revision)')
        : scaleDeployment(ctx, running, 'stable', 0, 'OldRevisionScaledDown'),
    };
  }
  const legacy = free.find(isLegacy);
  if (legacy !== undefined) return { action: deleteDeployment(legacy, 'OldLayoutDeleted', 'no subset selects its pods any more (migrated to one Deployment per revision)') };
  const kept = free.filter((deployment) => !isLegacy(deployment)).sort(newestFirst);
  const extra = kept[ctx.spec.revisionHistoryLimit];
  if (extra !== undefined) {
    return { action: deleteDeployment(extra, 'OldRevisionDeleted', `more than spec.revisionHistoryLimit (${ctx.spec.revisionHistoryLimit}) earlier revisions are kept`) };
  }
  if (ctx.status.stableScaleDownAt !== undefined && retired.every((deployment) => desiredReplicas(deployment) === 0)) {
    // That delay is served: the next retirement needs one of its own.
    const { stableScaleDownAt: _served, ...kept } = ctx.status;
    return { action: recordStatus('ScaleDownDelayServed', 'every earlier revision is scaled down', kept) };
  }
  return {};
}

/** A Deployment of the earlier layout's pod template, as a revision's: without the track label. */
function legacyTemplate(deployment: V1Deployment): V1PodTemplateSpec {
  const template = deployment.spec?.template ?? {};
  const { [TRACK_LABEL]: _track, ...labels } = template.metadata?.labels ?? {};
  return { ...template, metadata: { ...template.metadata, labels } };
}

/**
 * A role held by a Deployment of the earlier layout (<name>-stable, <name>-canary): a Deployment
 * of the current layout for the same revision, with the same pods and as many of them, takes it
 * over. Its role is then the new one's; the subset follows once its pods are all available
 * (planSubsets' rule), and the old one is deleted once no subset selects it (retireDeployments).
 */
export function migrateLegacy(ctx: DecideContext): Action | undefined {
  const { stableDeployment: stable, canaryDeployment: canary } = ctx.observed;
  for (const [track, deployment] of [['stable', stable], ['canary', canary]] as const) {
    if (deployment === undefined || !isLegacy(deployment) || (track === 'canary' && deployment === stable)) continue;
    const revision = deploymentRevision(deployment);
    if (revision === undefined) continue;
    const action = createDeployment(ctx, track, revision, desiredReplicas(deployment), 'MigratingToRevisionLayout', legacyTemplate(deployment));
    return { ...action, message: `${action.message}: it takes over the ${track} pods of Deployment ${deployment.metadata?.name} (one Deployment per revision)` };
  }
  return undefined;
}
