// decide(observed, now) → the next action: the pure heart of the Rollout controller. Level-based
// (controller-runtime's contract): it is handed what the cluster looks like, never an event, and
// gives the same answer whatever happened before. Precedence, first match wins:
//   1. deletion: restore 100% stable, let proxies catch up, leave stable behind, release the finalizer
//   2. the finalizer is added before anything else is written
//   3. spec.workloadRef's Deployment missing: stop, touch nothing
//   4. an analysis template or argument missing, or an invalid spec, stops everything but abort and
//      a rollback's return to stable (status says why)
//   5. a pending command (annotation) is applied and acknowledged in one status write
//   6. a <name>-stable/-canary Deployment that is not ours: stop (ours left ownerless: adopt it)
//   7. a write the API server refused as invalid: report it, until the spec changes;
//      a `restart` rolls the pods of the Deployments it recorded
//   8. VirtualService / DestinationRule missing or unusable: stop, touch nothing
//   9. DestinationRule subsets added or repaired before any weight moves
//  10. header and mirror routes as the state wants them (routing/step-routes.ts)
//  11. a role held by a Deployment of the layout before one Deployment per revision: copied over;
//      Deployments in no role scaled down (or deleted) once no subset selects them (retire.ts)
//  12. the state's own branch (converge.ts, progressing.ts)
import type { Action } from './actions.ts';
import { claimAction, claimGuard, releaseAction } from './routing/claims.ts';
import { applyCommand, ignoreCommand } from './command-effects.ts';
import { pendingCommand, type PendingCommand } from './commands.ts';
import { CONDITION } from './conditions.ts';
import { decideEnd, decideFirstDeploy, decidePromoting, decideRolledBack, decideStart, decideSteady } from './converge.ts';
import { resolveSpec } from './defaults.ts';
import { addFinalizer, decideDeletion, hasFinalizer, isDeleting } from './finalize.ts';
import { addMilliseconds } from './durations.ts';
import { hold, stopWith, waitUntil } from './hold.ts';
import type { ObservedState } from './observed.ts';
import { decideOwnership } from './deployments/ownership.ts';
import { assignRoles } from './deployments/roles.ts';
import { migrateLegacy, retireDeployments } from './deployments/retire.ts';
import { foldStatusDecisions } from './fold-status.ts';
import { decideProgressing, decideStepsChanged } from './progressing.ts';
import { refusedWriteHold, writeLoopHold } from './refused-writes.ts';
import { decideRestart } from './deployments/restart.ts';
import { stableCapacityFor } from './deployments/stable-scale.ts';
import { templateRevision } from './revision.ts';
import { resolveTemplates } from '../analysis/templates.ts';
import { resolveRouting } from './routing/routing.ts';
import { desiredStepRoutes, stepRoutesNow, stepRoutesRecord, stepRoutesWrite } from './routing/step-routes.ts';
import { classify, stableRevisionOf, type DecideContext, type RolloutState, type RoutedContext } from './state.ts';
import { scaleStatus } from './transitions.ts';
import { validateRollout } from './validate.ts';
import { workloadMissingHold, workloadTakeover, workloadTemplate } from './deployments/workload-ref.ts';

export type { Action } from './actions.ts';
export type { ObservedState } from './observed.ts';

function context(given: ObservedState, now: Date): DecideContext {
  const { rollout } = given;
  const resolved = resolveSpec(rollout, workloadTemplate(given.workload));
  const templates = resolved.analysis === undefined ? undefined : resolveTemplates(rollout, given.analysisTemplates);
  const spec = templates?.ok === true && resolved.analysis !== undefined
    ? { ...resolved, analysis: { ...resolved.analysis, metrics: templates.metrics, args: templates.args } }
    : resolved;
  const revision = templateRevision(spec.template);
  const observed = withRoles(given, revision);
  return {
    observed,
    rollout,
    spec,
    status: rollout.status ?? {},
    now,
    revision,
    stableRevision: stableRevisionOf(observed),
    problems: templates?.ok === false ? [] : validateRollout(rollout, spec),
    ...(templates?.ok === false ? { templateProblem: { reason: templates.reason, message: templates.message } } : {}),
  };
}

