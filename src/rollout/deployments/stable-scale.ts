// spec.dynamicStableScale: stable's pods follow its share of the traffic during a rollout, as Argo
// Rollouts' dynamicStableScale does (argoproj/argo-rollouts#1029). Stable is sized for the lowest
// canary weight among the one recorded (the proxies route by it), the one in the VirtualService and
// the one the step is about to set, so it shrinks only after traffic has left it and is never
// sized below what a pending write needs. Any write that sends traffic back to stable waits until
// stable has the pods for it, all available: an abort then takes as long as stable takes to scale
// up, and no request goes to a stable too small for it.
import type { Action } from '../actions.ts';
import { waitUntil } from '../hold.ts';
import type { DecideContext } from '../state.ts';
import { deploymentReadiness, desiredReplicas } from './deployments.ts';
import { scaleDeployment } from '../writes.ts';

/** Stable's share of `replicas` at a canary weight: at least one pod while it takes any traffic. */
export function stableReplicasAt(replicas: number, canaryWeight: number): number {
  if (replicas === 0 || canaryWeight >= 100) return 0;
  return Math.max(1, Math.ceil((replicas * (100 - canaryWeight)) / 100));
}

/** The size stable should have during a step that aims at `targetWeight`. */
export function dynamicStableReplicas(ctx: DecideContext & { canaryWeight?: number | undefined }, targetWeight: number): number {
  const weights = [targetWeight, ctx.status.canaryWeight ?? 0, ctx.canaryWeight ?? 0];
  return stableReplicasAt(ctx.spec.replicas, Math.min(...weights));
}

/**
 * Before a weight write that sends traffic back to stable: stable scaled up to what the new weight
 * needs, then every one of those pods available. undefined: the write may go.
 */
export function stableCapacityFor(ctx: DecideContext, action: Action): Action | undefined {
  if (!ctx.spec.dynamicStableScale || action.kind !== 'setWeights') return undefined;
  const stable = ctx.observed.stableDeployment;
  if (stable === undefined) return undefined;
  const needed = stableReplicasAt(ctx.spec.replicas, action.canaryWeight);
  if (desiredReplicas(stable) < needed) return scaleDeployment(ctx, stable, 'stable', needed, 'ScalingStableUp');
  const { available } = deploymentReadiness(stable);
  if (available >= needed) return undefined;
  const name = stable.metadata?.name ?? '';
  return waitUntil('WaitingForStablePods', `${available}/${needed} pods of ${name} available: traffic moves back to stable (${action.reason}) once it has the pods for it`);
}
