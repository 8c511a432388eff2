// Hosts as istiod reads them for VirtualServices, and what each namespace can see of them.
// istiod expands only a one-word short name ("reviews" in namespace shop is
// reviews.shop.svc.cluster.local); "reviews.shop" stays as written and names no Service. That is
// stricter than hosts.ts's qualifyHost, on purpose: these rules judge what istiod will match.
import { isRecord, records, type MeshObject, type ObjectSet } from '../../objects.ts';

const CLUSTER_SUFFIX = '.svc.cluster.local';
export const MESH_GATEWAY = 'mesh';

export function istioFqdn(host: string, namespace: string): string {
  if (host.startsWith('*') || host.includes('.')) return host;
  return `${host}.${namespace}${CLUSTER_SUFFIX}`;
}

/** The namespace a cluster-local name is in (reviews.shop.svc.cluster.local: shop). */
export function clusterNamespaceOf(fqdn: string): string | undefined {
  if (!fqdn.endsWith(CLUSTER_SUFFIX) || fqdn.startsWith('*')) return undefined;
  const labels = fqdn.slice(0, -CLUSTER_SUFFIX.length).split('.');
  return labels.length >= 2 ? labels.at(-1) : undefined;
}

export function looksLikeAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** Where an object is visible: every namespace, or the listed ones (an empty list: nowhere, `~`). */
export type Visibility = { all: true } | { all: false; namespaces: ReadonlySet<string> };

export function visibility(exportTo: readonly string[], ownNamespace: string): Visibility {
  if (exportTo.length === 0 || exportTo.includes('*')) return { all: true };
  return { all: false, namespaces: new Set(exportTo.filter((entry) => entry !== '~').map((entry) => (entry === '.' ? ownNamespace : entry))) };
}

export function overlap(a: Visibility, b: Visibility): boolean {
  if (a.all) return b.all || b.namespaces.size > 0;
  if (b.all) return a.namespaces.size > 0;
  return [...a.namespaces].some((namespace) => b.namespaces.has(namespace));
}

export function describeVisibility(scope: Visibility): string {
  return scope.all ? 'every namespace' : scope.namespaces.size === 0 ? 'no namespace' : `namespace ${[...scope.namespaces].sort().join(', ')}`;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

export function virtualServiceVisibility(virtualService: MeshObject): Visibility {
  return visibility(stringList(virtualService.spec?.exportTo), virtualService.metadata.namespace);
}

/**
 * The namespaces whose proxies must see a VirtualService's destinations: its own when it is
 * exported everywhere (as Istio's analyzer checks it), else the ones it is exported to.
 */
export function destinationNamespaces(virtualService: MeshObject): Visibility {
  const scope = virtualServiceVisibility(virtualService);
  return scope.all ? { all: false, namespaces: new Set([virtualService.metadata.namespace]) } : scope;
}

/** A host a Service or ServiceEntry puts in the registry, with its ports and where it is visible. */
export interface RegistryHost {
  object: MeshObject;
  host: string;
  ports: number[];
  scope: Visibility;
}

function portNumbers(ports: unknown, field: 'port' | 'number'): number[] {
  return [...new Set(records(ports).map((port) => port[field]).filter((value): value is number => typeof value === 'number'))];
}

/** Services of the core API (a Knative Service is another kind of object with the same name). */
export function kubernetesServices(objects: ObjectSet): MeshObject[] {
  return objects.ofKind('Service').filter((service) => service.apiVersion === 'v1');
}

export function registryHosts(objects: ObjectSet): RegistryHost[] {
  const services = kubernetesServices(objects).map((service) => {
    const annotation = service.metadata.annotations?.['networking.istio.io/exportTo'];
    const exportTo = typeof annotation === 'string' && annotation.trim() !== '' ? annotation.split(',').map((entry) => entry.trim()) : [];
    return {
      object: service,
      host: `${service.metadata.name}.${service.metadata.namespace}${CLUSTER_SUFFIX}`,
      ports: portNumbers(service.spec?.ports, 'port'),
      scope: visibility(exportTo, service.metadata.namespace),
    };
  });
  const entries = objects.ofKind('ServiceEntry').flatMap((entry) =>
    stringList(entry.spec?.hosts).map((host) => ({
      object: entry,
      host: istioFqdn(host, entry.metadata.namespace),
      ports: portNumbers(entry.spec?.ports, 'number'),
      scope: visibility(stringList(entry.spec?.exportTo), entry.metadata.namespace),
    })));
  return [...services, ...entries];
}

/** Whether a registry host (possibly `*.suffix`, or `*`) takes a destination host (possibly a wildcard itself). */
export function registryCovers(registryHost: string, destination: string): boolean {
  if (registryHost === destination) return true;
  if (!registryHost.startsWith('*')) return false;
  return destination.replace(/^\*/, '').endsWith(registryHost.slice(1));
}

export function describeRegistryHost(entry: RegistryHost): string {
  return `${entry.object.kind} ${entry.object.metadata.namespace}/${entry.object.metadata.name}`;
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
  return gatewayNames(virtualService).filter((name) => name !== MESH_GATEWAY).map((written) => {
    const slash = written.indexOf('/');
    return slash < 0
      ? { namespace: virtualService.metadata.namespace, name: written, written }
      : { namespace: written.slice(0, slash), name: written.slice(slash + 1), written };
  });
}

export function virtualServiceHosts(virtualService: MeshObject): string[] {
  return stringList(virtualService.spec?.hosts);
}

export function gatewayServerPorts(gateway: MeshObject): number[] {
  return records(gateway.spec?.servers).map((server) => (isRecord(server.port) ? server.port.number : undefined))
    .filter((port): port is number => typeof port === 'number');
}
