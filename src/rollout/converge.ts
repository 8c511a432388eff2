// The states outside a running step: first deployment, steady, start/end of a rollout, promotion
// and rollback. Each drives the cluster to what its state implies, one write at a time, in the
// order that keeps traffic safe (weights to stable before pods go away).
import type { Action } from './actions.ts';
import { CONDITION } from './conditions.ts';
import { deploymentReadiness } from './deployments/deployments.ts';
import { addMilliseconds } from './durations.ts';
import { baseConditions, hold, waitUntil } from './hold.ts';
import { roleName, timestamp, type DecideContext, type RoutedContext } from './state.ts';
import { endedStatus, promotedStatus, recordStatus, startRolloutStatus, updateStatus } from './transitions.ts';
import { canaryInPlace, stableMissingHold } from './progressing.ts';
import type { RollbackRecord, Track } from './types.ts';
import { canaryScaleDown, createDeployment, setWeights, stableReplicasFix } from './writes.ts';

/** The revision is recorded as stable first: status, not a label, says which Deployment is stable. */
export function decideFirstDeploy(ctx: DecideContext): Action {
  if (ctx.status.stableRevision !== ctx.revision) {
    return recordStatus('StableRevisionRecorded', `revision ${ctx.revision} is the first, so stable`, { ...ctx.status, stableRevision: ctx.revision });
  }
  return createDeployment(ctx, 'stable', ctx.revision, ctx.spec.replicas, 'CreatingStable');
}


export function decideStart(ctx: DecideContext, restart: boolean): Action {
  const from = ctx.stableRevision ?? ctx.status.stableRevision ?? 'none';
  const message = restart
    ? `spec.template changed during the rollout of ${ctx.status.canaryRevision}: restarting from step 1 with revision ${ctx.revision} (stable: ${from})`
    : `rolling out revision ${ctx.revision} (stable: ${from})`;
  return updateStatus(restart ? 'RolloutRestarted' : 'RolloutStarted', message, startRolloutStatus(ctx, message));
}

export function decideEnd(ctx: DecideContext): Action {
  const message = `spec.template is back to the stable revision ${ctx.revision}: the rollout of ${ctx.status.canaryRevision} ends without promotion`;
  return updateStatus('RolloutEnded', message, endedStatus(ctx, message));
}

/** No rollout: stable at full size, no canary traffic, no canary pods. */
export function decideSteady(ctx: RoutedContext): Action {
  const write =
    stableReplicasFix(ctx) ??
    (ctx.canaryWeight !== 0 ? setWeights(ctx, 0, 'RestoringStable', 'no rollout in progress') : undefined) ??
    canaryScaleDown(ctx, 'ScalingCanaryDown');
  if (write !== undefined) return write;
  const stable = ctx.observed.stableDeployment;
  const { ready, available, desired } = stable === undefined ? { ready: false, available: 0, desired: 0 } : deploymentReadiness(stable);
  const message = ready
    ? `revision ${ctx.revision} is stable with ${available}/${desired} pods available; change spec.template to start a rollout`
    : `waiting for Deployment ${roleName(ctx, 'stable')}: ${available}/${desired} pods available`;
  const condition = { type: CONDITION.progressing, status: 'False' as const, reason: 'NoRolloutInProgress', message: 'no rollout in progress' };
  const view = { phase: ready ? ('Healthy' as const) : ('Progressing' as const), message, conditions: [...baseConditions(ctx), condition] };
  return hold(ctx, view, waitUntil(ready ? 'Healthy' : 'WaitingForStablePods', message));
}

/**
 * Promotion in place: the canary, at full size and every pod available, becomes stable by status
 * (status.stableRevision), the stable subset is re-pointed to its pods (one DestinationRule write,
 * made by decide() before this branch: planSubsets moves a subset only onto available pods), then
 * all traffic goes to stable. No pod is created for it; the previous stable's pods go once no
 * subset selects them and every proxy has the change (deployments/retire.ts).
 */
