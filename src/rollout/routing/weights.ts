// Reading and writing the canary weight in the VirtualService. A weight write is an RFC 6902
// patch that changes only the weights of the managed routes, each guarded by `test` ops on the
// value it replaces and on the destination's subset: if anyone reordered or edited the routes
// since we read them, the API server refuses the patch (422) and we decide again on fresh data.
// Everything else in the route (match, retries, fault, timeout, headers) is never written.
import type { Operation } from 'rfc6902';
import type { ResolvedTrafficRouting, ResolvedVirtualServiceRef } from '../defaults.ts';
import type { HttpRoute, HttpRouteDestination, IstioDestination, L4Route, TcpRouteRef, TlsRouteRef, Track, VirtualService } from '../types.ts';

export interface DestinationSlot {
  index: number;
  /** As written; Istio reads a missing weight as 100 for a lone destination and 0 otherwise. */
  weight: number | undefined;
  destination: IstioDestination;
}

/** The VirtualService lists a route can be in: spec.http, spec.tcp, spec.tls. */
export const ROUTE_KINDS = ['http', 'tcp', 'tls'] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

export interface ManagedRoute {
  /** Absent: http (the only kind header and mirror routes, and names, exist for). */
  kind?: RouteKind;
  index: number;
  name?: string;
  /** tcp and tls routes have no name: their match as read guards every write instead. */
  match?: unknown;
  stable?: DestinationSlot;
  canary?: DestinationSlot;
  destinations: HttpRouteDestination[];
}

export type RoutingProblemReason = 'RouteNotFound' | 'NoManagedRoutes' | 'UnsupportedRoute';

export type RouteResolution =
  | { ok: true; routes: ManagedRoute[] }
  | { ok: false; reason: RoutingProblemReason; message: string };

/**
 * A host as istiod completes it, seen from `namespace`: "reviews" is reviews.<namespace>.svc.cluster.local,
 * "reviews.prod" and "reviews.prod.svc" are in prod; anything else (an external name) is as written.
 */
export function qualifiedHost(host: string, namespace: string): string {
  if (host.endsWith('.svc.cluster.local')) return host;
  const parts = host.split('.');
  if (parts.length === 1) return `${host}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${host}.svc.cluster.local`;
  if (parts.length === 3 && parts[2] === 'svc') return `${host}.cluster.local`;
  return host;
}

/** "reviews" in namespace "prod" is also written reviews.prod, reviews.prod.svc, reviews.prod.svc.cluster.local. */
export function hostMatches(written: string | undefined, host: string, namespace: string): boolean {
  if (written === undefined) return false;
  return written === host || qualifiedHost(written, namespace) === qualifiedHost(host, namespace);
}

/**
 * The routing as a VirtualService in `vsNamespace` reads it: a short host there means a Service of
 * that namespace, so the Rollout's host is compared fully qualified from its own namespace.
 */
export function routingFrom(routing: ResolvedTrafficRouting, rolloutNamespace: string, vsNamespace: string): ResolvedTrafficRouting {
  return vsNamespace === rolloutNamespace ? routing : { ...routing, host: qualifiedHost(routing.host, rolloutNamespace) };
}

export function routeList(vs: VirtualService, kind: RouteKind): (HttpRoute | L4Route)[] {
  const list = vs.spec?.[kind];
  return Array.isArray(list) ? list : [];
}

/** The ports of a tcp or tls route's match entries, and the SNI hosts of all of them. */
function l4Match(route: L4Route): { ports: Set<number | undefined>; sniHosts: Set<string> } {
  const match = Array.isArray(route.match) ? route.match : [];
  return { ports: new Set(match.map((entry) => entry?.port)), sniHosts: new Set(match.flatMap((entry) => entry?.sniHosts ?? [])) };
}

function describeMatch(route: L4Route, kind: 'tcp' | 'tls'): string {
  const { ports, sniHosts } = l4Match(route);
  const port = ports.size === 1 && [...ports][0] !== undefined ? `port ${[...ports][0]}` : ports.size === 0 ? 'no match' : `ports ${[...ports].map(String).join(', ')}`;
  return kind === 'tls' ? `${port}, sniHosts ${[...sniHosts].join(', ') || 'none'}` : port;
}

