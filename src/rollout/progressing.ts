// A rollout at step N, as an ordered list of small checks: credit analysis, stable in place,
// canary at the right revision and size, canary pods ready (or the deadline rolls back), weight
// at the step's target, analysis when due, then the step completes or the Rollout waits.
import type { Action } from './actions.ts';
import { analysisGateOpen, analysisPlanFor, creditRoundAction, freshRound, nextAnalysisAt } from './analysis-schedule.ts';
import { CONDITION } from './conditions.ts';
import { deploymentReadiness, desiredReplicas } from './deployments/deployments.ts';
import { addMilliseconds } from './durations.ts';
import { baseConditions, hold, stopWith, waitUntil, type HoldView } from './hold.ts';
import { stepsHash } from './revision.ts';
import { scaleDownDelay } from './deployments/scale-down.ts';
import { dynamicStableReplicas } from './deployments/stable-scale.ts';
import { dataPlaneGate, dataPlaneReason, withDataPlane } from './routing/data-plane.ts';
import { gateHold } from './gates/gates.ts';
import { rollbackCheck, wakeForRollbackCheck } from './gates/rollback-check.ts';
import { canaryReplicasAtStep, roleName, canaryScaleAtStep, isIndefinitePause, pauseDuration, stepLabel, timestamp, weightAtStep, type RoutedContext } from './state.ts';
import { advanceStepStatus, recordStatus, restartStepsStatus, rollbackStatus, updateStatus } from './transitions.ts';
import { createDeployment, scaleDeployment, setWeights, stableReplicasFix } from './writes.ts';

export function stableMissingHold(ctx: RoutedContext): Action {
  const name = roleName(ctx, 'stable');
  const condition = {
    type: CONDITION.progressing,
    status: 'False' as const,
    reason: 'StableDeploymentMissing',
    message:
      `Deployment ${name} was deleted during a rollout and its template is not kept anywhere else: ` +
      `recreate it, or run \`switchboard promote --full ${ctx.rollout.metadata.name}\` to make the current template stable without analysis`,
  };
  return hold(ctx, { phase: 'Degraded', message: condition.message, conditions: [...baseConditions(ctx), condition] }, stopWith(condition, ctx));
}

function progressView(ctx: RoutedContext, phase: 'Progressing' | 'Paused', reason: string, message: string, extra: Partial<HoldView> = {}): HoldView {
  const condition = { type: CONDITION.progressing, status: 'True' as const, reason, message };
  return { phase, message, conditions: [...baseConditions(ctx), condition], ...extra };
}

/** Canary pods not ready: wait, but no longer than progressDeadlineSeconds, then roll back. */
function waitForCanaryPods(ctx: RoutedContext, stepIndex: number): Action | undefined {
  const canary = ctx.observed.canaryDeployment;
  if (canary === undefined) return undefined;
  const { ready, available, desired } = deploymentReadiness(canary);
  if (ready) return undefined;
  const deadlineMs = ctx.spec.progressDeadlineSeconds * 1000;
  const since = timestamp(ctx.status.waitingForPodsSince);
  const name = roleName(ctx, 'canary');
  if (since !== undefined && ctx.now.getTime() >= since + deadlineMs) {
    const message =
      `Deployment ${name} had ${available}/${desired} pods available after progressDeadlineSeconds ` +
      `(${ctx.spec.progressDeadlineSeconds}); all traffic goes back to stable and the canary is scaled to zero`;
    return updateStatus('ProgressDeadlineExceeded', message, rollbackStatus(ctx, 'ProgressDeadlineExceeded', message));
  }
  const deadline = addMilliseconds(since === undefined ? ctx.now : new Date(since), deadlineMs);
  const message = `step ${stepLabel(stepIndex, ctx.spec.steps.length)}: waiting for Deployment ${name}: ${available}/${desired} pods available (rollback at ${deadline.toISOString()} if not all are)`;
  return hold(ctx, progressView(ctx, 'Progressing', 'WaitingForCanaryPods', message, { waitingForPods: true }), waitUntil('WaitingForCanaryPods', message, deadline));
}

