// When analysis runs, which round counts, and when a step may advance. All of it reads
// timestamps from status, so a restarted controller keeps the same schedule.
import { buildAnalysisPlan } from '../analysis/queries.ts';
import type { AnalysisPlan, AnalysisRound } from '../analysis/types.ts';
import type { UpdateStatusAction } from './actions.ts';
import { addMilliseconds, parseDuration } from './durations.ts';
import { roleName, timestamp, type DecideContext } from './state.ts';
import type { RolloutStatus } from './types.ts';
import { creditRound, rollbackStatus, updateStatus } from './transitions.ts';

/**
 * Requests reach the canary: by weight, or by a header route in place (recorded in status once
 * written). Mirrored copies do not count: their answers are dropped, and they are not judged.
 */
function canaryTakesTraffic(ctx: DecideContext, canaryWeight: number): boolean {
  return canaryWeight > 0 || (ctx.status.managedRoutes ?? []).some((route) => route.type === 'Header');
}

/**
 * The next round is due one interval after the latest of: the last round, the step's start, the
 * last weight change. So each round's window (= interval) covers traffic of the current step at
 * its current weight only. undefined: no analysis for this step (none configured, or no traffic).
 */
export function nextAnalysisAt(ctx: DecideContext, canaryWeight: number): Date | undefined {
  const { analysis } = ctx.spec;
  if (analysis === undefined || !canaryTakesTraffic(ctx, canaryWeight)) return undefined;
  const interval = parseDuration(analysis.interval) ?? 60_000;
  const { status } = ctx;
  const origins = [status.analysis?.lastRunAt, status.stepStartedAt, status.weightChangedAt]
    .map(timestamp)
    .filter((time): time is number => time !== undefined);
  const origin = origins.length === 0 ? ctx.now.getTime() - interval : Math.max(...origins);
  return addMilliseconds(new Date(origin), interval);
}

/**
 * A step that sends traffic to the canary may only complete when analysis vouches for it: a
 * round that passed since the step started and its weight was last changed (rounds run at the
 * previous weight while a gate holds an increase), and no later round that did not pass. An
 * inconclusive or errored round never opens the gate, so Prometheus being down never promotes.
 */
export function analysisGateOpen(ctx: DecideContext, canaryWeight: number): boolean {
  if (ctx.spec.analysis === undefined || !canaryTakesTraffic(ctx, canaryWeight)) return true;
  const analysis = ctx.status.analysis;
  const passedAt = timestamp(analysis?.lastPassedAt);
  const stepStartedAt = timestamp(ctx.status.stepStartedAt) ?? Number.POSITIVE_INFINITY;
  const startedAt = Math.max(stepStartedAt, timestamp(ctx.status.weightChangedAt) ?? Number.NEGATIVE_INFINITY);
  return passedAt !== undefined && passedAt > startedAt && analysis?.lastPassedAt === analysis?.lastRunAt;
}

/** The observed round if it was planned for this revision and step and is newer than the last one credited. */
export function freshRound(ctx: DecideContext, stepIndex: number): AnalysisRound | undefined {
  const round = ctx.observed.analysis;
  if (round === undefined || round.canaryRevision !== ctx.status.canaryRevision || round.stepIndex !== stepIndex) return undefined;
  const at = timestamp(round.at);
  const lastRunAt = timestamp(ctx.status.analysis?.lastRunAt);
  const startedAt = timestamp(ctx.status.stepStartedAt);
  if (at === undefined || (lastRunAt !== undefined && at <= lastRunAt) || (startedAt !== undefined && at < startedAt)) return undefined;
  return round;
}

/**
 * Credits the round. The failed round that exceeds failureLimit rolls back in the same write. An
 * analysis that cannot conclude must end too: an errored round past consecutiveErrorLimit in a
 * row counts as a failed check (Prometheus down for that long is not a canary to keep), and an
 * inconclusive round past inconclusiveLimit in a row holds the rollout for a person to decide.
 */
