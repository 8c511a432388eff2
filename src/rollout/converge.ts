// The states outside a running step: first deployment, steady, start/end of a rollout, promotion
// and rollback. Each drives the cluster to what its state implies, one write at a time, in the
// order that keeps traffic safe (weights to stable before pods go away).
import type { V1Deployment } from '@kubernetes/client-node';
import type { Action } from './actions.ts';
import { CONDITION } from './conditions.ts';
import { deploymentName, deploymentReadiness, deploymentRevision } from './deployments/deployments.ts';
import { addMilliseconds } from './durations.ts';
import { baseConditions, hold, waitUntil } from './hold.ts';
import { timestamp, type DecideContext, type RoutedContext } from './state.ts';
import { endedStatus, promotedStatus, startRolloutStatus, updateStatus } from './transitions.ts';
import { scaleDownDelay } from './deployments/scale-down.ts';
import { canaryInPlace, stableMissingHold } from './progressing.ts';
import type { RollbackRecord, Track } from './types.ts';
import { canaryScaleDown, createDeployment, retemplateDeployment, setWeights, stableReplicasFix } from './writes.ts';

export function decideFirstDeploy(ctx: DecideContext): Action {
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
    : `waiting for Deployment ${deploymentName(ctx.rollout.metadata.name, 'stable')}: ${available}/${desired} pods available`;
  const condition = { type: CONDITION.progressing, status: 'False' as const, reason: 'NoRolloutInProgress', message: 'no rollout in progress' };
  const view = { phase: ready ? ('Healthy' as const) : ('Progressing' as const), message, conditions: [...baseConditions(ctx), condition] };
  return hold(ctx, view, waitUntil(ready ? 'Healthy' : 'WaitingForStablePods', message));
}

/** Stable takes the canary's template; only once it is fully available does traffic leave the canary. */
export function decidePromoting(ctx: RoutedContext): Action {
  const revision = ctx.status.canaryRevision ?? ctx.revision;
  const { replicas } = ctx.spec;
  const stable = ctx.observed.stableDeployment;
  if (stable === undefined) return createDeployment(ctx, 'stable', revision, replicas, 'PromotingStable');
  if (deploymentRevision(stable) !== revision) return trafficOffOldStable(ctx, stable, revision);
  const write = stableReplicasFix(ctx);
  if (write !== undefined) return write;
  const { ready, available, desired } = deploymentReadiness(stable);
  if (!ready) return waitForPromotionPods(ctx, 'stable', `${available}/${desired}`);
  if (ctx.canaryWeight !== 0) return setWeights(ctx, 0, 'PromotionTrafficShifted', `stable now runs revision ${revision}`);
  const scaleDown = canaryScaleDown(ctx, 'PromotionCanaryScaledDown');
  if (scaleDown !== undefined) return scaleDown;
  const status = promotedStatus(ctx, revision);
  return updateStatus('Promoted', status.message ?? '', status);
}

/**
 * A new template makes the Deployment controller replace stable's pods at once, so first no proxy
 * may send them anything: the canary, which passed analysis, takes all traffic at full size, and
 * stable's pods are replaced once every proxy has that and scaleDownDelaySeconds has passed.
 */
function trafficOffOldStable(ctx: RoutedContext, stable: V1Deployment, revision: string): Action {
  const write = canaryInPlace(ctx, 100);
  if (write !== undefined) return write;
  const canary = ctx.observed.canaryDeployment;
  const { ready, available, desired } = canary === undefined ? { ready: false, available: 0, desired: 0 } : deploymentReadiness(canary);
  if (!ready) return waitForPromotionPods(ctx, 'canary', `${available}/${desired}`);
  const stableName = deploymentName(ctx.rollout.metadata.name, 'stable');
  if (ctx.canaryWeight !== 100) return setWeights(ctx, 100, 'PromotionTrafficToCanary', `the canary's ${desired} pods take all traffic while ${stableName} moves to revision ${revision}`);
  return scaleDownDelay(ctx, `${stableName} takes revision ${revision}`, 'stable') ?? retemplateDeployment(ctx, stable, 'stable', revision, ctx.spec.replicas, 'PromotingStable');
}

/**
 * Past the deadline a promotion is reported, not rolled back: analysis passed, and once stable is
 * re-templated its previous template is not kept anywhere, so the safest course is to keep the
 * traffic where it is, keep waiting and say so.
 */
function waitForPromotionPods(ctx: RoutedContext, track: Track, availability: string): Action {
  const name = deploymentName(ctx.rollout.metadata.name, track);
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
