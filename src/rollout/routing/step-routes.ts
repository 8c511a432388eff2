// When the header and mirror routes of managed-routes.ts are written, and what stops them: the
// routes a Rollout's state wants, which of the VirtualService's routes are this Rollout's, and the
// write that puts the top of spec.http in order. Header routes send requests to the canary only
// once its pods are ready; every state but a running step wants none, so promotion, rollback,
// abort and the end of a rollout take them away before traffic or pods move.
import type { SetManagedRoutesAction, UpdateStatusAction } from '../actions.ts';
import { deploymentReadiness, deploymentRevision, desiredReplicas } from '../deployments/deployments.ts';
import type { ResolvedTrafficRouting } from '../defaults.ts';
import { canonicalJson } from '../revision.ts';
import type { DecideContext, RolloutState, RoutedContext } from '../state.ts';
import { recordStatus } from '../transitions.ts';
import type { ManagedRouteStatus, VirtualService } from '../types.ts';
import { claimGuard, claimOwner, readClaims, routeClaimKey } from './claims.ts';
import { describeManagedRoutes, istioRoute, planManagedRoutes, routesAtStep, trackDestinations } from './managed-routes.ts';
import { inspectRoute, sendsToBothSubsets, type ManagedRoute } from './weights.ts';

/** The header and mirror routes the state wants in place. */
export function desiredStepRoutes(ctx: DecideContext, state: RolloutState): ManagedRouteStatus[] {
  const { managedRoutes } = ctx.spec.trafficRouting;
  if (state.kind !== 'progressing' || managedRoutes.length === 0) return [];
  return routesAtStep(ctx.spec.steps, state.stepIndex, managedRoutes);
}

/**
 * Of those, the ones to have now: a route is added only once the canary's pods are ready (no
 * request is sent to a subset without endpoints), and one in place stays while a pod restarts.
 */
export function stepRoutesNow(ctx: RoutedContext, desired: readonly ManagedRouteStatus[]): ManagedRouteStatus[] {
  return canaryReady(ctx) ? [...desired] : desired.filter((route) => ctx.stepRoutes.has(route.name));
}

function canaryReady(ctx: DecideContext): boolean {
  const canary = ctx.observed.canaryDeployment;
  if (canary === undefined || desiredReplicas(canary) === 0) return false;
  return deploymentRevision(canary) === (ctx.status.canaryRevision ?? ctx.revision) && deploymentReadiness(canary).ready;
}

/**
 * The routes of the VirtualService that are this Rollout's header or mirror routes: named in
 * spec.trafficRouting.managedRoutes or in status (a name since taken out of the spec still goes),
 * and claimed by it.
 */
export function ownStepRoutes(ctx: DecideContext, vs: VirtualService): Set<string> {
  const names = new Set([...ctx.spec.trafficRouting.managedRoutes, ...(ctx.status.managedRoutes ?? []).map((route) => route.name)]);
  const claims = readClaims(vs);
  const self = claimOwner(ctx.rollout, vs.metadata.namespace ?? ctx.rollout.metadata.namespace);
  const own = new Set<string>();
  for (const route of vs.spec?.http ?? []) {
    if (route.name !== undefined && names.has(route.name) && claims[routeClaimKey({ name: route.name, index: -1 })] === self) own.add(route.name);
  }
  return own;
}

/** Present mirror routes of ours: their weights move with the weighted routes'. */
export function stepRouteWeights(vs: VirtualService, routing: ResolvedTrafficRouting, namespace: string, own: ReadonlySet<string>): ManagedRoute[] {
  const routes: ManagedRoute[] = [];
  for (const [index, route] of (vs.spec?.http ?? []).entries()) {
    if (route.name === undefined || !own.has(route.name) || !sendsToBothSubsets(route, routing, namespace)) continue;
    const inspected = inspectRoute(route, index, routing, namespace);
    if (typeof inspected !== 'string') routes.push(inspected);
  }
  return routes;
}

/**
 * What keeps header and mirror routes out of the VirtualService: a route of someone else's under
 * one of their names, or a managed route without a name (inserting above it would move it).
 * `analyze` asks the same (SB0808).
 */
