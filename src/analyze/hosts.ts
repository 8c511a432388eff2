// Istio names services by host. This module is the one place analyze resolves hosts: how a written
// host reads fully qualified, how wildcards match, and which hosts the mesh defines (Services,
// ServiceEntries, the Services Istio creates for Gateway API Gateways) with the namespaces that
// see each one (exportTo, read by src/mesh/export-to.ts as istiod reads it).
//
// Two readings of a written host exist, on purpose, and every caller names the one it means
// (HostReading):
// - 'istiod': istiod's own; it expands only a one-word short name ("reviews" in namespace shop is
//   reviews.shop.svc.cluster.local); "reviews.shop" stays as written and names no Service. Rules
//   that judge whether istiod finds a host (SB10, SB12) use it.
// - 'service-names': also reads "reviews.shop" and "reviews.shop.svc" as the Service; the subset
//   rules (SB01) and the live checks use it to pair a route with its DestinationRule whichever way
//   both are written, and leave it to SB1002 and SB1203 to say that istiod will not expand such a
//   name.
import { EVERY_NAMESPACE, EXPORT_TO_ANNOTATION, exportScope, exportToAnnotation, type ExportScope } from '../mesh/export-to.ts';
import { records, type MeshObject, type ObjectSet } from './objects.ts';

const CLUSTER_DOMAIN = 'svc.cluster.local';
const CLUSTER_SUFFIX = `.${CLUSTER_DOMAIN}`;

/** How a written host of two or three labels ("reviews.shop", "reviews.shop.svc") is read: see above. */
export type HostReading = 'istiod' | 'service-names';

/** The fully qualified name of a written host in the writer's namespace, read as `reading` says. */
export function qualifyHost(host: string, namespace: string, reading: HostReading): string {
  if (host.startsWith('*')) return host;
  const parts = host.split('.');
  if (parts.length === 1) return `${host}.${namespace}${CLUSTER_SUFFIX}`;
  if (reading === 'istiod') return host;
  if (parts.length === 2) return `${host}${CLUSTER_SUFFIX}`;
  if (parts.length === 3 && parts[2] === 'svc') return `${host}.cluster.local`;
  return host;
}

/** "reviews.shop" or "reviews.shop.svc": a Service name istiod does not expand, for the hint in a message. */
export function unexpandedServiceName(host: string): { name: string; namespace: string } | undefined {
  const match = /^([^.*]+)\.([^.]+)(\.svc)?$/.exec(host);
  return match === null ? undefined : { name: match[1] as string, namespace: match[2] as string };
}

/**
 * Whether a host pattern takes a host, as istiod matches them: equal, or the pattern starts with
 * `*` and the host (without its own leading `*`, if it is a wildcard too) ends with the rest.
 * `*.example.com` takes api.example.com and *.eu.example.com, not example.com.
 */
export function hostCovers(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.startsWith('*')) return false;
  return host.replace(/^\*/, '').endsWith(pattern.slice(1));
}

/**
 * The Gateway a gateways entry names, as istiod resolves it: namespace/name (`.` for the
 * VirtualService's namespace), a short name in the VirtualService's namespace, or the legacy
 * name.namespace[.svc.cluster.local] form.
 */
export function gatewayReference(written: string, namespace: string): { namespace: string; name: string } {
  const slash = written.indexOf('/');
  if (slash >= 0) {
    const ns = written.slice(0, slash);
    return { namespace: ns === '.' ? namespace : ns, name: written.slice(slash + 1) };
  }
  const [name = written, legacyNamespace] = written.split('.');
  return legacyNamespace === undefined ? { namespace, name } : { namespace: legacyNamespace, name };
}

/** Either host, wildcards included, names a service the other names too. */
export function hostsOverlap(a: string, b: string): boolean {
  return hostCovers(a, b) || hostCovers(b, a);
}

/** The Kubernetes service a qualified host names in this cluster, if it names one. */
export function serviceOfHost(qualified: string): { name: string; namespace: string } | undefined {
  if (!qualified.endsWith(CLUSTER_SUFFIX)) return undefined;
  const [name, namespace, ...rest] = qualified.slice(0, -CLUSTER_SUFFIX.length).split('.');
  if (name === undefined || namespace === undefined || rest.length > 0) return undefined;
  return { name, namespace };
}

/**
 * The namespace whose Services would define a qualified host under svc.cluster.local
 * (reviews.shop.svc.cluster.local and *.shop.svc.cluster.local: shop); '' for a host outside the
 * cluster domain; undefined for a wildcard that spans namespaces (`*`, `*.local`,
 * `*.svc.cluster.local`), which no partial input can judge.
 */
