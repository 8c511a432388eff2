// Istio names services by host. A short name in a VirtualService or DestinationRule is resolved in
// the namespace of the object that writes it, so "reviews" in namespace "prod" and
// "reviews.prod.svc.cluster.local" are the same service.

const CLUSTER_DOMAIN = 'svc.cluster.local';

/** The fully qualified name of a written host, as Istio resolves it in the writer's namespace. */
export function qualifyHost(host: string, namespace: string): string {
  if (host.startsWith('*')) return host;
  const parts = host.split('.');
  if (parts.length === 1) return `${host}.${namespace}.${CLUSTER_DOMAIN}`;
  if (parts.length === 2) return `${host}.${CLUSTER_DOMAIN}`;
  if (parts.length === 3 && parts[2] === 'svc') return `${host}.cluster.local`;
  return host;
}

/** Whether a DestinationRule's host (possibly a `*.` wildcard) covers a qualified destination host. */
export function hostCovers(ruleHost: string, destination: string): boolean {
  if (ruleHost === '*') return true;
  if (ruleHost.startsWith('*.')) return destination.endsWith(ruleHost.slice(1));
  return ruleHost === destination;
}

/** The Kubernetes service a qualified host names in this cluster, if it names one. */
export function serviceOfHost(qualified: string): { name: string; namespace: string } | undefined {
  const suffix = `.${CLUSTER_DOMAIN}`;
  if (!qualified.endsWith(suffix)) return undefined;
  const [name, namespace, ...rest] = qualified.slice(0, -suffix.length).split('.');
  if (name === undefined || namespace === undefined || rest.length > 0) return undefined;
  return { name, namespace };
}
