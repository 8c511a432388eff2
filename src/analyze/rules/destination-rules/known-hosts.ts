// The hosts a DestinationRule can apply to: Kubernetes Services and ServiceEntry hosts, each with
// the namespaces that see it (exportTo). A DestinationRule whose host matches none of them, in a
// namespace that also sees the rule, configures nothing.
import { hostCovers, qualifyHost } from '../../hosts.ts';
import { isRecord, type MeshObject, type ObjectSet } from '../../objects.ts';

const CLUSTER_SUFFIX = '.svc.cluster.local';
const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

/** The namespaces that see an object: every one, or those listed. */
export type Visibility = 'all' | ReadonlySet<string>;

export interface KnownHost {
  /** The ways the host may be written fully qualified (see hostForms). */
  forms: string[];
  visibility: Visibility;
  /** "Service shop/reviews", "ServiceEntry shop/stripe": for messages. */
  source: string;
}

/**
 * Istio qualifies only dot-less short names; hosts.ts also reads "reviews.shop" as a service. A
 * host matches when any form matches, so that neither reading reports a host the other resolves.
 */
export function hostForms(host: string, namespace: string): string[] {
  const istio = host.startsWith('*') || host.includes('.') ? host : `${host}.${namespace}${CLUSTER_SUFFIX}`;
  return [...new Set([istio, qualifyHost(host, namespace)])];
}

/** exportTo as Istio reads it: nothing written means every namespace, "." the object's own, "~" none. */
export function visibilityOf(exportTo: readonly string[], namespace: string): Visibility {
  if (exportTo.length === 0 || exportTo.includes('*')) return 'all';
  return new Set(exportTo.filter((entry) => entry !== '~').map((entry) => (entry === '.' ? namespace : entry)));
}

export function visibleTogether(a: Visibility, b: Visibility): boolean {
  if (a === 'all') return b === 'all' || b.size > 0;
  if (b === 'all') return a.size > 0;
  return [...a].some((namespace) => b.has(namespace));
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

export function isKubernetesService(object: MeshObject): boolean {
  return object.kind === 'Service' && object.apiVersion === 'v1';
}

export function isServiceEntry(object: MeshObject): boolean {
  return object.kind === 'ServiceEntry' && object.apiVersion.startsWith('networking.istio.io/');
}

/** The Service Istio's deployment controller creates for a Gateway API Gateway: <name>-<class>. */
function gatewayServiceName(gateway: MeshObject): string | undefined {
  if (!gateway.apiVersion.startsWith('gateway.networking.k8s.io/')) return undefined;
  const gatewayClass = gateway.spec?.gatewayClassName;
  return typeof gatewayClass === 'string' ? `${gateway.metadata.name}-${gatewayClass}` : undefined;
}

export function knownHosts(objects: ObjectSet): KnownHost[] {
  const hosts: KnownHost[] = [];
  for (const service of objects.ofKind('Service').filter(isKubernetesService)) {
    const { name, namespace } = service.metadata;
    const exportTo = (service.metadata.annotations?.[EXPORT_TO_ANNOTATION] ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
    hosts.push({ forms: [`${name}.${namespace}${CLUSTER_SUFFIX}`], visibility: visibilityOf(exportTo, namespace), source: `Service ${namespace}/${name}` });
  }
  for (const gateway of objects.ofKind('Gateway')) {
    const name = gatewayServiceName(gateway);
    const { namespace } = gateway.metadata;
    if (name === undefined) continue;
    hosts.push({ forms: [`${name}.${namespace}${CLUSTER_SUFFIX}`], visibility: 'all', source: `Gateway ${namespace}/${gateway.metadata.name}` });
  }
  for (const entry of objects.ofKind('ServiceEntry').filter(isServiceEntry)) {
    const { name, namespace } = entry.metadata;
    const visibility = visibilityOf(stringList(entry.spec?.exportTo), namespace);
    for (const host of stringList(entry.spec?.hosts)) {
      hosts.push({ forms: hostForms(host, namespace), visibility, source: `ServiceEntry ${namespace}/${name}` });
    }
  }
  return hosts;
}

/** Either host, wildcards included, names a service the other names too. */
export function hostsOverlap(a: string, b: string): boolean {
  return a === b || hostCovers(a, b) || hostCovers(b, a);
}

export function matchesKnownHost(forms: readonly string[], known: KnownHost): boolean {
  return forms.some((form) => known.forms.some((other) => hostsOverlap(form, other)));
}

/**
 * The namespace whose Services would define a host under svc.cluster.local ("reviews.shop…",
 * "*.shop…"), '' for a host outside the cluster domain, undefined for a wildcard that spans
 * namespaces ("*", "*.svc.cluster.local", "*.local"), which no partial input can judge.
 */
export function clusterNamespaceOf(qualified: string): string | undefined {
  if (qualified === '*') return undefined;
  if (qualified.startsWith('*') && CLUSTER_SUFFIX.endsWith(qualified.slice(1))) return undefined;
  if (!qualified.endsWith(CLUSTER_SUFFIX)) return '';
  const labels = qualified.slice(0, -CLUSTER_SUFFIX.length).split('.');
  return labels[labels.length - 1] ?? '';
}

export function exportToOf(object: MeshObject): string[] {
  return isRecord(object.spec) ? stringList(object.spec.exportTo) : [];
}