export function decidePromoting(ctx: RoutedContext): Action {
  const revision = ctx.status.canaryRevision ?? ctx.revision;
  if (ctx.status.stableRevision !== revision) {
    const write = canaryInPlace(ctx, 100);
    if (write !== undefined) return write;
    const canary = ctx.observed.canaryDeployment;
    const { ready, available, desired } = canary === undefined ? { ready: false, available: 0, desired: 0 } : deploymentReadiness(canary);
    if (!ready) return waitForPromotionPods(ctx, 'canary', `${available}/${desired}`);
    const message = `promoting: the canary's ${desired} pods are all available; revision ${revision} becomes stable and the ${ctx.spec.trafficRouting.destinationRule.stableSubset} subset selects its pods`;
    const { waitingForPodsSince: _done, ...kept } = ctx.status;
    return updateStatus('PromotionStableRepointed', message, { ...kept, stableRevision: revision });
  }
  const stable = ctx.observed.stableDeployment;
  if (stable === undefined) return stableMissingHold(ctx);
  const write = stableReplicasFix(ctx);
  if (write !== undefined) return write;
  const { ready, available, desired } = deploymentReadiness(stable);
  if (!ready) return waitForPromotionPods(ctx, 'stable', `${available}/${desired}`);
  if (ctx.canaryWeight !== 0) return setWeights(ctx, 0, 'PromotionTrafficShifted', `the stable subset now selects the pods of revision ${revision}`);
  const status = promotedStatus(ctx, revision);
  return updateStatus('Promoted', status.message ?? '', status);
}

/**
 * Past the deadline a promotion is reported, not rolled back: analysis passed, so the safest
 * course is to keep the traffic where it is, keep waiting and say so.
 */
function waitForPromotionPods(ctx: RoutedContext, track: Track, availability: string): Action {
  const name = roleName(ctx, track);
  const deadlineMs = ctx.spec.progressDeadlineSeconds * 1000;
  const since = timestamp(ctx.status.waitingForPodsSince);
  const late = since !== undefined && ctx.now.getTime() >= since + deadlineMs;
  const message = late
    ? `promotion stalled: Deployment ${name} has ${availability} pods available after progressDeadlineSeconds (${ctx.spec.progressDeadlineSeconds}); traffic stays where it is until it is fully available: check its pods and events`
    : `promoting: waiting for Deployment ${name}: ${availability} pods available`;
  const condition = late
    ? { type: CONDITION.progressing, status: 'False' as const, reason: 'ProgressDeadlineExceeded', message }
    : { type: CONDITION.progressing, status: 'True' as const, reason: 'Promoting', message };
  const view = { phase: late ? ('Degraded' as const) : ('Promoting' as const), message, conditions: [...baseConditions(ctx), condition], waitingForPods: true, warning: late };
  const deadline = addMilliseconds(since === undefined ? ctx.now : new Date(since), deadlineMs);
  const reason = late ? 'ProgressDeadlineExceeded' : track === 'stable' ? 'WaitingForStablePods' : 'WaitingForCanaryPods';
  return hold(ctx, view, waitUntil(reason, message, late ? undefined : deadline));
}

/** 100% stable at once, then the canary to zero; then wait for a new template or `retry`. */
export function decideRolledBack(ctx: RoutedContext, rollback: RollbackRecord): Action {
  if (ctx.observed.stableDeployment === undefined) return stableMissingHold(ctx);
  const write =
    (ctx.canaryWeight !== 0 ? setWeights(ctx, 0, 'RollingBack', rollback.message) : undefined) ??
    canaryScaleDown(ctx, 'RollingBack') ??
    stableReplicasFix(ctx);
  if (write !== undefined) return write;
  const name = ctx.rollout.metadata.name;
  const phase = rollback.reason === 'Aborted' ? ('Aborted' as const) : ('RolledBack' as const);
  const message = `revision ${rollback.revision} ${phase === 'Aborted' ? 'aborted' : 'rolled back'}: ${rollback.message}. Change spec.template, or run \`switchboard retry ${name}\` to try this revision again`;
  const condition = { type: CONDITION.progressing, status: 'False' as const, reason: rollback.reason, message: rollback.message };
  return hold(ctx, { phase, message, conditions: [...baseConditions(ctx), condition] }, waitUntil(phase, message));
}
