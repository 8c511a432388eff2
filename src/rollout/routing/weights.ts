// Reading and writing the canary weight in the VirtualService. A weight write is an RFC 6902
// patch that changes only the weights of the managed routes, each guarded by `test` ops on the
// value it replaces and on the destination's subset: if anyone reordered or edited the routes
// since we read them, the API server refuses the patch (422) and we decide again on fresh data.
// Everything else in the route (match, retries, fault, timeout, headers) is never written.
import type { Operation } from 'rfc6902';
import type { ResolvedTrafficRouting } from '../defaults.ts';
import type { HttpRoute, HttpRouteDestination, IstioDestination, Track, VirtualService } from '../types.ts';

export interface DestinationSlot {
  index: number;
  /** As written; Istio reads a missing weight as 100 for a lone destination and 0 otherwise. */
  weight: number | undefined;
  destination: IstioDestination;
}

export interface ManagedRoute {
  index: number;
  name?: string;
  stable?: DestinationSlot;
  canary?: DestinationSlot;
  destinations: HttpRouteDestination[];
}

export type RoutingProblemReason = 'RouteNotFound' | 'NoManagedRoutes' | 'UnsupportedRoute';

export type RouteResolution =
  | { ok: true; routes: ManagedRoute[] }
  | { ok: false; reason: RoutingProblemReason; message: string };

/** "reviews" in namespace "prod" is also written reviews.prod, reviews.prod.svc, reviews.prod.svc.cluster.local. */
export function hostMatches(written: string | undefined, host: string, namespace: string): boolean {
  if (written === undefined) return false;
  if (written === host) return true;
  const suffixes = [`.${namespace}`, `.${namespace}.svc`, `.${namespace}.svc.cluster.local`];
  return suffixes.some((suffix) => written === `${host}${suffix}` || `${written}${suffix}` === host);
}

export function describeRoute(route: HttpRoute, index: number): string {
  return route.name === undefined ? `http route #${index}` : `http route "${route.name}" (#${index})`;
}

export function inspectRoute(route: HttpRoute, index: number, routing: ResolvedTrafficRouting, namespace: string): ManagedRoute | string {
  const { stableSubset, canarySubset } = routing.destinationRule;
  const destinations = route.route ?? [];
  const managed: ManagedRoute = { index, ...(route.name === undefined ? {} : { name: route.name }), destinations };
  for (const [slotIndex, entry] of destinations.entries()) {
    const { destination } = entry;
    const track: Track | undefined = !hostMatches(destination?.host, routing.host, namespace)
      ? undefined
      : destination.subset === stableSubset
        ? 'stable'
        : destination.subset === canarySubset
          ? 'canary'
          : undefined;
    if (track === undefined) {
      return `${describeRoute(route, index)} also sends to ${destination?.host ?? '?'} subset ${destination?.subset ?? '(none)'}; a managed route may only send to the ${stableSubset} and ${canarySubset} subsets of ${routing.host}, so that their weights sum to 100`;
    }
    if (managed[track] !== undefined) return `${describeRoute(route, index)} sends to subset ${destination.subset} twice`;
    managed[track] = { index: slotIndex, weight: entry.weight, destination };
  }
  if (managed.stable === undefined && managed.canary === undefined) {
    return `${describeRoute(route, index)} has no destination for host ${routing.host}`;
  }
  return managed;
}

export function sendsToBothSubsets(route: HttpRoute, routing: ResolvedTrafficRouting, namespace: string): boolean {
  const subsets = (route.route ?? [])
    .filter((entry) => hostMatches(entry.destination?.host, routing.host, namespace))
    .map((entry) => entry.destination.subset);
  return subsets.includes(routing.destinationRule.stableSubset) && subsets.includes(routing.destinationRule.canarySubset);
}

/**
 * The routes whose weights this Rollout owns: those named in virtualService.routes, or, when
 * none are named, every http route that sends to both subsets of the host (a route that sends
 * only to one subset, such as a header match pinning testers to the canary, is left alone).
 * Header and mirror routes (`managed`, by name) are never among them: managed-routes.ts adds them.
 */
