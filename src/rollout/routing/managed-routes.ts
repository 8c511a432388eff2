// Header and mirror routes: http routes that setHeaderRoute and setMirrorRoute steps add at the
// top of the user's VirtualService for the time of a rollout, in the order of
// spec.trafficRouting.managedRoutes, and that go again on promotion, rollback, abort and deletion.
// A route is this Rollout's only while its claims annotation says so (claims.ts): a route of the
// user's that happens to carry one of the names is never rewritten, the Rollout stops and says so.
// Which routes a step leaves in place is a fold over the steps up to it, so a restarted
// controller computes the same set. Every write is guarded by the VirtualService's
// resourceVersion: inserting shifts the index of every route below, so nothing may have moved.
import type { Operation } from 'rfc6902';
import { canonicalJson } from '../revision.ts';
import type { ResolvedTrafficRouting } from '../defaults.ts';
import type {
  HeaderRouteMatch, HttpRoute, IstioDestination, ManagedRouteStatus, MirrorRouteMatch, RolloutStep, StringMatch, VirtualService,
} from '../types.ts';
import type { ManagedRoute } from './weights.ts';

export const DEFAULT_MIRROR_PERCENTAGE = 100;

/** The header and mirror routes in place once the steps up to stepIndex (included) are done, top first. */
export function routesAtStep(steps: readonly RolloutStep[], stepIndex: number, order: readonly string[]): ManagedRouteStatus[] {
  const latest = new Map<string, ManagedRouteStatus | undefined>();
  for (const step of steps.slice(0, stepIndex + 1)) {
    if (step.setHeaderRoute !== undefined) {
      const { name, match } = step.setHeaderRoute;
      latest.set(name, match === undefined || match.length === 0 ? undefined : { name, type: 'Header', match });
    } else if (step.setMirrorRoute !== undefined) {
      const { name, match, percentage } = step.setMirrorRoute;
      const route: ManagedRouteStatus = { name, type: 'Mirror', match: match ?? [], percentage: percentage ?? DEFAULT_MIRROR_PERCENTAGE };
      latest.set(name, match === undefined || match.length === 0 ? undefined : route);
    }
  }
  return order.flatMap((name) => latest.get(name) ?? []);
}

function stringMatch(match: StringMatch): StringMatch {
  if (match.exact !== undefined) return { exact: match.exact };
  if (match.prefix !== undefined) return { prefix: match.prefix };
  return { regex: match.regex ?? '' };
}

function headerMatches(match: readonly HeaderRouteMatch[]): Record<string, unknown>[] {
  return match.map((entry) => ({ headers: { [entry.headerName]: stringMatch(entry.headerValue) } }));
}

function mirrorMatches(match: readonly MirrorRouteMatch[]): Record<string, unknown>[] {
  return match.map((entry) => ({
    ...(entry.method === undefined ? {} : { method: stringMatch(entry.method) }),
    ...(entry.path === undefined ? {} : { uri: stringMatch(entry.path) }),
    ...(entry.headers === undefined
      ? {}
      : { headers: Object.fromEntries(Object.entries(entry.headers).map(([name, value]) => [name, stringMatch(value)])) }),
  }));
}

/** Where the weighted routes send each track (port selector included), as the managed routes must too. */
export interface TrackDestinations {
  stable: IstioDestination;
  canary: IstioDestination;
}

export function trackDestinations(routes: readonly ManagedRoute[], routing: ResolvedTrafficRouting): TrackDestinations {
  // Header and mirror routes are http routes: they send as the weighted http routes do.
  const first = routes.find((route) => (route.kind ?? 'http') === 'http') ?? routes[0];
  const any = first?.stable?.destination ?? first?.canary?.destination ?? { host: routing.host };
  const { stableSubset, canarySubset } = routing.destinationRule;
  return {
    stable: first?.stable?.destination ?? { ...any, subset: stableSubset },
    canary: first?.canary?.destination ?? { ...any, subset: canarySubset },
  };
}

/**
 * The Istio http route for one managed route. A header route sends everything it matches to the
 * canary; a mirror route splits like the weighted routes (its weights move with them) and copies
 * `percentage`% to the canary, whose answers Envoy drops.
 */
