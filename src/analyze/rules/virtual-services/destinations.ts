// Every destination of a VirtualService that istiod resolves against the registry: http, tcp and
// tls route destinations, and http mirrors (the single `mirror` and the `mirrors` list).
import { isRecord, records, type MeshObject } from '../../objects.ts';

export interface VsDestination {
  /** The Destination object's path, e.g. spec.http[1].route[0].destination or spec.http[0].mirror */
  path: string;
  mirror: boolean;
  list: 'http' | 'tcp' | 'tls';
  host: string;
  port: number | undefined;
  subset: string | undefined;
}

function destinationAt(value: unknown, path: string, list: VsDestination['list'], mirror: boolean): VsDestination[] {
  if (!isRecord(value) || typeof value.host !== 'string' || value.host === '') return [];
  const port = isRecord(value.port) && typeof value.port.number === 'number' && value.port.number > 0 ? value.port.number : undefined;
  const subset = typeof value.subset === 'string' && value.subset !== '' ? value.subset : undefined;
  return [{ path, mirror, list, host: value.host, port, subset }];
}

export function vsDestinations(virtualService: MeshObject): VsDestination[] {
  const found: VsDestination[] = [];
  for (const list of ['http', 'tcp', 'tls'] as const) {
    records(virtualService.spec?.[list]).forEach((route, index) => {
      const path = `spec.${list}[${index}]`;
      records(route.route).forEach((entry, position) => found.push(...destinationAt(entry.destination, `${path}.route[${position}].destination`, list, false)));
      if (list !== 'http') return;
      found.push(...destinationAt(route.mirror, `${path}.mirror`, list, true));
      records(route.mirrors).forEach((entry, position) =>
        found.push(...destinationAt(entry.destination, `${path}.mirrors[${position}].destination`, list, true)));
    });
  }
  return found;
}