export function resolveManagedRoutes(
  vs: VirtualService, routing: ResolvedTrafficRouting, namespace: string, managed: ReadonlySet<string> = new Set(routing.managedRoutes),
): RouteResolution {
  const http = vs.spec?.http ?? [];
  const named = routing.virtualService.routes;
  const candidates: [HttpRoute, number][] = [];
  if (named.length > 0) {
    for (const name of named) {
      const index = http.findIndex((route) => route.name === name);
      const route = http[index];
      if (route === undefined) {
        const known = http.map((r) => r.name).filter((n) => n !== undefined);
        return {
          ok: false,
          reason: 'RouteNotFound',
          message: `VirtualService ${vs.metadata.name} has no http route named "${name}" (named routes: ${known.length === 0 ? 'none' : known.join(', ')}); fix spec.trafficRouting.virtualService.routes`,
        };
      }
      candidates.push([route, index]);
    }
  } else {
    http.forEach((route, index) => {
      if (route.name !== undefined && managed.has(route.name)) return;
      if (sendsToBothSubsets(route, routing, namespace)) candidates.push([route, index]);
    });
    if (candidates.length === 0) {
      const { stableSubset, canarySubset } = routing.destinationRule;
      return {
        ok: false,
        reason: 'NoManagedRoutes',
        message: `VirtualService ${vs.metadata.name} has no http route that sends to both subsets ${stableSubset} and ${canarySubset} of host ${routing.host}; add both destinations to the route to manage, or name it in spec.trafficRouting.virtualService.routes`,
      };
    }
  }
  const routes: ManagedRoute[] = [];
  for (const [route, index] of candidates) {
    const inspected = inspectRoute(route, index, routing, namespace);
    if (typeof inspected === 'string') {
      return { ok: false, reason: 'UnsupportedRoute', message: `VirtualService ${vs.metadata.name}: ${inspected}` };
    }
    routes.push(inspected);
  }
  return { ok: true, routes };
}

/** The weight Istio applies to a destination: as written, else 100 for a lone destination and 0 otherwise. */
export function impliedWeight(weight: number | undefined, destinationCount: number): number {
  return weight ?? (destinationCount === 1 ? 100 : 0);
}

export function effectiveWeight(route: ManagedRoute, track: Track): number {
  const slot = route[track];
  if (slot === undefined) return 0;
  return impliedWeight(slot.weight, route.destinations.length);
}

/** The canary weight all managed routes agree on, or undefined when they disagree or do not sum to 100. */
export function observedCanaryWeight(routes: readonly ManagedRoute[]): number | undefined {
  const weights = new Set<number>();
  for (const route of routes) {
    const canary = effectiveWeight(route, 'canary');
    if (canary + effectiveWeight(route, 'stable') !== 100) return undefined;
    weights.add(canary);
  }
  return weights.size === 1 ? [...weights][0] : undefined;
}

function slotOps(base: string, slot: DestinationSlot, weight: number, route: ManagedRoute): Operation[] {
  const implied = slot.weight === undefined && route.destinations.length === 1 && weight === 100;
  if (slot.weight === weight || implied) return [];
  const path = `${base}/route/${slot.index}`;
  const subsetGuard: Operation = { op: 'test', path: `${path}/destination/subset`, value: slot.destination.subset };
  if (slot.weight === undefined) return [subsetGuard, { op: 'add', path: `${path}/weight`, value: weight }];
  return [subsetGuard, { op: 'test', path: `${path}/weight`, value: slot.weight }, { op: 'replace', path: `${path}/weight`, value: weight }];
}

/** Weight ops for one route; a missing destination is appended, guarded by the whole destination list. */
function routeOps(route: ManagedRoute, routing: ResolvedTrafficRouting, canaryWeight: number): Operation[] {
  const base = `/spec/http/${route.index}`;
  const desired: Record<Track, number> = { stable: 100 - canaryWeight, canary: canaryWeight };
  const appended: HttpRouteDestination[] = [];
  const changes: Operation[] = [];
  for (const track of ['stable', 'canary'] as const) {
    const slot = route[track];
    const other = route[track === 'stable' ? 'canary' : 'stable'];
    if (slot !== undefined) changes.push(...slotOps(base, slot, desired[track], route));
    else if (desired[track] > 0 && other !== undefined) {
      const subset = track === 'stable' ? routing.destinationRule.stableSubset : routing.destinationRule.canarySubset;
      appended.push({ destination: { ...other.destination, subset }, weight: desired[track] });
    }
  }
  if (changes.length === 0 && appended.length === 0) return [];
  const guards: Operation[] = route.name === undefined ? [] : [{ op: 'test', path: `${base}/name`, value: route.name }];
  // Appending shifts nothing, but a concurrent append would: guard with the whole list.
  if (appended.length > 0) guards.push({ op: 'test', path: `${base}/route`, value: route.destinations });
  return [...guards, ...changes, ...appended.map((value): Operation => ({ op: 'add', path: `${base}/route/-`, value }))];
}

/** The guarded patch that makes every managed route send canaryWeight% to canary and the rest to stable. */
export function buildWeightPatch(routes: readonly ManagedRoute[], routing: ResolvedTrafficRouting, canaryWeight: number): Operation[] {
  return routes.flatMap((route) => routeOps(route, routing, canaryWeight));
}