export function istioRoute(route: ManagedRouteStatus, destinations: TrackDestinations, canaryWeight: number): HttpRoute {
  if (route.type === 'Header') {
    return { name: route.name, match: headerMatches(route.match as HeaderRouteMatch[]), route: [{ destination: destinations.canary, weight: 100 }] };
  }
  return {
    name: route.name,
    match: mirrorMatches(route.match as MirrorRouteMatch[]),
    route: [
      { destination: destinations.stable, weight: 100 - canaryWeight },
      { destination: destinations.canary, weight: canaryWeight },
    ],
    mirror: destinations.canary,
    mirrorPercentage: { value: route.percentage ?? DEFAULT_MIRROR_PERCENTAGE },
  };
}

/** A route as compared: weights left out, since a mirror route's weights are the weight writes' to move. */
function shape(route: HttpRoute): string {
  return canonicalJson({ ...route, route: (route.route ?? []).map(({ weight: _weight, ...destination }) => destination) });
}

export function sameRoute(a: HttpRoute | undefined, b: HttpRoute): boolean {
  return a !== undefined && shape(a) === shape(b);
}

/**
 * The patch that makes the top of spec.http exactly `desired`: managed routes of ours elsewhere
 * or no longer wanted are removed (bottom first, each guarded by its name), the missing ones
 * inserted in order. [] when the VirtualService already is so.
 */
export function planManagedRoutes(vs: VirtualService, desired: readonly HttpRoute[], ours: (name: string) => boolean): Operation[] {
  const http = vs.spec?.http ?? [];
  let kept = 0;
  while (kept < desired.length && sameRoute(http[kept], desired[kept]!)) kept += 1;
  const removals: Operation[] = [];
  for (let index = http.length - 1; index >= kept; index -= 1) {
    const name = http[index]?.name;
    if (name === undefined || !ours(name)) continue;
    removals.push({ op: 'test', path: `/spec/http/${index}/name`, value: name }, { op: 'remove', path: `/spec/http/${index}` });
  }
  const additions = desired.slice(kept).map((value, offset): Operation => ({ op: 'add', path: `/spec/http/${kept + offset}`, value }));
  if (removals.length === 0 && additions.length === 0) return [];
  const version = vs.metadata.resourceVersion;
  const guard: Operation[] = version === undefined ? [] : [{ op: 'test', path: '/metadata/resourceVersion', value: version }];
  return [...guard, ...removals, ...additions];
}

function stringMatchText(match: StringMatch): string {
  if (match.exact !== undefined) return `= ${match.exact}`;
  if (match.prefix !== undefined) return `starts with ${match.prefix}`;
  return `~ /${match.regex ?? ''}/`;
}

/** "x-canary = yes or cookie ~ /beta/", "method = GET, path starts with /api": what a route matches. */
export function describeMatch(route: Pick<ManagedRouteStatus, 'type' | 'match'>): string {
  if (route.type === 'Header') {
    return (route.match as HeaderRouteMatch[]).map((entry) => `${entry.headerName} ${stringMatchText(entry.headerValue)}`).join(' or ');
  }
  return (route.match as MirrorRouteMatch[])
    .map((entry) => {
      const parts = [
        ...(entry.method === undefined ? [] : [`method ${stringMatchText(entry.method)}`]),
        ...(entry.path === undefined ? [] : [`path ${stringMatchText(entry.path)}`]),
        ...Object.entries(entry.headers ?? {}).map(([name, value]) => `${name} ${stringMatchText(value)}`),
      ];
      return parts.length === 0 ? 'every request' : parts.join(', ');
    })
    .join(' or ');
}

/** "header route canary-testers, mirror route shadow-reads (20%)": the routes as a person reads them. */
export function describeManagedRoutes(routes: readonly ManagedRouteStatus[]): string {
  if (routes.length === 0) return 'no header or mirror routes';
  return routes
    .map((route) => (route.type === 'Header' ? `header route ${route.name}` : `mirror route ${route.name} (${route.percentage ?? DEFAULT_MIRROR_PERCENTAGE}%)`))
    .join(', ');
}
