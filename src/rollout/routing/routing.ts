// The traffic objects a Rollout needs before it may touch anything: the VirtualServices with their
// managed routes and the DestinationRule for the same host. A missing or unusable one stops the
// Rollout with a condition that says what to create or fix; nothing is written meanwhile.
import type { Operation } from 'rfc6902';
import { CLAIMS_ANNOTATION, claimOwner, describePart, planClaims, routeClaimKey, subsetClaimKeys, type ClaimConflict, type ClaimWrite, type RoutingPlural } from './claims.ts';
import { CONDITION, type ConditionUpdate } from '../conditions.ts';
import type { DecideContext, RouteTarget, RoutedContext } from '../state.ts';
import { deploymentReadiness, desiredReplicas, podSelector, revisionLabels } from '../deployments/deployments.ts';
import { planSubsets, type SubsetLabels } from './subsets.ts';
import { virtualServiceNamespace, type ResolvedTrafficRouting } from '../defaults.ts';
import { describeScope, exportScope, visibleIn, withNamespace } from '../../mesh/export-to.ts';
import type { DestinationRule, ManagedRouteStatus, Track, VirtualService } from '../types.ts';
import { ownStepRoutes, stepRouteProblem, stepRouteWeights } from './step-routes.ts';
import { describeRoute, hostMatches, impliedWeight, observedCanaryWeight, resolveManagedRoutes, ROUTE_KINDS, routeList, routingFrom, type ManagedRoute } from './weights.ts';

export type RoutingResolution =
  | { ok: true; routed: RoutedContext; claimWrites: ClaimWrite[]; subsetPatch: Operation[]; pendingSubsets: Track[] }
  | { ok: false; condition: ConditionUpdate };

function problem(reason: string, message: string): Extract<RoutingResolution, { ok: false }> {
  return { ok: false, condition: { type: CONDITION.trafficRoutingReady, status: 'False', reason, message: `${message}; nothing is changed until then` } };
}