/**
 * Canary Deployment exists at the rollout's revision with enough pods for the weight it will take,
 * or as many as the setCanaryScale in force at `stepIndex` says.
 */
export function canaryInPlace(ctx: RoutedContext, targetWeight: number, stepIndex?: number): Action | undefined {
  const revision = ctx.status.canaryRevision ?? ctx.revision;
  const weight = Math.max(targetWeight, ctx.canaryWeight ?? 0);
  const scale = stepIndex === undefined ? undefined : canaryScaleAtStep(ctx.spec.steps, stepIndex);
  const replicas = canaryReplicasAtStep(ctx.spec.replicas, weight, scale);
  const canary = ctx.observed.canaryDeployment;
  if (canary === undefined) {
    // The canary subset still selects the pods of a revision this rollout replaced: weight 0
    // first, so that no request reaches the new revision's pods before its first step.
    if ((ctx.canaryWeight ?? 0) !== 0) return setWeights(ctx, 0, 'CanaryRevisionChanged', `canary moves to revision ${revision}`);
    return createDeployment(ctx, 'canary', revision, replicas, 'CreatingCanary');
  }
  if (desiredReplicas(canary) > replicas) {
    // Fewer canary pods (after a hand edit raised the weight for a while, or the steps went down):
    // the pods that go may still get requests from proxies that saw the higher weight.
    const delay = scaleDownDelay(ctx, `the canary is scaled down to ${replicas} pods`);
    if (delay !== undefined) return delay;
  }
  if (desiredReplicas(canary) !== replicas) return scaleDeployment(ctx, canary, 'canary', replicas, 'ScalingCanary');
  if (ctx.status.canaryScaleDownAt !== undefined && (ctx.canaryWeight ?? 0) > 0) {
    // That delay is over and served: the next scale-down needs one of its own.
    const { canaryScaleDownAt: _served, ...kept } = ctx.status;
    return recordStatus('ScaleDownDelayServed', 'the canary has the pods its weight needs', kept);
  }
  return undefined;
}

/** How step N is doing on its own terms: setWeight is done once its weight is set; a pause needs its time or a promote. */
function stepProgress(ctx: RoutedContext, stepIndex: number): { done: boolean; until?: Date; waitingForPromote: boolean } {
  const step = ctx.spec.steps[stepIndex];
  if (step?.pause === undefined) return { done: true, waitingForPromote: false };
  if (ctx.status.pauseReleasedStepIndex === stepIndex) return { done: true, waitingForPromote: false };
  if (isIndefinitePause(step)) return { done: false, waitingForPromote: true };
  const startedAt = timestamp(ctx.status.stepStartedAt) ?? ctx.now.getTime();
  const until = addMilliseconds(new Date(startedAt), pauseDuration(step) ?? 0);
  return { done: ctx.now >= until, until, waitingForPromote: false };
}

function earliest(...dates: (Date | undefined)[]): Date | undefined {
  const times = dates.filter((date): date is Date => date !== undefined).map((date) => date.getTime());
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}

/**
 * status.currentStepIndex points into the steps of status.stepsHash. Steps edited since then
 * (cut from five to two at step four, say) would otherwise skip gates and analysis: start the new
 * steps from the first, keeping the canary's weight until one of them sets another.
 */
export function decideStepsChanged(ctx: RoutedContext): Action {
  const heldWeight = ctx.canaryWeight ?? ctx.status.canaryWeight ?? 0;
  const message =
    `spec.steps changed during the rollout (at step ${(ctx.status.currentStepIndex ?? 0) + 1}): restarting from step 1 of the ` +
    `${ctx.spec.steps.length} new steps; the canary keeps ${heldWeight}% until a step sets another weight`;
  return updateStatus('StepsChanged', message, restartStepsStatus(ctx, heldWeight, message));
}

