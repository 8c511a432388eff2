// Where a Rollout stands, derived only from its status and the cluster (never from memory and
// never from status.phase, which is for display): this is what lets a controller killed at any
// instant resume exactly where it was.
import { parseDuration } from './durations.ts';
import type { ResolvedSpec, ResolvedTrafficRouting, ResolvedVirtualServiceRef } from './defaults.ts';
import { deploymentName, deploymentRevision, nameOf } from './deployments/deployments.ts';
import type { ObservedState } from './observed.ts';
import { stepsHash } from './revision.ts';
import type { ManagedRoute } from './routing/weights.ts';
import type { RollbackRecord, Rollout, RolloutStatus, RolloutStep, SetCanaryScale, Track, VirtualService } from './types.ts';

export interface DecideContext {
  observed: ObservedState;
  rollout: Rollout;
  spec: ResolvedSpec;
  status: RolloutStatus;
  now: Date;
  /** Revision of spec.template: what should end up stable. */
  revision: string;
  /** Revision the stable Deployment runs (its annotation), undefined when it does not exist. */
  stableRevision: string | undefined;
  /** What is wrong with the spec (validate.ts); only commands and traffic restoration act while any remain. */
  problems: string[];
  /** A template or argument spec.analysis names that cannot be had (analysis/templates.ts). */
  templateProblem?: { reason: string; message: string };
}

/** A listed VirtualService after the first, as found, with the routes this Rollout manages in it. */
export interface RouteTarget {
  ref: ResolvedVirtualServiceRef;
  /** Where it is: the Rollout's namespace unless ref.namespace says otherwise. */
  namespace: string;
  virtualService: VirtualService;
  routes: ManagedRoute[];
  /** The routing as read from its namespace (routing/weights.ts routingFrom). */
  routing: ResolvedTrafficRouting;
  /** Names of the header and mirror routes of this Rollout's in it. */
  stepRoutes: ReadonlySet<string>;
}

/** A context whose VirtualServices and DestinationRule were found usable. */
export interface RoutedContext extends DecideContext {
  /** The first listed VirtualService, written last in a weight change. */
  virtualService: VirtualService;
  routes: ManagedRoute[];
  /** The other listed VirtualServices, in order: their routes take the same weights. */
  otherTargets: RouteTarget[];
  /** The weight all managed routes of every VirtualService agree on; undefined when they disagree (a write will fix that). */
  canaryWeight: number | undefined;
  /** Names of the header and mirror routes of this Rollout's in the VirtualService (managed-routes.ts). */
  stepRoutes: ReadonlySet<string>;
}

export type RolloutState =
  /** No stable Deployment and no stable revision ever recorded: create stable, no canary. */
  | { kind: 'firstDeploy' }
  /** The template is what stable runs and no rollout is recorded. */
  | { kind: 'steady' }
  /** The template differs from stable (or from the rollout recorded): record a rollout from step 0. */
  | { kind: 'start'; restart: boolean }
  /** A rollout is recorded but the template went back to what stable runs. */
  | { kind: 'end' }
  | { kind: 'progressing'; stepIndex: number }
  /** spec.steps no longer are the steps status.currentStepIndex counts in: restart them. */
  | { kind: 'stepsChanged' }
  /** Every step done (or promote --full): stable takes the canary's template. */
  | { kind: 'promoting' }
  | { kind: 'rolledBack'; rollback: RollbackRecord };

export function classify(ctx: DecideContext): RolloutState {
  const { status, revision, stableRevision, spec } = ctx;
  const { canaryRevision } = status;
  if (canaryRevision !== undefined) {
    if (revision !== canaryRevision) return revision === stableRevision ? { kind: 'end' } : { kind: 'start', restart: true };
    if (status.rollback !== undefined) return { kind: 'rolledBack', rollback: status.rollback };
    if (status.promotionStartedAt !== undefined) return { kind: 'promoting' };
    if (status.stepsHash !== undefined && status.stepsHash !== stepsHash(spec.steps)) return { kind: 'stepsChanged' };
    const stepIndex = status.currentStepIndex ?? 0;
    return stepIndex >= spec.steps.length ? { kind: 'promoting' } : { kind: 'progressing', stepIndex };
  }
  if (ctx.observed.stableDeployment === undefined) {
    const known = status.stableRevision;
    // A stable Deployment deleted by hand is recreated only with the template it ran; any
    // other template goes through a rollout (which stops and says so, as stable is missing).
    return known === undefined || known === revision ? { kind: 'firstDeploy' } : { kind: 'start', restart: false };
  }
  return stableRevision === revision ? { kind: 'steady' } : { kind: 'start', restart: false };
}

export function stableRevisionOf(observed: ObservedState): string | undefined {
  return deploymentRevision(observed.stableDeployment);
}

/**
 * The canary weight a step aims at: that of the last setWeight at or before it. Before any, the
 * weight held when the steps were edited mid-rollout (status.heldWeight), else 0.
 */
export function weightAtStep(steps: readonly RolloutStep[], stepIndex: number, heldWeight = 0): number {
  for (let index = Math.min(stepIndex, steps.length - 1); index >= 0; index -= 1) {
    const weight = steps[index]?.setWeight;
    if (weight !== undefined) return weight;
  }
  return heldWeight;
}

/** Enough canary pods for its share of the stable replica count, at least one to take traffic. */
export function canaryReplicas(replicas: number, canaryWeight: number): number {
  if (replicas === 0) return 0;
  return Math.max(1, Math.ceil((replicas * canaryWeight) / 100));
}

/** The setCanaryScale in force at a step: the last one at or before it; undefined when sized by weight. */
export function canaryScaleAtStep(steps: readonly RolloutStep[], stepIndex: number): SetCanaryScale | undefined {
  for (let index = Math.min(stepIndex, steps.length - 1); index >= 0; index -= 1) {
    const scale = steps[index]?.setCanaryScale;
    if (scale !== undefined) return scale.matchTrafficWeight === true ? undefined : scale;
  }
  return undefined;
}

/**
 * The canary's pods at a step: what setCanaryScale says (a count, or a share of spec.replicas,
 * at least one: a canary without pods could take no request), else its weight's share.
 */
export function canaryReplicasAtStep(replicas: number, canaryWeight: number, scale: SetCanaryScale | undefined): number {
  if (scale === undefined || replicas === 0) return canaryReplicas(replicas, canaryWeight);
  if (scale.replicas !== undefined) return Math.max(1, scale.replicas);
  return Math.max(1, Math.ceil((replicas * (scale.weight ?? 0)) / 100));
}

/** "3/5": the step in progress, 1-based, as the printer column shows it. */
export function stepLabel(stepIndex: number, stepCount: number): string {
  return `${Math.min(stepIndex + 1, stepCount)}/${stepCount}`;
}

export function pauseDuration(step: RolloutStep | undefined): number | undefined {
  const duration = step?.pause?.duration;
  return duration === undefined ? undefined : parseDuration(duration);
}

export function isIndefinitePause(step: RolloutStep | undefined): boolean {
  return step?.pause !== undefined && step.pause.duration === undefined;
}

export function timestamp(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : time;
}

/** The name of a role's Deployment, or the one it will have. */
export function roleName(ctx: DecideContext, track: Track): string {
  const deployment = track === 'stable' ? ctx.observed.stableDeployment : ctx.observed.canaryDeployment;
  const revision = track === 'stable' ? (ctx.stableRevision ?? ctx.status.stableRevision ?? ctx.revision) : (ctx.status.canaryRevision ?? ctx.revision);
  return nameOf(deployment, deploymentName(ctx.rollout.metadata.name, revision));
}
