// The traffic-restore finalizer: a Rollout deleted mid-canary first sends 100% to stable, so no
// weight is left pointing at canary pods that garbage collection is about to remove; then the
// canary's pods get scaleDownDelaySeconds for every proxy to see that; then, with the default
// deletionPolicy KeepStable, the stable Deployment is left behind without an owner, so the
// routes that send to the stable subset keep finding pods (and a new Rollout of the same name
// adopts it). DeleteAll lets garbage collection take both Deployments.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import type { Action, AddFinalizerAction, OrphanDeploymentAction, RemoveFinalizerAction } from './actions.ts';
import { claimOwner, planClaims, releaseAction, routeClaimKey, type RoutingObject, type RoutingPlural } from './routing/claims.ts';
import { restorableTargets } from './routing/routing.ts';
import { desiredReplicas } from './deployments/deployments.ts';
import { scaleDownDelay } from './deployments/scale-down.ts';
import type { DecideContext, RoutedContext } from './state.ts';
import { TRAFFIC_RESTORE_FINALIZER, type Rollout } from './types.ts';
import { observedCanaryWeight, resolveManagedRoutes, routingFrom } from './routing/weights.ts';
import { ownStepRoutes, stepRoutesWrite } from './routing/step-routes.ts';
import { setWeights } from './writes.ts';

export function hasFinalizer(rollout: Rollout): boolean {
  return (rollout.metadata.finalizers ?? []).includes(TRAFFIC_RESTORE_FINALIZER);
}

export function isDeleting(rollout: Rollout): boolean {
  return rollout.metadata.deletionTimestamp !== undefined && rollout.metadata.deletionTimestamp !== null;
}

export function addFinalizer(rollout: Rollout): AddFinalizerAction {
  const finalizers = rollout.metadata.finalizers;
  const patch: Operation[] =
    finalizers === undefined
      ? [{ op: 'add', path: '/metadata/finalizers', value: [TRAFFIC_RESTORE_FINALIZER] }]
      : [
          { op: 'test', path: '/metadata/finalizers', value: finalizers },
          { op: 'add', path: '/metadata/finalizers/-', value: TRAFFIC_RESTORE_FINALIZER },
        ];
  return { kind: 'addFinalizer', reason: 'FinalizerAdded', message: `adding finalizer ${TRAFFIC_RESTORE_FINALIZER}`, patch };
}

function removeFinalizer(rollout: Rollout): RemoveFinalizerAction {
  const index = (rollout.metadata.finalizers ?? []).indexOf(TRAFFIC_RESTORE_FINALIZER);
  return {
    kind: 'removeFinalizer',
    reason: 'TrafficRestored',
    message: `all traffic is on stable; removing finalizer ${TRAFFIC_RESTORE_FINALIZER}`,
    patch: [
      { op: 'test', path: `/metadata/finalizers/${index}`, value: TRAFFIC_RESTORE_FINALIZER },
      { op: 'remove', path: `/metadata/finalizers/${index}` },
    ],
  };
}

function ownReferenceIndex(deployment: V1Deployment | undefined, rollout: Rollout): number {
  return (deployment?.metadata?.ownerReferences ?? []).findIndex((reference) => reference.uid === rollout.metadata.uid);
}

function orphanStable(ctx: DecideContext, stable: V1Deployment, index: number): OrphanDeploymentAction {
  const name = stable.metadata?.name ?? '';
  return {
    kind: 'orphanDeployment',
    reason: 'StableKept',
    message: `deletionPolicy KeepStable: Deployment ${name} stays, without an owner, so the stable subset keeps its pods; a new Rollout named ${ctx.rollout.metadata.name} adopts it`,
    track: 'stable',
    name,
    patch: [
      { op: 'test', path: '/metadata/uid', value: stable.metadata?.uid },
      { op: 'test', path: `/metadata/ownerReferences/${index}/uid`, value: ctx.rollout.metadata.uid },
      { op: 'remove', path: `/metadata/ownerReferences/${index}` },
    ],
  };
}

/**
 * Deletion, in the order that keeps traffic safe: weights to 100% stable when the VirtualService
 * still sends anything to canary (a VirtualService that is gone or has no managed route needs
 * nothing), the scale-down delay for the canary's pods, stable left behind (KeepStable), then the
 * finalizer released.
 */
export function decideDeletion(ctx: DecideContext): Action {
  const { rollout } = ctx;
  if (!hasFinalizer(rollout)) return { kind: 'wait', reason: 'Deleting', message: 'being deleted; nothing left to restore' };
  const vs = ctx.observed.virtualService;
  if (vs !== undefined) {
    const vsNamespace = vs.metadata.namespace ?? rollout.metadata.namespace;
    const scoped = routingFrom(ctx.spec.trafficRouting, rollout.metadata.namespace, vsNamespace);
    const resolution = resolveManagedRoutes(vs, scoped, vsNamespace);
    // Routes another Rollout owns (this one was a copy that never wrote them) are left to it.
    const ours = resolution.ok && planClaims(vs, 'virtualservices', claimOwner(rollout, vsNamespace), resolution.routes.map(routeClaimKey), ctx.observed.claimants ?? {}).ok;
    const stepRoutes = ownStepRoutes(ctx, vs);
    const otherTargets = restorableTargets(ctx);
    const routed: RoutedContext = { ...ctx, virtualService: vs, routes: resolution.ok && ours ? resolution.routes : [], otherTargets, canaryWeight: undefined, stepRoutes };
    // Header and mirror routes first: the one that sends testers to the canary goes before its pods.
    const removal = stepRoutesWrite(routed, []);
    if (removal !== undefined) return removal;
    if (observedCanaryWeight([...routed.routes, ...otherTargets.flatMap((target) => target.routes)]) !== 0) {
      const restore = setWeights(routed, 0, 'RestoringStableBeforeDeletion', 'Rollout deleted');
      if (restore.patch.length > 0) return restore;
    }
  }
  const { canaryDeployment: canary, stableDeployment: stable } = ctx.observed;
  if (canary !== undefined && desiredReplicas(canary) > 0 && ownReferenceIndex(canary, rollout) >= 0) {
    const delay = scaleDownDelay(ctx, 'the canary is deleted with the Rollout');
    if (delay !== undefined) return delay;
  }
  const index = ownReferenceIndex(stable, rollout);
  if (ctx.spec.deletionPolicy === 'KeepStable' && stable !== undefined && index >= 0) return orphanStable(ctx, stable, index);
  const claimed: [RoutingPlural, RoutingObject | undefined][] = [
    ['virtualservices', vs],
    ...(ctx.observed.otherVirtualServices ?? []).map((other): [RoutingPlural, RoutingObject | undefined] => ['virtualservices', other]),
    ['destinationrules', ctx.observed.destinationRule],
    ...(ctx.observed.formerClaims ?? []).map(({ plural, object }): [RoutingPlural, RoutingObject] => [plural, object]),
  ];
  for (const [plural, object] of claimed) {
    const release = object === undefined ? undefined : releaseAction(plural, object, rollout, 'the Rollout is deleted');
    if (release !== undefined) return release;
  }
  return removeFinalizer(rollout);
}