export function stepRouteProblem(
  managedRoutes: readonly string[], vs: VirtualService, weighted: readonly ManagedRoute[], own: ReadonlySet<string>,
): { reason: string; message: string } | undefined {
  if (managedRoutes.length === 0) return undefined;
  const name = vs.metadata.name;
  const taken = (vs.spec?.http ?? []).find((route) => route.name !== undefined && managedRoutes.includes(route.name) && !own.has(route.name));
  if (taken !== undefined) {
    return {
      reason: 'ManagedRouteNameTaken',
      message: `VirtualService ${name} already has an http route named "${taken.name}" that this Rollout did not add; ` +
        'it would replace it with its header or mirror route: rename that route, or the entry of spec.trafficRouting.managedRoutes',
    };
  }
  const unnamed = weighted.find((route) => (route.kind ?? 'http') === 'http' && route.name === undefined);
  const indexClaim = Object.keys(readClaims(vs)).find((key) => key.startsWith('http/#'));
  if (unnamed !== undefined || indexClaim !== undefined) {
    const which = unnamed === undefined ? 'a Rollout manages an http route by its index' : `http route #${unnamed.index} has no name`;
    return {
      reason: 'UnnamedRoute',
      message: `VirtualService ${name}: ${which}; header and mirror routes are inserted at the top of spec.http, which moves every route below, ` +
        'so every route a Rollout manages must have a name: give it one (and name it in spec.trafficRouting.virtualService.routes)',
    };
  }
  return undefined;
}

/**
 * The write that makes the header and mirror routes what `desired` says: in the first VirtualService,
 * then in each other one whose http routes take weights, one VirtualService per decision.
 */
export function stepRoutesWrite(ctx: RoutedContext, desired: readonly ManagedRouteStatus[]): SetManagedRoutesAction | undefined {
  const weight = ctx.canaryWeight ?? ctx.status.canaryWeight ?? 0;
  const first = { virtualService: ctx.virtualService, routes: ctx.routes, stepRoutes: ctx.stepRoutes, routing: ctx.spec.trafficRouting };
  const others = ctx.otherTargets.filter((target) => target.stepRoutes.size > 0 || target.routes.some((route) => (route.kind ?? 'http') === 'http'));
  for (const target of [first, ...others]) {
    const destinations = trackDestinations(target.routes, target.routing);
    const routes = desired.map((route) => istioRoute(route, destinations, weight));
    const ops = planManagedRoutes(target.virtualService, routes, (name) => target.stepRoutes.has(name));
    if (ops.length === 0) continue;
    const name = target.virtualService.metadata.name;
    const message = desired.length === 0
      ? `VirtualService ${name}: removing the header and mirror routes (${[...target.stepRoutes].join(', ')})`
      : `VirtualService ${name}: ${describeManagedRoutes(desired)} above the other routes`;
    return {
      kind: 'setManagedRoutes',
      reason: desired.length === 0 ? 'ManagedRoutesRemoved' : 'ManagedRoutesSet',
      message,
      virtualService: name,
      ...outsideNamespace(ctx, target.virtualService),
      routes: desired.map((route) => route.name),
      patch: [...claimGuard(target.virtualService), ...ops],
    };
  }
  return undefined;
}

/** Status says which routes are in place once they are (bookkeeping: the write's Event told it). */
export function stepRoutesRecord(ctx: DecideContext, desired: readonly ManagedRouteStatus[]): UpdateStatusAction | undefined {
  const recorded = ctx.status.managedRoutes ?? [];
  if (canonicalJson(recorded) === canonicalJson(desired)) return undefined;
  const { managedRoutes: _old, ...kept } = ctx.status;
  return recordStatus('ManagedRoutesRecorded', describeManagedRoutes(desired), desired.length === 0 ? kept : { ...kept, managedRoutes: [...desired] });
}

/** `{ namespace }` for a VirtualService outside the Rollout's namespace, else nothing. */
export function outsideNamespace(ctx: DecideContext, vs: VirtualService): { namespace?: string } {
  const namespace = vs.metadata.namespace;
  return namespace === undefined || namespace === ctx.rollout.metadata.namespace ? {} : { namespace };
}