export function creditRoundAction(ctx: DecideContext, round: AnalysisRound): UpdateStatusAction {
  const limits = ctx.spec.analysis;
  const failureLimit = limits?.failureLimit ?? 0;
  const credited = creditRound(ctx.status.analysis, round);
  const findings = round.checks.filter((check) => check.verdict !== 'pass').map((check) => check.message).join('; ');
  const consecutiveErrors = credited.consecutiveErrors ?? 0;
  const errorsPastLimit = round.verdict === 'error' && limits !== undefined && consecutiveErrors > limits.consecutiveErrorLimit;
  const analysis = errorsPastLimit ? { ...credited, failedChecks: credited.failedChecks + 1 } : credited;
  const failed = round.verdict === 'fail' || errorsPastLimit;
  const why = errorsPastLimit
    ? `Prometheus gave no answer ${consecutiveErrors} rounds in a row, more than consecutiveErrorLimit ${limits.consecutiveErrorLimit} (${findings})`
    : findings;
  if (failed && analysis.failedChecks > failureLimit) {
    const message =
      `analysis failed ${analysis.failedChecks} time(s), more than failureLimit ${failureLimit}: ${why}; ` +
      `all traffic goes back to stable and the canary is scaled to zero`;
    return updateStatus('AnalysisFailed', message, { ...rollbackStatus(ctx, 'AnalysisFailed', message), analysis });
  }
  const status = { ...ctx.status, analysis, observedGeneration: ctx.rollout.metadata.generation };
  const consecutiveInconclusive = analysis.consecutiveInconclusive ?? 0;
  if (round.verdict === 'inconclusive' && limits !== undefined && consecutiveInconclusive > limits.inconclusiveLimit) {
    const message =
      `analysis inconclusive ${consecutiveInconclusive} rounds in a row, more than inconclusiveLimit ${limits.inconclusiveLimit}: ${findings}; ` +
      `the canary keeps its weight: run \`switchboard promote ${ctx.rollout.metadata.name}\` to go on or \`switchboard abort ${ctx.rollout.metadata.name}\` to roll back`;
    return updateStatus('Inconclusive', message, { ...status, phase: 'Inconclusive', message, inconclusiveStepIndex: round.stepIndex });
  }
  const reason = failed ? 'AnalysisCheckFailed' : { pass: 'AnalysisPassed', fail: 'AnalysisCheckFailed', inconclusive: 'AnalysisInconclusive', error: 'AnalysisError' }[round.verdict];
  const summary =
    round.verdict === 'pass'
      ? round.checks.map((check) => check.message).join('; ')
      : failed
        ? `failed check ${analysis.failedChecks} of at most ${failureLimit} tolerated: ${why}`
        : `${findings} (never counts as a pass)`;
  // The round's time makes each round's Event its own: two rounds that measured the same are still two rounds.
  return updateStatus(reason, `analysis round at ${round.at}: ${summary}`, status);
}

export function analysisPlanFor(ctx: DecideContext, stepIndex: number): AnalysisPlan | undefined {
  const { analysis } = ctx.spec;
  const { name, namespace } = ctx.rollout.metadata;
  if (analysis === undefined) return undefined;
  return buildAnalysisPlan({
    namespace,
    rolloutName: name,
    canaryWorkload: roleName(ctx, 'canary'),
    stableWorkload: roleName(ctx, 'stable'),
    canaryRevision: ctx.status.canaryRevision ?? ctx.revision,
    stepIndex,
    analysis,
    serviceHost: ctx.spec.trafficRouting.host,
    mirrored: (ctx.status.managedRoutes ?? []).some((route) => route.type === 'Mirror'),
    stableIdle: (ctx.status.canaryWeight ?? 0) >= 100,
    ...(analysis.prometheus === undefined ? {} : { prometheusAddress: analysis.prometheus.address }),
    ...(ctx.observed.minAnalysisWindowMs === undefined ? {} : { minWindowMs: ctx.observed.minAnalysisWindowMs }),
    // The times nextAnalysisAt schedules from: the same round until it is credited, then another.
    round: [ctx.status.analysis?.lastRunAt, ctx.status.stepStartedAt, ctx.status.weightChangedAt]
      .map((time) => time ?? '').join('|'),
    ...(ctx.rollout.metadata.uid === undefined ? {} : { rolloutUid: ctx.rollout.metadata.uid }),
  });
}

/**
 * Whether a round planned for this revision and step may still be credited: not once the rollout
 * was aborted, rolled back or promoted, nor once it moved to another revision or step. A round
 * that may not is abandoned (its Jobs deleted) rather than waited for.
 */
export function roundMayCount(status: RolloutStatus | undefined, plan: Pick<AnalysisPlan, 'canaryRevision' | 'stepIndex'>): boolean {
  if (status === undefined) return true;
  if (status.phase === 'Aborted' || status.phase === 'RolledBack' || status.phase === 'Healthy') return false;
  if (status.canaryRevision !== undefined && status.canaryRevision !== plan.canaryRevision) return false;
  return (status.currentStepIndex ?? 0) === plan.stepIndex;
}
