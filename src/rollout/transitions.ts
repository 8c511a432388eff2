// Status transitions: each records a decision (start, advance, credit analysis, roll back,
// promote, end) in one status write, before the cluster writes that carry it out. A controller
// that dies after the write finds the decision in status; one that dies before it decides again.
import type { AnalysisRound } from '../analysis/types.ts';
import type { UpdateStatusAction } from './actions.ts';
import type { AnalysisStatus, RollbackReason, RolloutStatus } from './types.ts';
import { stepLabel, type DecideContext } from './state.ts';

export function emptyAnalysisStatus(): AnalysisStatus {
  return { passedChecks: 0, failedChecks: 0, inconclusiveChecks: 0, erroredChecks: 0 };
}

export function updateStatus(reason: string, message: string, status: RolloutStatus): UpdateStatusAction {
  return { kind: 'updateStatus', reason, message, status };
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
    ...kept
  } = status;
  return kept;
}

function base(ctx: DecideContext): RolloutStatus {
  return { ...ctx.status, observedGeneration: ctx.rollout.metadata.generation };
}

/** A rollout of the current template from the first step, with fresh analysis counts. */
export function startRolloutStatus(ctx: DecideContext, message: string): RolloutStatus {
  return {
    ...withoutRolloutFields(base(ctx)),
    phase: 'Progressing',
    message,
    canaryRevision: ctx.revision,
    currentStepIndex: 0,
    step: stepLabel(0, ctx.spec.steps.length),
    stepStartedAt: ctx.now.toISOString(),
    analysis: emptyAnalysisStatus(),
  };
}

export function advanceStepStatus(ctx: DecideContext, nextIndex: number, message: string): RolloutStatus {
  const { steps } = ctx.spec;
  const { pauseReleasedStepIndex: _released, pauseStartedAt: _pause, waitingForPodsSince: _waiting, ...kept } = base(ctx);
  return {
    ...kept,
    phase: nextIndex >= steps.length ? 'Promoting' : 'Progressing',
    message,
    currentStepIndex: nextIndex,
    step: stepLabel(nextIndex, steps.length),
    stepStartedAt: ctx.now.toISOString(),
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
    analysis: ctx.status.analysis ?? emptyAnalysisStatus(),
  };
}

export function rollbackStatus(ctx: DecideContext, reason: RollbackReason, message: string): RolloutStatus {
  const revision = ctx.status.canaryRevision ?? ctx.revision;
  const { pauseStartedAt: _pause, waitingForPodsSince: _waiting, pauseReleasedStepIndex: _released, ...kept } = base(ctx);
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
    lastRunAt: round.at,
    ...(verdict === 'pass' ? { lastPassedAt: round.at } : counts.lastPassedAt === undefined ? {} : { lastPassedAt: counts.lastPassedAt }),
    last: round.checks,
  };
}