/** The stable and canary Deployments, and the retired ones, from all of the Rollout's Deployments. */
function withRoles(observed: ObservedState, revision: string): ObservedState {
  if (observed.deployments === undefined) return observed;
  const { stableDeployment: _stable, canaryDeployment: _canary, ...rest } = observed;
  const roles = assignRoles(observed.rollout, observed.deployments, observed.rollout.status ?? {}, revision);
  return {
    ...rest,
    ...(roles.stable === undefined ? {} : { stableDeployment: roles.stable }),
    ...(roles.canary === undefined ? {} : { canaryDeployment: roles.canary }),
    retired: roles.retired,
  };
}

/** Templates are read, not watched: a Rollout waiting for one looks again this often. */
const TEMPLATE_RECHECK_MS = 10_000;

/** A template or argument that cannot be had: nothing moves until it can, and status says what is missing. */
function templateHold(ctx: DecideContext, problem: { reason: string; message: string }): Action {
  const condition = { type: CONDITION.progressing, status: 'False' as const, reason: problem.reason, message: `${problem.message}; nothing is changed until then` };
  const recheck = waitUntil(problem.reason, condition.message, addMilliseconds(ctx.now, TEMPLATE_RECHECK_MS));
  return hold(ctx, { phase: 'Degraded', message: condition.message, conditions: [condition], warning: true }, recheck);
}

function invalidHold(ctx: DecideContext): Action {
  const message = `invalid spec, nothing is changed until it is fixed: ${ctx.problems.join('; ')}`;
  const condition = { type: CONDITION.specValid, status: 'False' as const, reason: 'InvalidSpec', message };
  return hold(ctx, { phase: 'Invalid', message, conditions: [condition] }, stopWith(condition, ctx));
}

/**
 * An invalid spec moves nothing forward, but a person must still be able to get traffic off a
 * canary: abort is applied, and a recorded rollback (abort included) sends traffic back to
 * stable and scales the canary down, as long as the routing can still be read.
 */
function decideInvalid(ctx: DecideContext, state: RolloutState, command: PendingCommand | undefined): Action {
  if (command?.command === 'abort') return applyCommand(ctx, state, command);
  if (command !== undefined) return ignoreCommand(ctx, command, 'the spec is invalid; fix it first (abort still works)');
  if (state.kind === 'rolledBack') {
    const routing = resolveRouting(ctx);
    if (routing.ok && routing.claimWrites.length === 0 && routing.subsetPatch.length === 0) {
      return stepRoutesWrite(routing.routed, []) ?? decideRolledBack(routing.routed, state.rollback);
    }
  }
  return invalidHold(ctx);
}

/** Claims left on a VirtualService or DestinationRule the spec no longer names are let go. */
function releaseFormerClaims(ctx: DecideContext): Action | undefined {
  for (const { plural, object } of ctx.observed.formerClaims ?? []) {
    const release = releaseAction(plural, object, ctx.rollout, 'spec.trafficRouting no longer names it');
    if (release !== undefined) return release;
  }
  return undefined;
}

function decideState(ctx: RoutedContext, state: RolloutState): Action {
  switch (state.kind) {
    case 'firstDeploy':
      return decideFirstDeploy(ctx);
    case 'steady':
      return decideSteady(ctx);
    case 'start':
      return decideStart(ctx, state.restart);
    case 'end':
      return decideEnd(ctx);
    case 'progressing':
      return decideProgressing(ctx, state.stepIndex);
    case 'stepsChanged':
      return decideStepsChanged(ctx);
    case 'promoting':
      return decidePromoting(ctx);
    case 'rolledBack':
      return decideRolledBack(ctx, state.rollback);
  }
}

/**
 * The next action for a Rollout. Pure: everything it needs is in `observed` (from the cluster
 * and status) and `now`; calling it again on the same input gives the same action.
 *
 * A status write is followed by whatever decideOne() would decide on the next pass, as long as
 * that too is a status write: nothing else in the cluster changes in between, so the next pass
 * would see the same objects with this status. Those decisions are folded into one write
 * (foldStatusDecisions), each still named in `decisions`.
 */
export function decide(observed: ObservedState, now: Date): Action {
  return foldStatusDecisions(observed, now, decideOne);
}

/** One decision: what a single pass would do, with no status decision folded in. */
export function decideOne(observed: ObservedState, now: Date): Action {
  const ctx = context(observed, now);
  const decided = decideFor(ctx);
  const action = stableCapacityFor(ctx, decided) ?? decided;
  // Every status write carries what the scale subresource reads (HPAs, kubectl scale).
  return action.kind === 'updateStatus' ? { ...action, status: { ...action.status, ...scaleStatus(ctx) } } : action;
}

