// How a sidecar's Envoy routes one HTTP request with the config it has applied (sidecar.ts):
// the first route whose match holds, a cluster picked by weight, and the failures Envoy reports
// with a response flag when there is nowhere to send it, or the endpoint picked is gone.
import type { AppliedRoute, AppliedRoutes, HeaderMatch } from './sidecar.ts';

export interface SimulatedRequest {
  path: string;
  /** Lower-case names, as Envoy sees HTTP/2 and normalised HTTP/1 headers. */
  headers: Record<string, string>;
}

export type RoutingOutcome =
  /** `address`: the endpoint picked (ip:port), when the live pods were asked about it. */
  | { kind: 'upstream'; cluster: string; subset: string; host: string; address?: string }
  /** No route matches: 404 with flag NR. */
  | { kind: 'no-route' }
  /** The route's cluster is not in CDS: 503 with flag NC. */
  | { kind: 'no-cluster'; cluster: string }
  /** The cluster has no healthy endpoint: 503 with flag UH ("no healthy upstream"). */
  | { kind: 'no-healthy-upstream'; cluster: string; subset: string; host: string }
  /** The endpoint picked is a pod that is gone (a late proxy still lists it): 503 with flag UF. */
  | { kind: 'upstream-connect-failure'; cluster: string; subset: string; host: string };

/**
 * `random` in [0, 1) picks among weighted clusters, then among healthy endpoints; injectable so
 * that a test can pin it. `isLive` gets an endpoint's address as the sidecar reports it (ip:port).
 */
export function routeRequest(
  config: AppliedRoutes, request: SimulatedRequest, random: () => number = Math.random, isLive?: (address: string) => boolean,
): RoutingOutcome {
  const route = matchedRoute(config, request);
  if (!route || route.clusters.length === 0) return { kind: 'no-route' };
  const clusterName = pickWeighted(route, random);
  const cluster = config.clusters[clusterName];
  if (!cluster?.known) return { kind: 'no-cluster', cluster: clusterName };
  const { subset, host } = parseClusterName(clusterName);
  const healthy = cluster.endpoints.filter((endpoint) => endpoint.healthy);
  if (healthy.length === 0) return { kind: 'no-healthy-upstream', cluster: clusterName, subset, host };
  // Without a view of the pods every endpoint answers, and `random` is drawn as often as before.
  if (!isLive) return { kind: 'upstream', cluster: clusterName, subset, host };
  // EDS marks an endpoint unhealthy only when istiod says so: a pod deleted since the proxy's
  // last applied push still looks healthy here, and no connection to its IP succeeds.
  const endpoint = healthy[Math.min(Math.floor(random() * healthy.length), healthy.length - 1)]!;
  if (!isLive(endpoint.address)) return { kind: 'upstream-connect-failure', cluster: clusterName, subset, host };
  return { kind: 'upstream', cluster: clusterName, subset, host, address: endpoint.address };
}

/** The first route whose match holds, as Envoy picks it. */
export function matchedRoute(config: AppliedRoutes, request: SimulatedRequest): AppliedRoute | undefined {
  return config.routes.find((candidate) => matches(candidate, request));
}

/**
 * The copies Envoy sends for a request its route mirrors (each to a subset, `percent` of the
 * time), whose answers it drops: subsets with a healthy endpoint only, as a shadow to a cluster
 * without one goes nowhere.
 */
export function mirroredSubsets(config: AppliedRoutes, route: AppliedRoute | undefined, random: () => number = Math.random): string[] {
  return (route?.mirrors ?? [])
    .filter((mirror) => random() * 100 < mirror.percent && (config.clusters[mirror.cluster]?.endpoints ?? []).some((endpoint) => endpoint.healthy))
    .map((mirror) => parseClusterName(mirror.cluster).subset);
}

/**
 * Subset → weight of the last route, the catch-all after any header matches: what the
 * VirtualService-reading mode reports as the current weights. A cluster without a subset is "default".
 */
export function catchAllWeights(config: AppliedRoutes): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const cluster of config.routes.at(-1)?.clusters ?? []) {
    const { subset } = parseClusterName(cluster.name);
    weights[subset] = (weights[subset] ?? 0) + cluster.weight;
  }
  return weights;
}

/** Istio's outbound cluster names: outbound|<port>|<subset>|<host>. */
export function parseClusterName(name: string): { subset: string; host: string } {
  const [, , subset, host] = name.split('|');
  return { subset: subset || 'default', host: host ?? name };
}

function pickWeighted(route: AppliedRoute, random: () => number): string {
  const total = route.clusters.reduce((sum, cluster) => sum + cluster.weight, 0);
  let pick = random() * total;
  for (const cluster of route.clusters) {
    pick -= cluster.weight;
    if (pick < 0) return cluster.name;
  }
  // Envoy ignores weight-0 clusters; with every weight 0 it would take the first.
  return route.clusters.find((cluster) => cluster.weight > 0)?.name ?? route.clusters[0]!.name;
}

function matches(route: AppliedRoute, request: SimulatedRequest): boolean {
  const { prefix, path, regex, headers } = route.match;
  if (prefix !== undefined && !request.path.startsWith(prefix)) return false;
  if (path !== undefined && request.path !== path) return false;
  if (regex !== undefined && !new RegExp(`^(?:${regex})$`).test(request.path)) return false;
  return (headers ?? []).every((header) => headerMatches(header, request.headers[header.name.toLowerCase()]));
}

function headerMatches(header: HeaderMatch, value: string | undefined): boolean {
  const result = (() => {
    if (header.present !== undefined) return (value !== undefined) === header.present;
    if (value === undefined) return false;
    const fold = (text: string) => (header.ignoreCase ? text.toLowerCase() : text);
    const actual = fold(value);
    if (header.exact !== undefined) return actual === fold(header.exact);
    if (header.prefix !== undefined) return actual.startsWith(fold(header.prefix));
    if (header.suffix !== undefined) return actual.endsWith(fold(header.suffix));
    if (header.contains !== undefined) return actual.includes(fold(header.contains));
    if (header.regex !== undefined) return new RegExp(`^(?:${header.regex})$`).test(value);
    return true; // a matcher of a kind not reported: treated as matching, like a bare presence check
  })();
  return header.invert ? !result : result;
}