export function describeRoute(route: HttpRoute | L4Route, index: number, kind: RouteKind = 'http'): string {
  if (kind !== 'http') return `${kind} route #${index} (${describeMatch(route, kind)})`;
  return route.name === undefined ? `http route #${index}` : `http route "${String(route.name)}" (#${index})`;
}

/** A tcp route matches a port when each of its match entries names that port and no other (as Argo Rollouts reads tcpRoutes). */
export function tcpRouteMatches(route: L4Route, ref: TcpRouteRef): boolean {
  const { ports } = l4Match(route);
  return ports.size === 1 && ports.has(ref.port);
}

/** A tls route matches when its entries name that one port and, together, exactly those SNI hosts. */
export function tlsRouteMatches(route: L4Route, ref: TlsRouteRef): boolean {
  const { ports, sniHosts } = l4Match(route);
  return ports.size === 1 && ports.has(ref.port) && sniHosts.size === new Set(ref.sniHosts).size && ref.sniHosts.every((host) => sniHosts.has(host));
}

export function inspectRoute(route: HttpRoute | L4Route, index: number, routing: ResolvedTrafficRouting, namespace: string, kind: RouteKind = 'http'): ManagedRoute | string {
  const { stableSubset, canarySubset } = routing.destinationRule;
  const destinations = route.route ?? [];
  const managed: ManagedRoute = kind === 'http'
    ? { index, ...(route.name === undefined ? {} : { name: route.name as string }), destinations }
    : { kind, index, match: route.match, destinations };
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
      return `${describeRoute(route, index, kind)} also sends to ${destination?.host ?? '?'} subset ${destination?.subset ?? '(none)'}; a managed route may only send to the ${stableSubset} and ${canarySubset} subsets of ${routing.host}, so that their weights sum to 100`;
    }
    if (managed[track] !== undefined) return `${describeRoute(route, index, kind)} sends to subset ${destination.subset} twice`;
    managed[track] = { index: slotIndex, weight: entry.weight, destination };
  }
  if (managed.stable === undefined && managed.canary === undefined) {
    return `${describeRoute(route, index, kind)} has no destination for host ${routing.host}`;
  }
  return managed;
}

export function sendsToBothSubsets(route: HttpRoute | L4Route, routing: ResolvedTrafficRouting, namespace: string): boolean {
  const subsets = (route.route ?? [])
    .filter((entry) => hostMatches(entry.destination?.host, routing.host, namespace))
    .map((entry) => entry.destination.subset);
  return subsets.includes(routing.destinationRule.stableSubset) && subsets.includes(routing.destinationRule.canarySubset);
}

type Candidates = { ok: true; found: [HttpRoute | L4Route, number][] } | { ok: false; message: string };

function namedHttpRoutes(vs: VirtualService, names: readonly string[], field: string): Candidates {
  const http = routeList(vs, 'http') as HttpRoute[];
  const found: [HttpRoute, number][] = [];
  for (const name of names) {
    const index = http.findIndex((route) => route.name === name);
    const route = http[index];
    if (route === undefined) {
      const known = http.map((r) => r.name).filter((n) => n !== undefined);
      return { ok: false, message: `VirtualService ${vs.metadata.name} has no http route named "${name}" (named routes: ${known.length === 0 ? 'none' : known.join(', ')}); fix ${field}.routes` };
    }
    found.push([route, index]);
  }
  return { ok: true, found };
}

/** Every route of the kind that each entry matches; an entry that matches none is named, never skipped. */
function matchedL4Routes<R extends TcpRouteRef | TlsRouteRef>(
  vs: VirtualService, kind: 'tcp' | 'tls', refs: readonly R[], matches: (route: L4Route, ref: R) => boolean, field: string,
): Candidates {
  const routes = routeList(vs, kind) as L4Route[];
  const found = new Map<number, L4Route>();
  for (const ref of refs) {
    const hits = routes.flatMap((route, index) => (matches(route, ref) ? [index] : []));
    if (hits.length === 0) {
      const wanted = kind === 'tls' ? `port ${ref.port} and sniHosts ${(ref as TlsRouteRef).sniHosts.join(', ')}` : `port ${ref.port}`;
      const known = routes.map((route, index) => describeRoute(route, index, kind));
      return {
        ok: false,
        message: `VirtualService ${vs.metadata.name} has no ${kind} route matching ${wanted} (${kind} routes: ${known.length === 0 ? 'none' : known.join('; ')}); fix ${field}.${kind}Routes`,
      };
    }
    for (const index of hits) found.set(index, routes[index]!);
  }
  return { ok: true, found: [...found.entries()].sort(([a], [b]) => a - b).map(([index, route]) => [route, index]) };
}

