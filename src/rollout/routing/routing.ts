// The traffic objects a Rollout needs before it may touch anything: the VirtualService with its
// managed routes and the DestinationRule for the same host. A missing or unusable one stops the
// Rollout with a condition that says what to create or fix; nothing is written meanwhile.
import type { Operation } from 'rfc6902';
import { CLAIMS_ANNOTATION, describePart, planClaims, routeClaimKey, subsetClaimKeys, type ClaimConflict, type ClaimWrite, type RoutingPlural } from './claims.ts';
import { CONDITION, type ConditionUpdate } from '../conditions.ts';
import type { DecideContext, RoutedContext } from '../state.ts';
import { deploymentReadiness, desiredReplicas, podSelector, revisionLabels } from '../deployments/deployments.ts';
import { planSubsets, type SubsetLabels } from './subsets.ts';
import type { ResolvedTrafficRouting } from '../defaults.ts';
import type { DestinationRule, ManagedRouteStatus, Track, VirtualService } from '../types.ts';
import { ownStepRoutes, stepRouteProblem, stepRouteWeights } from './step-routes.ts';
import { describeRoute, hostMatches, impliedWeight, observedCanaryWeight, resolveManagedRoutes, type ManagedRoute } from './weights.ts';

export type RoutingResolution =
  | { ok: true; routed: RoutedContext; claimWrites: ClaimWrite[]; subsetPatch: Operation[]; pendingSubsets: Track[] }
  | { ok: false; condition: ConditionUpdate };

function problem(reason: string, message: string): RoutingResolution {
  return { ok: false, condition: { type: CONDITION.trafficRoutingReady, status: 'False', reason, message: `${message}; nothing is changed until then` } };
}

/** `desired`: the header and mirror routes the Rollout's state wants in place (step-routes.ts). */
export function resolveRouting(ctx: DecideContext, desired: readonly ManagedRouteStatus[] = []): RoutingResolution {
  const { namespace } = ctx.rollout.metadata;
  const routing = ctx.spec.trafficRouting;
  const { virtualService, destinationRule } = ctx.observed;
  if (virtualService === undefined) {
    return problem(
      'VirtualServiceNotFound',
      `VirtualService ${routing.virtualService.name} not found in namespace ${namespace}: create it with a route to host ${routing.host}, or fix spec.trafficRouting.virtualService.name`,
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
  const stepRoutes = ownStepRoutes(ctx, virtualService);
  const resolution = resolveManagedRoutes(virtualService, routing, namespace, new Set([...routing.managedRoutes, ...stepRoutes]));
  if (!resolution.ok) return problem(resolution.reason, resolution.message);
  const stepProblem = stepRouteProblem(routing.managedRoutes, virtualService, resolution.routes, stepRoutes);
  if (stepProblem !== undefined) return problem(stepProblem.reason, stepProblem.message);
  const routes = [...resolution.routes, ...stepRouteWeights(virtualService, routing, namespace, stepRoutes)];
  const pinned = canaryPinnedRoute(virtualService, routes, routing, namespace, stepRoutes);
  if (pinned !== undefined) return problem('CanaryPinnedRoute', pinned);
  const claimWrites: ClaimWrite[] = [];
  const stepRouteKeys = [...new Set([...desired.map((route) => route.name), ...stepRoutes])].map((name) => routeClaimKey({ name, index: -1 }));
  const owned: [RoutingPlural, VirtualService | DestinationRule, string[]][] = [
    ['virtualservices', virtualService, [...new Set([...routes.map(routeClaimKey), ...stepRouteKeys])]],
    ['destinationrules', destinationRule, subsetClaimKeys(routing)],
  ];
  for (const [plural, object, wanted] of owned) {
    const plan = planClaims(object, plural, ctx.rollout.metadata.name, wanted, ctx.observed.claimants ?? {});
    if (!plan.ok) return problem('RouteOwnedByAnotherRollout', claimedMessage(plural, object.metadata.name, plan.conflict));
    if (plan.patch.length > 0) claimWrites.push({ plural, name: object.metadata.name, patch: plan.patch, tookOver: plan.tookOver, released: plan.released });
  }
  const routed: RoutedContext = { ...ctx, virtualService, routes, canaryWeight: observedCanaryWeight(routes), stepRoutes };
  const mayRepoint = (track: Track) => trackAvailable(ctx, track) || subsetWeight(virtualService, routing, namespace, track) === 0;
  const plan = planSubsets(destinationRule, routing, subsetLabels(ctx), mayRepoint);
  return { ok: true, routed, claimWrites, subsetPatch: plan.patch, pendingSubsets: plan.pending };
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

/** The weight any http route of the VirtualService sends to the track's subset (a lone destination without weight takes 100). */
function subsetWeight(vs: VirtualService, routing: ResolvedTrafficRouting, namespace: string, track: Track): number {
  const subset = track === 'stable' ? routing.destinationRule.stableSubset : routing.destinationRule.canarySubset;
  let total = 0;
  for (const route of vs.spec?.http ?? []) {
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
  const managedIndexes = new Set(managed.map((route) => route.index));
  const { canarySubset, stableSubset } = routing.destinationRule;
  for (const [index, route] of (vs.spec?.http ?? []).entries()) {
    if (managedIndexes.has(index) || (route.name !== undefined && stepRoutes.has(route.name))) continue;
    const destinations = route.route ?? [];
    const toCanary = destinations.find((entry) => hostMatches(entry.destination?.host, routing.host, namespace) && entry.destination.subset === canarySubset);
    if (toCanary === undefined) continue;
    const weight = impliedWeight(toCanary.weight, destinations.length);
    if (weight === 0) continue;
    return (
      `VirtualService ${vs.metadata.name}: ${describeRoute(route, index)} sends ${weight}% to subset ${canarySubset}, which has no pods outside a rollout, so its requests would fail with 503; ` +
      `send that route to subset ${stableSubset} (or to both, and name it in spec.trafficRouting.virtualService.routes so that its weights move with the rollout)`
    );
  }
  return undefined;
}
