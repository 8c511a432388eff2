// The traffic-restore finalizer: a Rollout deleted mid-canary first sends 100% to stable, so no
// weight is left pointing at canary pods that garbage collection is about to remove.
import type { Operation } from 'rfc6902';
import type { Action, AddFinalizerAction, RemoveFinalizerAction } from './actions.ts';
import type { DecideContext, RoutedContext } from './state.ts';
import { TRAFFIC_RESTORE_FINALIZER, type Rollout } from './types.ts';
import { observedCanaryWeight, resolveManagedRoutes } from './weights.ts';
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

/**
 * Deletion: weights to 100% stable when the VirtualService still sends anything to canary, then
 * release the finalizer. A VirtualService that is gone or has no managed route needs nothing.
 */
export function decideDeletion(ctx: DecideContext): Action {
  const { rollout } = ctx;
  if (!hasFinalizer(rollout)) return { kind: 'wait', reason: 'Deleting', message: 'being deleted; nothing left to restore' };
  const vs = ctx.observed.virtualService;
  if (vs !== undefined) {
    const resolution = resolveManagedRoutes(vs, ctx.spec.trafficRouting, rollout.metadata.namespace);
    if (resolution.ok && observedCanaryWeight(resolution.routes) !== 0) {
      const routed: RoutedContext = { ...ctx, virtualService: vs, routes: resolution.routes, canaryWeight: undefined };
      return setWeights(routed, 0, 'RestoringStableBeforeDeletion', 'Rollout deleted');
    }
  }
  return removeFinalizer(rollout);
}
