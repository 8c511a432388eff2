// Builders for the cluster writes decide() returns, so that each branch reads as a list of
// "if the cluster is not like this yet, make it so" steps.
import type { V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { Action, CreateDeploymentAction, DeleteDeploymentAction, SetWeightsAction, UpdateDeploymentAction, VirtualServicePatch } from './actions.ts';
import { scaleDownDelay } from './deployments/scale-down.ts';
import { buildDeployment, desiredReplicas, podSelector, replicasPatch } from './deployments/deployments.ts';
import { bornWith, roleMetadata, templateRoleMetadataPatch } from './deployments/role-metadata.ts';
import type { DecideContext, RoutedContext } from './state.ts';
import type { Track } from './types.ts';
import { claimGuard } from './routing/claims.ts';
import { outsideNamespace } from './routing/step-routes.ts';
import { buildWeightPatch } from './routing/weights.ts';

export function setWeights(ctx: RoutedContext, canaryWeight: number, reason: string, why: string): SetWeightsAction {
  const name = ctx.virtualService.metadata.name;
  const before: VirtualServicePatch[] = ctx.otherTargets.flatMap((target) => {
    const weights = buildWeightPatch(target.routes, target.routing, canaryWeight);
    return weights.length === 0 ? [] : [{ ...outsideNamespace(ctx, target.virtualService), name: target.virtualService.metadata.name, patch: [...claimGuard(target.virtualService), ...weights] }];
  });
  const weights = buildWeightPatch(ctx.routes, ctx.spec.trafficRouting, canaryWeight);
  // With the others changed, the first is written even without a change of its own (its guard
  // alone): the data-plane confirmation follows the push after that write.
  const patch = weights.length === 0 && before.length === 0 ? [] : [...claimGuard(ctx.virtualService), ...weights];
  const names = [name, ...ctx.otherTargets.map((target) => target.virtualService.metadata.name)];
  const where = names.length === 1 ? `VirtualService ${name}` : `VirtualServices ${names.join(', ')}`;
  return {
    kind: 'setWeights',
    reason,
    message: `${why}: ${where} ${names.length === 1 ? 'sends' : 'send'} ${100 - canaryWeight}% to stable and ${canaryWeight}% to canary`,
    virtualService: name,
    ...outsideNamespace(ctx, ctx.virtualService),
    canaryWeight,
    patch,
    ...(before.length === 0 ? {} : { before }),
  };
}

/**
 * The Deployment of a revision for a role; a canary keeps off the nodes of stable's pods when
 * spec.antiAffinity says so. `template`: another pod template than spec.template (migration).
 */
export function createDeployment(
  ctx: DecideContext, track: Track, revision: string, replicas: number, reason: string, template?: V1PodTemplateSpec,
): CreateDeploymentAction {
  const stable = ctx.observed.stableDeployment;
  const awayFrom = track === 'canary' && stable !== undefined ? podSelector(stable) : undefined;
  const podMetadata = bornWith(roleMetadata(ctx.spec, track));
  const deployment = buildDeployment(ctx.rollout, ctx.spec, revision, replicas, {
    ...(template === undefined ? {} : { template }), ...(awayFrom === undefined ? {} : { awayFrom }),
    ...(podMetadata === undefined ? {} : { podMetadata }),
  });
  return {
    kind: 'createDeployment',
    reason,
    message: `creating Deployment ${deployment.metadata?.name} with revision ${revision} and ${replicas} replicas`,
    track,
    deployment,
  };
}

export function scaleDeployment(ctx: DecideContext, deployment: V1Deployment, track: Track, replicas: number, reason: string): UpdateDeploymentAction {
  const name = deployment.metadata?.name ?? '';
  // A kept revision brought back from zero: its pods are born with the role it comes back in.
  const metadata = desiredReplicas(deployment) === 0 && replicas > 0
    ? templateRoleMetadataPatch(deployment.spec?.template?.metadata ?? {}, roleMetadata(ctx.spec, track))
    : [];
  return {
    kind: 'updateDeployment',
    reason,
    message: `scaling Deployment ${name} from ${desiredReplicas(deployment)} to ${replicas} replicas`,
    track,
    name,
    replicas,
    patch: [...replicasPatch(deployment, replicas), ...metadata],
  };
}

export function deleteDeployment(deployment: V1Deployment, reason: string, why: string): DeleteDeploymentAction {
  const name = deployment.metadata?.name ?? '';
  return { kind: 'deleteDeployment', reason, message: `deleting Deployment ${name}: ${why}`, name, uid: deployment.metadata?.uid ?? '' };
}

/**
 * Stable runs spec.replicas whatever happens to the canary (a change of spec.replicas alone is no
 * rollout), or, during a step with dynamicStableScale, `replicas` (deployments/stable-scale.ts).
 */
export function stableReplicasFix(ctx: DecideContext, replicas = ctx.spec.replicas): UpdateDeploymentAction | undefined {
  const stable = ctx.observed.stableDeployment;
  if (stable === undefined || desiredReplicas(stable) === replicas) return undefined;
  const reason = replicas === ctx.spec.replicas ? 'ScalingStable' : 'ScalingStableWithTraffic';
  return scaleDeployment(ctx, stable, 'stable', replicas, reason);
}

/**
 * The canary at zero pods once it takes no traffic and scaleDownDelaySeconds has passed (kept,
 * not deleted: the next rollout reuses it). Call only once the canary's weight is 0.
 */
export function canaryScaleDown(ctx: DecideContext, reason: string): Action | undefined {
  const canary = ctx.observed.canaryDeployment;
  // Once promotion re-pointed stable to the canary's revision, those pods are stable's.
  if (canary === undefined || desiredReplicas(canary) === 0 || canary === ctx.observed.stableDeployment) return undefined;
  return scaleDownDelay(ctx, 'the canary is scaled down') ?? scaleDeployment(ctx, canary, 'canary', 0, reason);
}
