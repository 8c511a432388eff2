// Status transitions: each records a decision (start, advance, credit analysis, roll back,
// promote, end) in one status write, before the cluster writes that carry it out. A controller
// that dies after the write finds the decision in status; one that dies before it decides again.
import type { AnalysisRound } from '../analysis/types.ts';
import type { UpdateStatusAction } from './actions.ts';
import { deploymentReplicaCount } from './deployments/deployments.ts';
import { stepsHash } from './revision.ts';
import type { AnalysisStatus, RollbackReason, RolloutStatus } from './types.ts';
import { stepLabel, type DecideContext } from './state.ts';

export function emptyAnalysisStatus(): AnalysisStatus {
  return { passedChecks: 0, failedChecks: 0, inconclusiveChecks: 0, erroredChecks: 0 };
}

export function updateStatus(reason: string, message: string, status: RolloutStatus): UpdateStatusAction {
  return { kind: 'updateStatus', reason, message, status };
}

/** A status write that only keeps books (no decision a person needs to hear of): no Event. */
export function recordStatus(reason: string, message: string, status: RolloutStatus): UpdateStatusAction {
  return { kind: 'updateStatus', reason, message, status, silent: true };
}

/** Fields that belong to one rollout and must not leak into the next. */
function withoutRolloutFields(status: RolloutStatus): RolloutStatus {
  const {
    canaryRevision: _canaryRevision,
    currentStepIndex: _currentStepIndex,
    step: _step,
    stepStartedAt: _stepStartedAt,
    pauseStartedAt: _pauseStartedAt,
    waitingForPodsSince: _waitingForPodsSince,
    pauseReleasedStepIndex: _pauseReleasedStepIndex,
    rollback: _rollback,
    stepsHash: _stepsHash,
    heldWeight: _heldWeight,
    inconclusiveStepIndex: _inconclusiveStepIndex,
    canaryScaleDownAt: _canaryScaleDownAt,
    promotionStartedAt: _promotionStartedAt,
    ...kept
  } = status;
  return kept;
}