function decideFor(ctx: DecideContext): Action {
  if (isDeleting(ctx.rollout)) return decideDeletion(ctx);
  if (!hasFinalizer(ctx.rollout)) return addFinalizer(ctx.rollout);
  const missingWorkload = workloadMissingHold(ctx);
  if (missingWorkload !== undefined) return missingWorkload;

  const state = classify(ctx);
  const command = pendingCommand(ctx.rollout);
  // Abort still works: a template deleted mid-rollout must not keep traffic on the canary.
  if (ctx.templateProblem !== undefined && command?.command !== 'abort' && state.kind !== 'rolledBack') return templateHold(ctx, ctx.templateProblem);
  if (ctx.problems.length > 0) return decideInvalid(ctx, state, command);
  if (command !== undefined) return applyCommand(ctx, state, command);
  const beforeRouting = decideOwnership(ctx) ?? refusedWriteHold(ctx) ?? writeLoopHold(ctx) ?? decideRestart(ctx) ?? releaseFormerClaims(ctx);
  if (beforeRouting !== undefined) return beforeRouting;

  const desiredRoutes = desiredStepRoutes(ctx, state);
  const routing = resolveRouting(ctx, desiredRoutes);
  if (!routing.ok) {
    const { condition } = routing;
    return hold(ctx, { phase: 'Degraded', message: condition.message, conditions: [condition] }, stopWith(condition, ctx));
  }
  const [claim] = routing.claimWrites;
  if (claim !== undefined) return claimAction(claim);
  if (routing.subsetPatch.length > 0 && ctx.observed.destinationRule !== undefined) {
    const name = ctx.spec.trafficRouting.destinationRule.name;
    const { stableSubset, canarySubset } = ctx.spec.trafficRouting.destinationRule;
    return {
      kind: 'ensureSubsets',
      reason: 'SubsetsRepaired',
      message: `DestinationRule ${name}: adding or repairing subsets ${stableSubset} and ${canarySubset} before any weight moves`,
      destinationRule: name,
      patch: [...claimGuard(ctx.observed.destinationRule), ...routing.subsetPatch],
    };
  }
  // Header and mirror routes go before anything else moves: on the way out of a step, no request
  // may be sent to the canary by them once weights or pods change.
  const routesNow = stepRoutesNow(routing.routed, desiredRoutes);
  const routesAction = stepRoutesWrite(routing.routed, routesNow) ?? stepRoutesRecord(ctx, routesNow);
  if (routesAction !== undefined) return routesAction;
  const takeover = workloadTakeover(routing.routed, routing.pendingSubsets);
  if (takeover.action !== undefined) return takeover.action;
  const migration = migrateLegacy(ctx);
  if (migration !== undefined) return migration;
  // At promotion the previous stable's pods go only after the VirtualService write that sends
  // all traffic to the re-pointed subset: the data-plane confirmation is of that write.
  const retirement = state.kind === 'promoting' && routing.routed.canaryWeight !== 0 ? {} : retireDeployments(ctx);
  if (retirement.action !== undefined) return retirement.action;
  const action = decideState(routing.routed, state);
  if (action.kind === 'setWeights' && action.canaryWeight > 0 && routing.pendingSubsets.includes('canary')) {
    // The canary subset still selects other pods: no weight may move to it before it is re-pointed.
    return waitUntil('WaitingForCanarySubset', `the ${ctx.spec.trafficRouting.destinationRule.canarySubset} subset is re-pointed once the canary pods are available; no weight moves before`);
  }
  // A retirement waiting for its delay or for the data plane wakes the Rollout first (its reason
  // has the shell follow istiod for the VirtualService as it is).
  const retiring = retirement.wait;
  if (retiring !== undefined && action.kind === 'wait' && (action.until === undefined || (retiring.until !== undefined && retiring.until <= action.until))) {
    return takeover.wakeAt !== undefined && (retiring.until === undefined || takeover.wakeAt < retiring.until) ? { ...retiring, until: takeover.wakeAt } : retiring;
  }
  const wakeAt = takeover.wakeAt;
  if (wakeAt !== undefined && action.kind === 'wait' && (action.until === undefined || action.until > wakeAt)) return { ...action, until: wakeAt };
  return action;
}