/** `desired`: the header and mirror routes the Rollout's state wants in place (step-routes.ts). */
export function resolveRouting(ctx: DecideContext, desired: readonly ManagedRouteStatus[] = []): RoutingResolution {
  const { namespace } = ctx.rollout.metadata;
  const routing = ctx.spec.trafficRouting;
  const { virtualService, destinationRule } = ctx.observed;
  const field = (index: number) => (ctx.rollout.spec.trafficRouting.virtualServices === undefined ? 'spec.trafficRouting.virtualService' : `spec.trafficRouting.virtualServices[${index}]`);
  const primaryNamespace = virtualServiceNamespace(routing.virtualService, namespace);
  if (virtualService === undefined) {
    return problem(
      'VirtualServiceNotFound',
      `VirtualService ${routing.virtualService.name} not found in namespace ${primaryNamespace}: create it with a route to host ${routing.host}, or fix ${field(0)}`,
    );
  }
  if (destinationRule === undefined) {
    return problem(
      'DestinationRuleNotFound',
      `DestinationRule ${routing.destinationRule.name} not found in namespace ${namespace}: create it for host ${routing.host} (the controller adds the ${routing.destinationRule.stableSubset} and ${routing.destinationRule.canarySubset} subsets), or fix spec.trafficRouting.destinationRule.name`,
    );
  }
  const drHost = destinationRule.spec?.host;
  if (drHost !== undefined && !hostMatches(drHost, routing.host, namespace)) {
    return problem(
      'DestinationRuleHostMismatch',
      `DestinationRule ${destinationRule.metadata.name} is for host ${drHost}, not ${routing.host}: point spec.trafficRouting at the DestinationRule of ${routing.host}`,
    );
  }
  const primaryRouting = routingFrom(routing, namespace, primaryNamespace);
  const stepRoutes = ownStepRoutes(ctx, virtualService);
  const resolution = resolveManagedRoutes(virtualService, primaryRouting, primaryNamespace, new Set([...routing.managedRoutes, ...stepRoutes]), routing.virtualService, field(0));
  if (!resolution.ok) return problem(resolution.reason, resolution.message);
  const stepProblem = stepRouteProblem(routing.managedRoutes, virtualService, resolution.routes, stepRoutes);
  if (stepProblem !== undefined) return problem(stepProblem.reason, stepProblem.message);
  const routes = [...resolution.routes, ...stepRouteWeights(virtualService, primaryRouting, primaryNamespace, stepRoutes)];
  const pinned = canaryPinnedRoute(virtualService, routes, primaryRouting, primaryNamespace, stepRoutes);
  if (pinned !== undefined) return problem('CanaryPinnedRoute', pinned);
  const others = resolveOtherTargets(ctx, field);
  if (!others.ok) return others;
  const { stableSubset, canarySubset } = routing.destinationRule;
  const exported = exportProblem(destinationRule, [virtualService, ...others.targets.map((target) => target.virtualService)], namespace, [stableSubset, canarySubset]);
  if (exported !== undefined) return problem('DestinationRuleNotExported', exported);
  const claimWrites: ClaimWrite[] = [];
  const stepRouteKeys = [...new Set([...desired.map((route) => route.name), ...stepRoutes])].map((name) => routeClaimKey({ name, index: -1 }));
  const owned: [RoutingPlural, VirtualService | DestinationRule, string[]][] = [
    ['virtualservices', virtualService, [...new Set([...routes.map(routeClaimKey), ...stepRouteKeys])]],
    ...others.targets.map((target): [RoutingPlural, VirtualService, string[]] => {
      const stepKeys = takesStepRoutes(target.routes, target.stepRoutes)
        ? [...new Set([...desired.map((route) => route.name), ...target.stepRoutes])].map((name) => routeClaimKey({ name, index: -1 }))
        : [];
      return ['virtualservices', target.virtualService, [...new Set([...target.routes.map(routeClaimKey), ...stepKeys])]];
    }),
    ['destinationrules', destinationRule, subsetClaimKeys(routing)],
  ];
  for (const [plural, object, wanted] of owned) {
    const objectNamespace = object.metadata.namespace ?? namespace;
    const plan = planClaims(object, plural, claimOwner(ctx.rollout, objectNamespace), wanted, ctx.observed.claimants ?? {});
    if (!plan.ok) return problem('RouteOwnedByAnotherRollout', claimedMessage(plural, object.metadata.name, plan.conflict));
    if (plan.patch.length > 0) {
      const where = objectNamespace === namespace ? {} : { namespace: objectNamespace };
      claimWrites.push({ plural, name: object.metadata.name, ...where, patch: plan.patch, tookOver: plan.tookOver, released: plan.released });
    }
  }
  const allRoutes = [...routes, ...others.targets.flatMap((target) => target.routes)];
  const routed: RoutedContext = { ...ctx, virtualService, routes, otherTargets: others.targets, canaryWeight: observedCanaryWeight(allRoutes), stepRoutes };
  const sources: [VirtualService, ResolvedTrafficRouting, string][] = [
    [virtualService, primaryRouting, primaryNamespace], ...others.targets.map((t): [VirtualService, ResolvedTrafficRouting, string] => [t.virtualService, t.routing, t.namespace]),
  ];
  const mayRepoint = (track: Track) => trackAvailable(ctx, track) || sources.every(([vs, scoped, ns]) => subsetWeight(vs, scoped, ns, track) === 0);
  const plan = planSubsets(destinationRule, routing, subsetLabels(ctx), mayRepoint);
  return { ok: true, routed, claimWrites, subsetPatch: plan.patch, pendingSubsets: plan.pending };
}

/** The VirtualServices listed after the first, each found and usable, or the problem with the first that is not. */
function resolveOtherTargets(ctx: DecideContext, field: (index: number) => string): { ok: true; targets: RouteTarget[] } | Extract<RoutingResolution, { ok: false }> {
  const { namespace } = ctx.rollout.metadata;
  const routing = ctx.spec.trafficRouting;
  const targets: RouteTarget[] = [];
  for (const [offset, ref] of routing.virtualServices.slice(1).entries()) {
    const index = offset + 1;
    const vsNamespace = virtualServiceNamespace(ref, namespace);
    const vs = ctx.observed.otherVirtualServices?.[offset];
    if (vs === undefined) {
      return problem('VirtualServiceNotFound', `VirtualService ${ref.name} not found in namespace ${vsNamespace}: create it with a route to host ${routing.host}, or fix ${field(index)}`);
    }
    const scoped = routingFrom(routing, namespace, vsNamespace);
    const stepRoutes = ownStepRoutes(ctx, vs);
    const resolution = resolveManagedRoutes(vs, scoped, vsNamespace, new Set([...routing.managedRoutes, ...stepRoutes]), ref, field(index));
    if (!resolution.ok) return problem(resolution.reason, resolution.message);
    // Header and mirror routes go to every VirtualService whose http routes take weights (as in Argo Rollouts).
    if (takesStepRoutes(resolution.routes, stepRoutes)) {
      const stepProblem = stepRouteProblem(routing.managedRoutes, vs, resolution.routes, stepRoutes);
      if (stepProblem !== undefined) return problem(stepProblem.reason, stepProblem.message);
    }
    const routes = [...resolution.routes, ...stepRouteWeights(vs, scoped, vsNamespace, stepRoutes)];
    const pinned = canaryPinnedRoute(vs, routes, scoped, vsNamespace, stepRoutes);
    if (pinned !== undefined) return problem('CanaryPinnedRoute', pinned);
    targets.push({ ref, namespace: vsNamespace, virtualService: vs, routes, routing: scoped, stepRoutes });
  }
  return { ok: true, targets };
}