/** What the scale subresource reads: every pod of both tracks, and the Rollout's selector. */
export function scaleStatus(ctx: DecideContext): Pick<RolloutStatus, 'replicas' | 'selector'> {
  const { stableDeployment, canaryDeployment } = ctx.observed;
  const selector = Object.entries(ctx.spec.selector?.matchLabels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  return { replicas: deploymentReplicaCount(stableDeployment) + deploymentReplicaCount(canaryDeployment), selector };
}

function base(ctx: DecideContext): RolloutStatus {
  return { ...ctx.status, observedGeneration: ctx.rollout.metadata.generation };
}

/** A rollout of the current template from the first step, with fresh analysis counts. */
export function startRolloutStatus(ctx: DecideContext, message: string): RolloutStatus {
  // The last rollout's gates (overrides included) stay in status until the next one starts.
  const { gates: _gates, ...kept } = withoutRolloutFields(base(ctx));
  return {
    ...kept,
    phase: 'Progressing',
    message,
    canaryRevision: ctx.revision,
    currentStepIndex: 0,
    step: stepLabel(0, ctx.spec.steps.length),
    stepStartedAt: ctx.now.toISOString(),
    stepsHash: stepsHash(ctx.spec.steps),
    analysis: emptyAnalysisStatus(),
  };
}

/**
 * spec.steps changed mid-rollout: the step index meant another list, so the new steps start from
 * the first, and the weight the canary has now is kept until one of them sets another.
 */
export function restartStepsStatus(ctx: DecideContext, heldWeight: number, message: string): RolloutStatus {
  const { steps } = ctx.spec;
  const {
    pauseReleasedStepIndex: _released, pauseStartedAt: _pause, waitingForPodsSince: _waiting, inconclusiveStepIndex: _inconclusive, ...kept
  } = base(ctx);
  return {
    ...kept,
    phase: 'Progressing',
    message,
    currentStepIndex: 0,
    step: stepLabel(0, steps.length),
    stepStartedAt: ctx.now.toISOString(),
    stepsHash: stepsHash(steps),
    heldWeight,
  };
}

export function advanceStepStatus(ctx: DecideContext, nextIndex: number, message: string): RolloutStatus {
  const { steps } = ctx.spec;
  const {
    pauseReleasedStepIndex: _released, pauseStartedAt: _pause, waitingForPodsSince: _waiting, inconclusiveStepIndex: _inconclusive, ...kept
  } = base(ctx);
  const promoting = nextIndex >= steps.length;
  return {
    ...kept,
    phase: promoting ? 'Promoting' : 'Progressing',
    message,
    currentStepIndex: nextIndex,
    step: stepLabel(nextIndex, steps.length),
    stepStartedAt: ctx.now.toISOString(),
    ...(promoting ? { promotionStartedAt: ctx.now.toISOString() } : {}),
  };
}

/** Skips every remaining step: the canary revision becomes what promotion installs. */
export function promoteFullStatus(ctx: DecideContext, message: string): RolloutStatus {
  const steps = ctx.spec.steps.length;
  return {
    ...withoutRolloutFields(base(ctx)),
    phase: 'Promoting',
    message,
    canaryRevision: ctx.revision,
    currentStepIndex: steps,
    step: stepLabel(steps, steps),
    stepStartedAt: ctx.now.toISOString(),
    stepsHash: stepsHash(ctx.spec.steps),
    promotionStartedAt: ctx.now.toISOString(),
    analysis: ctx.status.analysis ?? emptyAnalysisStatus(),
  };
}

export function rollbackStatus(ctx: DecideContext, reason: RollbackReason, message: string): RolloutStatus {
  const revision = ctx.status.canaryRevision ?? ctx.revision;
  const {
    pauseStartedAt: _pause, waitingForPodsSince: _waiting, pauseReleasedStepIndex: _released, inconclusiveStepIndex: _inconclusive, ...kept
  } = base(ctx);
  return {
    ...kept,
    phase: reason === 'Aborted' ? 'Aborted' : 'RolledBack',
    message,
    canaryRevision: revision,
    rollback: { reason, message, at: ctx.now.toISOString(), revision },
  };
}

/** Promotion done: the canary revision is stable, the rollout is over. */
export function promotedStatus(ctx: DecideContext, revision: string): RolloutStatus {
  return {
    ...withoutRolloutFields(base(ctx)),
    phase: 'Healthy',
    message: `revision ${revision} promoted: it runs as stable and takes 100% of the traffic`,
    stableRevision: revision,
    canaryWeight: 0,
    weightChangedAt: ctx.now.toISOString(),
  };
}

/** The template went back to what stable runs: the rollout is over without promotion. */
export function endedStatus(ctx: DecideContext, message: string): RolloutStatus {
  return { ...withoutRolloutFields(base(ctx)), phase: 'Progressing', message };
}

/** The analysis counts after crediting one round. */
export function creditRound(analysis: AnalysisStatus | undefined, round: AnalysisRound): AnalysisStatus {
  const counts = analysis ?? emptyAnalysisStatus();
  const { verdict } = round;
  return {
    passedChecks: counts.passedChecks + (verdict === 'pass' ? 1 : 0),
    failedChecks: counts.failedChecks + (verdict === 'fail' ? 1 : 0),
    inconclusiveChecks: counts.inconclusiveChecks + (verdict === 'inconclusive' ? 1 : 0),
    erroredChecks: counts.erroredChecks + (verdict === 'error' ? 1 : 0),
    consecutiveErrors: verdict === 'error' ? (counts.consecutiveErrors ?? 0) + 1 : 0,
    consecutiveInconclusive: verdict === 'inconclusive' ? (counts.consecutiveInconclusive ?? 0) + 1 : 0,
    lastRunAt: round.at,
    ...(verdict === 'pass' ? { lastPassedAt: round.at } : counts.lastPassedAt === undefined ? {} : { lastPassedAt: counts.lastPassedAt }),
    last: round.checks,
  };
}