/**
 * The routes whose weights this Rollout owns in one VirtualService, kind by kind: the http routes
 * named in `routes`, the tcp and tls routes that `tcpRoutes` and `tlsRoutes` match; for a kind with
 * nothing named, every route of that kind that sends to both subsets of the host (a route that
 * sends only to one subset, such as a header match pinning testers to the canary, is left alone).
 * Header and mirror routes (`managed`, by name) are never among them: managed-routes.ts adds them.
 */
export function resolveManagedRoutes(
  vs: VirtualService, routing: ResolvedTrafficRouting, namespace: string, managed: ReadonlySet<string> = new Set(routing.managedRoutes),
  ref: ResolvedVirtualServiceRef = routing.virtualService, field = 'spec.trafficRouting.virtualService',
): RouteResolution {
  const candidates: [HttpRoute | L4Route, number, RouteKind][] = [];
  const named: Record<RouteKind, Candidates | undefined> = {
    http: ref.routes.length > 0 ? namedHttpRoutes(vs, ref.routes, field) : undefined,
    tcp: ref.tcpRoutes.length > 0 ? matchedL4Routes(vs, 'tcp', ref.tcpRoutes, tcpRouteMatches, field) : undefined,
    tls: ref.tlsRoutes.length > 0 ? matchedL4Routes(vs, 'tls', ref.tlsRoutes, tlsRouteMatches, field) : undefined,
  };
  for (const kind of ROUTE_KINDS) {
    const chosen = named[kind];
    if (chosen !== undefined && !chosen.ok) return { ok: false, reason: 'RouteNotFound', message: chosen.message };
    if (chosen !== undefined) {
      candidates.push(...chosen.found.map(([route, index]): [HttpRoute | L4Route, number, RouteKind] => [route, index, kind]));
      continue;
    }
    routeList(vs, kind).forEach((route, index) => {
      if (kind === 'http' && typeof route.name === 'string' && managed.has(route.name)) return;
      if (sendsToBothSubsets(route, routing, namespace)) candidates.push([route, index, kind]);
    });
  }
  if (candidates.length === 0) {
    const { stableSubset, canarySubset } = routing.destinationRule;
    return {
      ok: false,
      reason: 'NoManagedRoutes',
      message: `VirtualService ${vs.metadata.name} has no http, tcp or tls route that sends to both subsets ${stableSubset} and ${canarySubset} of host ${routing.host}; add both destinations to the route to manage, or name it in ${field}.routes (tcpRoutes, tlsRoutes)`,
    };
  }
  const routes: ManagedRoute[] = [];
  for (const [route, index, kind] of candidates) {
    const inspected = inspectRoute(route, index, routing, namespace, kind);
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
  const base = `/spec/${route.kind ?? 'http'}/${route.index}`;
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
  const guards: Operation[] = route.name !== undefined
    ? [{ op: 'test', path: `${base}/name`, value: route.name }]
    : route.kind !== undefined && route.kind !== 'http' && route.match !== undefined ? [{ op: 'test', path: `${base}/match`, value: route.match }] : [];
  // Appending shifts nothing, but a concurrent append would: guard with the whole list.
  if (appended.length > 0) guards.push({ op: 'test', path: `${base}/route`, value: route.destinations });
  return [...guards, ...changes, ...appended.map((value): Operation => ({ op: 'add', path: `${base}/route/-`, value }))];
}

/** The guarded patch that makes every managed route send canaryWeight% to canary and the rest to stable. */
export function buildWeightPatch(routes: readonly ManagedRoute[], routing: ResolvedTrafficRouting, canaryWeight: number): Operation[] {
  return routes.flatMap((route) => routeOps(route, routing, canaryWeight));
}
