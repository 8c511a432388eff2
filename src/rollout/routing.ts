// The traffic objects a Rollout needs before it may touch anything: the VirtualService with its
// managed routes and the DestinationRule for the same host. A missing or unusable one stops the
// Rollout with a condition that says what to create or fix; nothing is written meanwhile.
import type { Operation } from 'rfc6902';
import { CONDITION, type ConditionUpdate } from './conditions.ts';
import type { DecideContext, RoutedContext } from './state.ts';
import { buildSubsetPatch } from './subsets.ts';
import { hostMatches, observedCanaryWeight, resolveManagedRoutes } from './weights.ts';

export type RoutingResolution =
  | { ok: true; routed: RoutedContext; subsetPatch: Operation[] }
  | { ok: false; condition: ConditionUpdate };

function problem(reason: string, message: string): RoutingResolution {
  return { ok: false, condition: { type: CONDITION.trafficRoutingReady, status: 'False', reason, message: `${message}; nothing is changed until then` } };
}

export function resolveRouting(ctx: DecideContext): RoutingResolution {
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
  const resolution = resolveManagedRoutes(virtualService, routing, namespace);
  if (!resolution.ok) return problem(resolution.reason, resolution.message);
  const routed: RoutedContext = { ...ctx, virtualService, routes: resolution.routes, canaryWeight: observedCanaryWeight(resolution.routes) };
  return { ok: true, routed, subsetPatch: buildSubsetPatch(destinationRule, routing, ctx.spec.selector.matchLabels) };
}