/** A VirtualService takes the header and mirror routes when it has http routes that take weights (or has such routes of ours still). */
export function takesStepRoutes(routes: readonly ManagedRoute[], stepRoutes: ReadonlySet<string>): boolean {
  return stepRoutes.size > 0 || routes.some((route) => (route.kind ?? 'http') === 'http');
}

/**
 * A VirtualService of another namespace sends to the DestinationRule's subsets; a proxy that sees
 * the VirtualService but not the DestinationRule has no such subset and fails every request it
 * routes there (503, NR). So the DestinationRule must be exported wherever each VirtualService is.
 */
export function exportProblem(
  destinationRule: DestinationRule, virtualServices: readonly VirtualService[], rolloutNamespace: string, subsets: readonly string[] = ['stable', 'canary'],
): string | undefined {
  const ruleScope = exportScope(exportToOf(destinationRule), rolloutNamespace);
  for (const vs of virtualServices) {
    const vsNamespace = vs.metadata.namespace ?? rolloutNamespace;
    if (vsNamespace === rolloutNamespace) continue;
    const vsScope = withNamespace(exportScope(exportToOf(vs), vsNamespace), vsNamespace);
    const hidden = ruleScope.all ? [] : vsScope.all ? ['every namespace'] : [...vsScope.namespaces].filter((ns) => !visibleIn(ruleScope, ns));
    if (hidden.length === 0) continue;
    return (
      `VirtualService ${vsNamespace}/${vs.metadata.name} is seen from ${describeScope(vsScope)}, but DestinationRule ${destinationRule.metadata.name} (exportTo: ${describeScope(ruleScope)}) is not seen from ${hidden.join(', ')}: ` +
      `proxies there would find no ${subsets.join(' or ')} subset and fail those requests. Add those namespaces to the DestinationRule's spec.exportTo, or narrow the VirtualService's`
    );
  }
  return undefined;
}

function exportToOf(object: VirtualService | DestinationRule): readonly unknown[] | undefined {
  const value = (object.spec as { exportTo?: unknown } | undefined)?.exportTo;
  return Array.isArray(value) ? value : undefined;
}


function claimedMessage(plural: RoutingPlural, name: string, conflict: ClaimConflict): string {
  const kind = plural === 'virtualservices' ? 'VirtualService' : 'DestinationRule';
  return (
    `${kind} ${name}: ${describePart(conflict.key)} is managed by Rollout ${conflict.owner} (annotation ${CLAIMS_ANNOTATION}); ` +
    `two Rollouts on one route would take turns rewriting it. Point spec.trafficRouting at a route and subsets of this Rollout's own, ` +
    `or delete one of the two Rollouts (the survivor takes the route over)`
  );
}

/**
 * Each subset selects its role's pods; the canary subset, outside a rollout (or before the
 * canary's Deployment exists), selects stable's, so that it is never a subset without pods.
 */
export function subsetLabels(ctx: DecideContext): SubsetLabels {
  const { stableDeployment: stable, canaryDeployment: canary } = ctx.observed;
  const stableLabels = stable === undefined ? revisionLabels(ctx.spec, ctx.status.stableRevision ?? ctx.revision) : podSelector(stable);
  return { stable: stableLabels, canary: canary === undefined ? stableLabels : podSelector(canary) };
}

