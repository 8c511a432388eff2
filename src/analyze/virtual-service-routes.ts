// The destinations of a VirtualService, wherever they are written: http, tcp and tls routes and
// http mirrors. Several rules walk them; each entry says where it is, for the message.
import { qualifyHost } from './hosts.ts';
import { isRecord, records, type MeshObject } from './objects.ts';

export interface RouteDestination {
  /** e.g. spec.http[1].route[0], or spec.http[0].mirror */
  path: string;
  host: string;
  /** host resolved in the VirtualService's namespace */
  qualifiedHost: string;
  subset: string | undefined;
  port: number | undefined;
  weight: number | undefined;
}

export interface WeightedRoute {
  /** e.g. spec.http[1] */
  path: string;
  route: Record<string, unknown>;
  destinations: RouteDestination[];
}

const ROUTE_LISTS = ['http', 'tcp', 'tls'] as const;

function destinationAt(entry: Record<string, unknown>, path: string, namespace: string): RouteDestination | undefined {
  const destination = entry.destination;
  if (!isRecord(destination) || typeof destination.host !== 'string') return undefined;
  const port = isRecord(destination.port) && typeof destination.port.number === 'number' ? destination.port.number : undefined;
  return {
    path,
    host: destination.host,
    qualifiedHost: qualifyHost(destination.host, namespace, 'service-names'),
    subset: typeof destination.subset === 'string' ? destination.subset : undefined,
    port,
    weight: typeof entry.weight === 'number' ? entry.weight : undefined,
  };
}

/** Every http, tcp and tls route with its weighted destinations. */
export function weightedRoutes(virtualService: MeshObject): WeightedRoute[] {
  const namespace = virtualService.metadata.namespace;
  return ROUTE_LISTS.flatMap((list) =>
    records(virtualService.spec?.[list]).map((route, index) => {
      const path = `spec.${list}[${index}]`;
      const destinations = records(route.route)
        .map((entry, position) => destinationAt(entry, `${path}.route[${position}]`, namespace))
        .filter((entry) => entry !== undefined);
      return { path, route, destinations };
    }),
  );
}

/** Every destination, mirrors included. */
export function allDestinations(virtualService: MeshObject): RouteDestination[] {
  const namespace = virtualService.metadata.namespace;
  const mirrors = records(virtualService.spec?.http).flatMap((route, index) => {
    const mirror = route.mirror;
    if (!isRecord(mirror)) return [];
    const found = destinationAt({ destination: mirror }, `spec.http[${index}].mirror`, namespace);
    return found === undefined ? [] : [found];
  });
  return [...weightedRoutes(virtualService).flatMap((route) => route.destinations), ...mirrors];
}

export function describeDestination(destination: Pick<RouteDestination, 'host' | 'subset'>): string {
  return destination.subset === undefined ? `host ${destination.host}` : `host ${destination.host} subset ${destination.subset}`;
}