/** Analysis stayed inconclusive past inconclusiveLimit at this step: held, weight and all, until promote or abort. */
function inconclusiveHold(ctx: RoutedContext, stepIndex: number): Action | undefined {
  if (ctx.status.inconclusiveStepIndex !== stepIndex) return undefined;
  const { name } = ctx.rollout.metadata;
  const message =
    `step ${stepLabel(stepIndex, ctx.spec.steps.length)}: analysis stayed inconclusive (${ctx.status.analysis?.consecutiveInconclusive ?? 0} rounds in a row); ` +
    `the canary keeps ${ctx.canaryWeight ?? 0}% of the traffic. Check its metrics, then run \`switchboard promote ${name}\` to go on or \`switchboard abort ${name}\` to roll back`;
  const condition = { type: CONDITION.progressing, status: 'Unknown' as const, reason: 'Inconclusive', message };
  return hold(ctx, { phase: 'Inconclusive', message, conditions: [...baseConditions(ctx), condition], paused: true }, waitUntil('Inconclusive', message));
}

export function decideProgressing(ctx: RoutedContext, stepIndex: number): Action {
  if (ctx.status.stepsHash === undefined) {
    // Recorded by a controller from before steps were hashed: note them now, nothing to restart.
    return recordStatus('StepsRecorded', 'recording the steps this rollout walks', { ...ctx.status, stepsHash: stepsHash(ctx.spec.steps) });
  }
  const round = freshRound(ctx, stepIndex);
  if (round !== undefined) return creditRoundAction(ctx, round);
  // Asked whatever the step is doing, so that a rollback can be called for while it waits too.
  const check = rollbackCheck(ctx, ctx.status.canaryRevision ?? ctx.revision);
  if (check.action !== undefined) return check.action;
  return wakeForRollbackCheck(progressAt(ctx, stepIndex), check.dueAt);
}