/** Our Deployment of the track exists, is ours and has every pod available: a subset may select it. */
function trackAvailable(ctx: DecideContext, track: Track): boolean {
  const deployment = track === 'stable' ? ctx.observed.stableDeployment : ctx.observed.canaryDeployment;
  return deployment !== undefined && desiredReplicas(deployment) > 0 && deploymentReadiness(deployment).ready;
}

/** The weight any route of the VirtualService sends to the track's subset (a lone destination without weight takes 100). */
function subsetWeight(vs: VirtualService, routing: ResolvedTrafficRouting, namespace: string, track: Track): number {
  const subset = track === 'stable' ? routing.destinationRule.stableSubset : routing.destinationRule.canarySubset;
  let total = 0;
  for (const route of ROUTE_KINDS.flatMap((kind) => routeList(vs, kind))) {
    const destinations = route.route ?? [];
    for (const entry of destinations) {
      if (!hostMatches(entry.destination?.host, routing.host, namespace) || entry.destination.subset !== subset) continue;
      total += impliedWeight(entry.weight, destinations.length);
    }
  }
  return total;
}

/**
 * A route this Rollout does not manage but that sends traffic to the canary subset (the article's
 * "beta users go to canary" route) points at zero pods whenever no rollout runs: a 503 for those
 * users between rollouts, with nothing in any log. Such a VirtualService is refused rather than
 * rewritten: the controller never changes the destinations of routes it does not own.
 * `switchboard analyze` reports the same check (SB0807) before anything is applied.
 */
export function canaryPinnedRoute(
  vs: VirtualService, managed: readonly ManagedRoute[], routing: ResolvedTrafficRouting, namespace: string, stepRoutes: ReadonlySet<string> = new Set(),
): string | undefined {
  const managedIndexes = new Set(managed.map((route) => `${route.kind ?? 'http'}/${route.index}`));
  const { canarySubset, stableSubset } = routing.destinationRule;
  for (const [kind, index, route] of ROUTE_KINDS.flatMap((kind) => routeList(vs, kind).map((route, index) => [kind, index, route] as const))) {
    if (managedIndexes.has(`${kind}/${index}`) || (kind === 'http' && typeof route.name === 'string' && stepRoutes.has(route.name))) continue;
    const destinations = route.route ?? [];
    const toCanary = destinations.find((entry) => hostMatches(entry.destination?.host, routing.host, namespace) && entry.destination.subset === canarySubset);
    if (toCanary === undefined) continue;
    const weight = impliedWeight(toCanary.weight, destinations.length);
    if (weight === 0) continue;
    return (
      `VirtualService ${vs.metadata.name}: ${describeRoute(route, index, kind)} sends ${weight}% to subset ${canarySubset}, which has no pods outside a rollout, so its requests would fail with 503; ` +
      `send that route to subset ${stableSubset} (or to both, and name it in spec.trafficRouting.virtualService.routes, tcpRoutes or tlsRoutes so that its weights move with the rollout)`
    );
  }
  return undefined;
}

/**
 * On deletion, the other listed VirtualServices whose routes can be read and are this Rollout's:
 * their weights go back to stable with the first's. One gone or unusable needs nothing.
 */
export function restorableTargets(ctx: DecideContext): RouteTarget[] {
  const { namespace } = ctx.rollout.metadata;
  const routing = ctx.spec.trafficRouting;
  return routing.virtualServices.slice(1).flatMap((ref, offset) => {
    const vs = ctx.observed.otherVirtualServices?.[offset];
    if (vs === undefined) return [];
    const vsNamespace = virtualServiceNamespace(ref, namespace);
    const scoped = routingFrom(routing, namespace, vsNamespace);
    const stepRoutes = ownStepRoutes(ctx, vs);
    const resolution = resolveManagedRoutes(vs, scoped, vsNamespace, new Set([...routing.managedRoutes, ...stepRoutes]), ref);
    const routes = resolution.ok ? resolution.routes : [];
    const ours = resolution.ok && planClaims(vs, 'virtualservices', claimOwner(ctx.rollout, vsNamespace), routes.map(routeClaimKey), ctx.observed.claimants ?? {}).ok;
    if (!ours && stepRoutes.size === 0) return [];
    return [{ ref, namespace: vsNamespace, virtualService: vs, routes: ours ? routes : [], routing: scoped, stepRoutes }];
  });
}
