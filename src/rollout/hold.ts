// When there is nothing to write in the cluster, the status must still say what the Rollout is
// waiting for. hold() writes that view when it differs from the stored status, and otherwise
// returns the wait or stop: status is rewritten only on real change (no timestamps of "now" in
// messages), so an idle Rollout costs no writes.
import type { StopAction, UpdateStatusAction, WaitAction } from './actions.ts';
import { CONDITION, setConditions, type ConditionUpdate } from './conditions.ts';
import { deploymentReadiness, desiredReplicas } from './deployments/deployments.ts';
import { canonicalJson } from './revision.ts';
import { stepLabel, type DecideContext, type RoutedContext } from './state.ts';
import { scaleStatus } from './transitions.ts';
import type { Condition, RolloutPhase, RolloutStatus } from './types.ts';

export interface HoldView {
  phase: RolloutPhase;
  message: string;
  conditions: ConditionUpdate[];
  /** Starts (or keeps) status.waitingForPodsSince, the origin of progressDeadlineSeconds. */
  waitingForPods?: boolean;
  /** Starts (or keeps) status.pauseStartedAt. */
  paused?: boolean;
  /** Needs a person though it is no stop (a refused write retried later): told as a Warning. */
  warning?: boolean;
}

function isRouted(ctx: DecideContext): ctx is RoutedContext {
  return 'routes' in ctx;
}

/** Last update of each type wins, so a view can override a base condition. */
function mergeConditions(ctx: DecideContext, updates: readonly ConditionUpdate[]): Condition[] {
  const byType = new Map(updates.map((update) => [update.type, update]));
  return setConditions(ctx.status.conditions, [...byType.values()], ctx.now, ctx.rollout.metadata.generation);
}

export function viewStatus(ctx: DecideContext, view: HoldView): RolloutStatus {
  const { status, now } = ctx;
  const { waitingForPodsSince: _waiting, pauseStartedAt: _paused, step: _step, canaryScaleDownAt, ...kept } = status;
  const next: RolloutStatus = {
    ...kept,
    phase: view.phase,
    message: view.message,
    observedGeneration: ctx.rollout.metadata.generation,
    conditions: mergeConditions(ctx, view.conditions),
    ...scaleStatus(ctx),
  };
  // A scale-down delay is over once the canary has no pods left to keep.
  const canary = ctx.observed.canaryDeployment;
  if (canaryScaleDownAt !== undefined && canary !== undefined && desiredReplicas(canary) > 0) next.canaryScaleDownAt = canaryScaleDownAt;
  const stableRevision = ctx.stableRevision ?? status.stableRevision;
  if (stableRevision !== undefined) next.stableRevision = stableRevision;
  if (status.currentStepIndex !== undefined) next.step = stepLabel(status.currentStepIndex, ctx.spec.steps.length);
  if (view.waitingForPods === true) next.waitingForPodsSince = status.waitingForPodsSince ?? now.toISOString();
  if (view.paused === true) next.pauseStartedAt = status.pauseStartedAt ?? now.toISOString();
  if (isRouted(ctx) && ctx.canaryWeight !== undefined && ctx.canaryWeight !== status.canaryWeight) {
    next.canaryWeight = ctx.canaryWeight;
    next.weightChangedAt = now.toISOString();
  }
  return next;
}

function sameStatus(a: RolloutStatus, b: RolloutStatus): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** The status write that brings the view up to date, or undefined when status already shows it. */
export function syncView(ctx: DecideContext, view: HoldView): UpdateStatusAction | undefined {
  const next = viewStatus(ctx, view);
  if (sameStatus(next, ctx.status)) return undefined;
  return { kind: 'updateStatus', reason: 'StatusChanged', message: view.message, status: next };
}

/**
 * The status write that shows the view, else `then`. A hold that needs a person (every stop, and
 * views marked as warnings) is told under its own reason as a Warning Event, once per cause: the
 * same cause again is the same Event, counted up.
 */
export function hold(ctx: DecideContext, view: HoldView, then: WaitAction | StopAction): UpdateStatusAction | WaitAction | StopAction {
  const sync = syncView(ctx, view);
  if (sync === undefined) return then;
  if (then.kind === 'stop' || view.warning === true) return { ...sync, reason: then.reason, warning: true };
  return sync;
}

export function waitUntil(reason: string, message: string, until?: Date): WaitAction {
  return until === undefined ? { kind: 'wait', reason, message } : { kind: 'wait', reason, message, until };
}

export function stopWith(condition: ConditionUpdate, ctx: DecideContext): StopAction {
  const stored = ctx.status.conditions?.find((c) => c.type === condition.type);
  const lastTransitionTime = stored?.status === condition.status ? stored.lastTransitionTime : ctx.now.toISOString();
  return { kind: 'stop', reason: condition.reason, message: condition.message, condition: { ...condition, lastTransitionTime } };
}

/** Conditions every view of a usable Rollout shows: valid spec, routing found, stable availability, last analysis. */
export function baseConditions(ctx: DecideContext): ConditionUpdate[] {
  const updates: ConditionUpdate[] = [
    ctx.problems.length === 0
      ? { type: CONDITION.specValid, status: 'True', reason: 'Valid', message: 'the spec is valid' }
      : { type: CONDITION.specValid, status: 'False', reason: 'InvalidSpec', message: ctx.problems.join('; ') },
    { type: CONDITION.trafficRoutingReady, status: 'True', reason: 'RoutesFound', message: 'VirtualService routes and DestinationRule subsets are in place' },
  ];
  const stable = ctx.observed.stableDeployment;
  if (stable !== undefined) {
    const { ready, available, desired } = deploymentReadiness(stable);
    updates.push(
      ready
        ? { type: CONDITION.available, status: 'True', reason: 'StableAvailable', message: `${available}/${desired} stable pods available` }
        : { type: CONDITION.available, status: 'False', reason: 'StableUnavailable', message: `${available}/${desired} stable pods available` },
    );
  }
  const last = ctx.status.analysis?.last;
  if (ctx.spec.analysis !== undefined && last !== undefined && last.length > 0) {
    const failing = last.filter((check) => check.verdict !== 'pass');
    const summary = (failing.length === 0 ? last : failing).map((check) => check.message).join('; ');
    const status = failing.some((check) => check.verdict === 'fail') ? 'False' : failing.length === 0 ? 'True' : 'Unknown';
    const reason = status === 'True' ? 'Passed' : status === 'False' ? 'Failed' : 'Inconclusive';
    updates.push({ type: CONDITION.analysisPassing, status, reason, message: summary });
  }
  return updates;
}
