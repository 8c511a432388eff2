// What a VirtualService binds to and who applies it: its gateways, the mesh, and the namespaces
// whose proxies must see its destinations. Host resolution itself is ../../hosts.ts's.
import { gatewayReference, specExportScope, stringList } from '../../hosts.ts';
import { isRecord, records, type MeshObject } from '../../objects.ts';
import type { ExportScope } from '../../../mesh/export-to.ts';

export const MESH_GATEWAY = 'mesh';

export function looksLikeAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/**
 * The namespaces whose proxies must see a VirtualService's destinations: its own when it is
 * exported everywhere (as Istio's analyzer checks it), else the ones it is exported to.
 */
export function destinationNamespaces(virtualService: MeshObject): ExportScope {
  const scope = specExportScope(virtualService);
  return scope.all ? { all: false, namespaces: new Set([virtualService.metadata.namespace]) } : scope;
}

export function gatewayNames(virtualService: MeshObject): string[] {
  return stringList(virtualService.spec?.gateways);
}

export function boundToMesh(virtualService: MeshObject): boolean {
  const gateways = gatewayNames(virtualService);
  return gateways.length === 0 || gateways.includes(MESH_GATEWAY);
}

/** The gateways (not `mesh`) a VirtualService is bound to, as namespace and name. */
export function boundGateways(virtualService: MeshObject): { namespace: string; name: string; written: string }[] {
  return gatewayNames(virtualService).filter((name) => name !== MESH_GATEWAY)
    .map((written) => ({ ...gatewayReference(written, virtualService.metadata.namespace), written }));
}

export function virtualServiceHosts(virtualService: MeshObject): string[] {
  return stringList(virtualService.spec?.hosts);
}

export function gatewayServerPorts(gateway: MeshObject): number[] {
  return records(gateway.spec?.servers).map((server) => (isRecord(server.port) ? server.port.number : undefined))
    .filter((port): port is number => typeof port === 'number');
}
