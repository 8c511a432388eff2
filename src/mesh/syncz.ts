// istiod's /debug/syncz, read as a record of pushes: every xDS response istiod sends carries a
// nonce made of its push version ("<RFC 3339 time>/<counter>") and a 36-character UUID. The
// counter is per istiod process and shared by all types, so it orders pushes across proxies.
// (pilot/pkg/xds/discovery.go NextVersion and nonce; debug.go Syncz.)

/** One connection as istiod's /debug/syncz lists it; only the fields read here. */
export interface SyncStatus {
  /** "<pod>.<namespace>" for a sidecar or gateway. */
  proxy?: string;
  proxy_type?: string;
  cluster_sent?: string;
  cluster_acked?: string;
  listener_sent?: string;
  listener_acked?: string;
  route_sent?: string;
  route_acked?: string;
  endpoint_sent?: string;
  endpoint_acked?: string;
  resources?: Record<string, { sent?: string; acked?: string; lastError?: string }>;
}

export const ROUTE_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const UUID_LENGTH = 36;
const SENT_FIELDS = ['cluster_sent', 'listener_sent', 'route_sent', 'endpoint_sent'] as const;

/** The push counter a nonce was made for; undefined for an empty or foreign nonce. */
export function pushCounter(nonce: string | undefined): number | undefined {
  if (nonce === undefined || nonce.length <= UUID_LENGTH) return undefined;
  const version = nonce.slice(0, -UUID_LENGTH);
  const counter = Number(version.slice(version.lastIndexOf('/') + 1));
  return Number.isSafeInteger(counter) && counter >= 0 ? counter : undefined;
}

/** The highest push counter sent to any proxy of an answer; 0 for an answer without one. */
export function highestCounter(statuses: readonly SyncStatus[]): number {
  let highest = 0;
  for (const status of statuses) {
    for (const field of SENT_FIELDS) highest = Math.max(highest, pushCounter(status[field]) ?? 0);
  }
  return highest;
}

/** The namespace of a proxy ID ("<pod>.<namespace>"): namespaces hold no dots, pod names may. */
export function proxyNamespace(proxy: string): string {
  return proxy.slice(proxy.lastIndexOf('.') + 1);
}

/** A NACK of the proxy's last route push: Envoy refused the config istiod sent. */
export function routeError(status: SyncStatus): string | undefined {
  return status.resources?.[ROUTE_TYPE_URL]?.lastError || undefined;
}

/** Validates the shape of a /debug/syncz body (a JSON array of objects). */
export function parseSyncz(body: unknown): SyncStatus[] {
  if (!Array.isArray(body) || !body.every((entry) => typeof entry === 'object' && entry !== null)) {
    throw new Error('istiod /debug/syncz did not answer with a JSON array of proxies');
  }
  return body as SyncStatus[];
}