export function clusterNamespaceOf(qualified: string): string | undefined {
  if (qualified.startsWith('*') && CLUSTER_SUFFIX.endsWith(qualified.slice(1))) return undefined;
  if (!qualified.endsWith(CLUSTER_SUFFIX)) return '';
  const labels = qualified.slice(0, -CLUSTER_SUFFIX.length).split('.');
  return labels[labels.length - 1] ?? '';
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

/** Where an Istio object's spec.exportTo makes it visible. */
export function specExportScope(object: MeshObject): ExportScope {
  return exportScope(Array.isArray(object.spec?.exportTo) ? object.spec.exportTo : [], object.metadata.namespace);
}

/** Where a Service's networking.istio.io/exportTo annotation makes it visible. */
export function serviceExportScope(service: MeshObject): ExportScope {
  return exportScope(exportToAnnotation(service.metadata.annotations?.[EXPORT_TO_ANNOTATION]), service.metadata.namespace);
}

/** Services of the core API (a Knative Service is another kind of object with the same name). */
export function kubernetesServices(objects: ObjectSet): MeshObject[] {
  return objects.ofKind('Service').filter((service) => service.apiVersion === 'v1');
}

export function serviceEntries(objects: ObjectSet): MeshObject[] {
  return objects.ofKind('ServiceEntry').filter((entry) => entry.apiVersion.startsWith('networking.istio.io/'));
}

/** The Service Istio's deployment controller creates for a Gateway API Gateway: <name>-<class>. */
function gatewayServiceName(gateway: MeshObject): string | undefined {
  if (!gateway.apiVersion.startsWith('gateway.networking.k8s.io/')) return undefined;
  const gatewayClass = gateway.spec?.gatewayClassName;
  return typeof gatewayClass === 'string' ? `${gateway.metadata.name}-${gatewayClass}` : undefined;
}

/** A host a Service, ServiceEntry or Gateway API Gateway puts in the registry, with its ports and where it is visible. */
export interface RegistryHost {
  object: MeshObject;
  /** Fully qualified, or a ServiceEntry's wildcard. */
  host: string;
  /** Empty when unknown (a Gateway's Service): port checks then pass. */
  ports: number[];
  scope: ExportScope;
}

function portNumbers(ports: unknown, field: 'port' | 'number'): number[] {
  return [...new Set(records(ports).map((port) => port[field]).filter((value): value is number => typeof value === 'number'))];
}

export function registryHosts(objects: ObjectSet): RegistryHost[] {
  const services = kubernetesServices(objects).map((service) => ({
    object: service,
    host: `${service.metadata.name}.${service.metadata.namespace}${CLUSTER_SUFFIX}`,
    ports: portNumbers(service.spec?.ports, 'port'),
    scope: serviceExportScope(service),
  }));
  const gateways = objects.ofKind('Gateway').flatMap((gateway) => {
    const name = gatewayServiceName(gateway);
    return name === undefined ? [] : [{ object: gateway, host: `${name}.${gateway.metadata.namespace}${CLUSTER_SUFFIX}`, ports: [], scope: EVERY_NAMESPACE }];
  });
  const entries = serviceEntries(objects).flatMap((entry) => {
    const scope = specExportScope(entry);
    const ports = portNumbers(entry.spec?.ports, 'number');
    return stringList(entry.spec?.hosts).map((host) => ({ object: entry, host: qualifyHost(host, entry.metadata.namespace, 'istiod'), ports, scope }));
  });
  return [...services, ...gateways, ...entries];
}

export function describeRegistryHost(entry: RegistryHost): string {
  return `${entry.object.kind} ${entry.object.metadata.namespace}/${entry.object.metadata.name}`;
}

/**
 * Hosts indexed for istiod's two lookups, so that a rule asking for each of n objects does not scan
 * all m hosts: exact names, wildcards by the text after their `*`, and every host by each of its
 * dot-led suffixes (for a wildcard query). Results keep the order the entries were given in.
 */
export class HostIndex<T extends { host: string }> {
  private readonly order = new Map<T, number>();
  private readonly exact = new Map<string, T[]>();
  private readonly wildcards = new Map<string, T[]>();
  private readonly bySuffix = new Map<string, T[]>();

  constructor(entries: Iterable<T>) {
    const add = (map: Map<string, T[]>, key: string, entry: T) => {
      const list = map.get(key);
      if (list === undefined) map.set(key, [entry]);
      else list.push(entry);
    };
    for (const entry of entries) {
      this.order.set(entry, this.order.size);
      add(this.exact, entry.host, entry);
      if (entry.host.startsWith('*')) add(this.wildcards, entry.host.slice(1), entry);
      const bare = entry.host.replace(/^\*/, '');
      for (let index = bare.indexOf('.'); index >= 0; index = bare.indexOf('.', index + 1)) add(this.bySuffix, bare.slice(index), entry);
    }
  }

  /** The entries whose host is this host or a wildcard that takes it: where istiod finds a destination. */
  covering(host: string): T[] {
    const found = new Set(this.exact.get(host));
    const bare = host.replace(/^\*/, '');
    for (let index = 0; index <= bare.length; index++) this.wildcards.get(bare.slice(index))?.forEach((entry) => found.add(entry));
    return this.sorted(found);
  }

  /** The entries covering this host, and, when it is a wildcard, those it covers. */
  overlapping(host: string): T[] {
    const found = new Set(this.covering(host));
    if (host.startsWith('*')) {
      const suffix = host.slice(1);
      const candidates = suffix.startsWith('.') ? (this.bySuffix.get(suffix) ?? []) : this.order.keys();
      for (const entry of candidates) if (hostCovers(host, entry.host)) found.add(entry);
    }
    return this.sorted(found);
  }

  private sorted(found: Set<T>): T[] {
    return [...found].sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
  }
}

/** The mesh's hosts and what the input shows of each namespace, built once per object set. */
export interface HostRegistry {
  hosts: HostIndex<RegistryHost>;
  /** Namespaces with at least one Kubernetes Service in the input. */
  serviceNamespaces: ReadonlySet<string>;
  /** Namespaces with at least one ServiceEntry in the input. */
  serviceEntryNamespaces: ReadonlySet<string>;
}

const registries = new WeakMap<ObjectSet, HostRegistry>();

export function hostRegistry(objects: ObjectSet): HostRegistry {
  let registry = registries.get(objects);
  if (registry === undefined) {
    registry = {
      hosts: new HostIndex(registryHosts(objects)),
      serviceNamespaces: new Set(kubernetesServices(objects).map((service) => service.metadata.namespace)),
      serviceEntryNamespaces: new Set(serviceEntries(objects).map((entry) => entry.metadata.namespace)),
    };
    registries.set(objects, registry);
  }
  return registry;
}