function progressAt(ctx: RoutedContext, stepIndex: number): Action {
  if (ctx.observed.stableDeployment === undefined) return stableMissingHold(ctx);
  const targetWeight = weightAtStep(ctx.spec.steps, stepIndex, ctx.status.heldWeight);
  const revision = ctx.status.canaryRevision ?? ctx.revision;
  const stableSize = ctx.spec.dynamicStableScale ? dynamicStableReplicas(ctx, targetWeight) : ctx.spec.replicas;
  // Before the canary gets a pod: once this gate has let the rollout of this revision start, it stays open.
  const beforeRollout = () => (stepIndex === 0 && (ctx.canaryWeight ?? 0) === 0
    ? gateHold(ctx, { point: 'BeforeRollout', key: revision, what: `the rollout of revision ${revision}` })
    : undefined);
  const write = stableReplicasFix(ctx, stableSize) ?? beforeRollout() ?? canaryInPlace(ctx, targetWeight, stepIndex) ??
    waitForCanaryPods(ctx, stepIndex) ?? inconclusiveHold(ctx, stepIndex);
  if (write !== undefined) return write;

  const label = `step ${stepLabel(stepIndex, ctx.spec.steps.length)}`;
  const { paused } = ctx.spec;
  if (ctx.canaryWeight !== targetWeight) {
    const from = ctx.canaryWeight ?? 0;
    // While a gate holds the increase, the canary is judged at the weight it keeps.
    const heldAnalysisAt = nextAnalysisAt(ctx, from);
    const increase = !paused && targetWeight > from
      ? gateHold(ctx, {
        point: 'BeforeWeightIncrease',
        key: `${revision}/${ctx.status.stepsHash}/${stepIndex}`,
        what: `the canary weight going from ${from}% to ${targetWeight}% at ${label}`,
        payload: { targetWeight },
        ...(heldAnalysisAt === undefined ? {} : { wakeBy: heldAnalysisAt }),
      })
      : undefined;
    if (increase?.kind === 'wait' && heldAnalysisAt !== undefined && ctx.now >= heldAnalysisAt) {
      const plan = analysisPlanFor(ctx, stepIndex);
      if (plan !== undefined) return { kind: 'runAnalysis', reason: 'AnalysisDue', message: `${label}: analysing the canary at ${from}% while a gate holds the increase`, plan };
    }
    if (increase !== undefined) return increase;
    if (!paused) return setWeights(ctx, targetWeight, 'WeightChanged', label);
    const message = `${label}: paused (spec.paused) before moving the canary weight to ${targetWeight}%; resume to continue`;
    return hold(ctx, progressView(ctx, 'Paused', 'RolloutPaused', message, { paused: true }), waitUntil('RolloutPaused', message));
  }
  if (ctx.status.canaryWeight !== targetWeight) {
    // The analysis window opens when the proxies route by the new weight, not when it was written.
    const gate = dataPlaneGate(ctx, 'synced');
    if (gate.kind === 'waiting') {
      return waitUntil('WaitingForDataPlane', `${label}: analysis at ${targetWeight}% starts once every proxy has it: ${gate.message}`, gate.until);
    }
    // Record when the weight changed before scheduling analysis on it.
    // The canary pods are ready here, so a pending pods deadline is over too.
    // A scale-down delay from an earlier time without traffic is void now that the canary takes some.
    const { waitingForPodsSince: _done, canaryScaleDownAt: _void, ...kept } = ctx.status;
    const changedAt = gate.kind === 'confirmed' ? gate.at : ctx.now;
    const status = withDataPlane(ctx, { ...kept, canaryWeight: targetWeight, weightChangedAt: changedAt.toISOString() }, gate, targetWeight);
    const synced = status.dataPlane !== undefined && status.dataPlane !== ctx.status.dataPlane ? `; ${status.dataPlane.message}` : '';
    return { ...updateStatus('WeightChanged', `${label}: canary weight is ${targetWeight}%${synced}`, status), ...dataPlaneReason(gate) };
  }

  const analysisAt = nextAnalysisAt(ctx, targetWeight);
  if (analysisAt !== undefined && ctx.now >= analysisAt) {
    const plan = analysisPlanFor(ctx, stepIndex);
    if (plan !== undefined) return { kind: 'runAnalysis', reason: 'AnalysisDue', message: `${label}: analysing the canary at ${targetWeight}%`, plan };
  }

  const progress = stepProgress(ctx, stepIndex);
  const gateOpen = analysisGateOpen(ctx, targetWeight);
  if (progress.done && gateOpen && !paused) {
    const next = stepIndex + 1;
    const beforePromotion = next >= ctx.spec.steps.length
      ? gateHold(ctx, { point: 'BeforePromotion', key: `${revision}/promotion`, what: `the promotion of revision ${revision}`, ...(analysisAt === undefined ? {} : { wakeBy: analysisAt }) })
      : undefined;
    if (beforePromotion !== undefined) return beforePromotion;
    const message = next >= ctx.spec.steps.length ? `${label} complete: promoting` : `${label} complete: on to step ${stepLabel(next, ctx.spec.steps.length)}`;
    return updateStatus('StepCompleted', message, advanceStepStatus(ctx, next, message));
  }
  return holdStep(ctx, label, targetWeight, progress, gateOpen, analysisAt);
}

function holdStep(
  ctx: RoutedContext,
  label: string,
  weight: number,
  progress: ReturnType<typeof stepProgress>,
  gateOpen: boolean,
  analysisAt: Date | undefined,
): Action {
  const name = ctx.rollout.metadata.name;
  const nextCheck = analysisAt === undefined ? '' : ` (next analysis at ${analysisAt.toISOString()})`;
  let reason: string;
  let detail: string;
  if (ctx.spec.paused) [reason, detail] = ['RolloutPaused', `paused (spec.paused); \`switchboard resume ${name}\` continues`];
  else if (progress.waitingForPromote) [reason, detail] = ['WaitingForPromotion', `paused until \`switchboard promote ${name}\``];
  else if (!progress.done) [reason, detail] = ['Pausing', `pausing until ${progress.until?.toISOString()}`];
  else [reason, detail] = ['WaitingForAnalysis', gateOpen ? 'waiting' : 'waiting for a passing analysis round since the step started'];
  const message = `${label} at ${weight}% canary: ${detail}${nextCheck}`;
  const phase = ctx.spec.paused || progress.waitingForPromote ? 'Paused' : 'Progressing';
  const view = progressView(ctx, phase, reason, message, { paused: phase === 'Paused' });
  return hold(ctx, view, waitUntil(reason, message, earliest(analysisAt, progress.done ? undefined : progress.until)));
}
