// Reaching every istiod replica's /debug/syncz over HTTP (port 15014, "http-monitoring"). Each
// replica lists only the proxies connected to it and counts its own pushes, so all are asked, by
// pod address: the Service's own address would pick one at random.
import type { DiscoveryV1Api } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { parseSyncz, type SyncStatus } from './syncz.ts';

export interface IstiodReplica {
  /** Pod name, or the URL for replicas named by flag. */
  name: string;
  /** http://host:port, without a path. */
  url: string;
}

export interface IstiodReplicas {
  list(): Promise<IstiodReplica[]>;
  /** For messages: where the replicas come from. */
  readonly description: string;
}

/** How the controller reaches istiod, from `run`'s flags. */
export interface IstiodAccess {
  replicas: IstiodReplicas;
  tokenFile?: string;
  /** istiod's PILOT_DEBOUNCE_MAX plus push latency: after this, every proxy has been sent a write. */
  settleMs: number;
}

/** Replicas named by --istiod-url. */
export function fixedReplicas(urls: readonly string[]): IstiodReplicas {
  const replicas = urls.map((url) => ({ name: url, url: url.replace(/\/+$/, '') }));
  return { list: () => Promise.resolve(replicas), description: urls.join(', ') };
}

const MONITORING_PORT_NAME = 'http-monitoring';
const MONITORING_PORT = 15014;
const DISCOVERY_REFRESH_MS = 5_000;

/** The ready pods behind istiod's Service (--istiod-service), from its EndpointSlices, re-listed at most every 5 s. */
export function serviceReplicas(api: DiscoveryV1Api, namespace: string, service: string, clock: () => number = Date.now): IstiodReplicas {
  let cached: { at: number; replicas: IstiodReplica[] } | undefined;
  return {
    description: `Service ${namespace}/${service}`,
    async list() {
      if (cached !== undefined && clock() - cached.at < DISCOVERY_REFRESH_MS) return cached.replicas;
      const slices = await api.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` });
      const replicas: IstiodReplica[] = [];
      for (const slice of slices.items) {
        const port = slice.ports?.find((candidate) => candidate.name === MONITORING_PORT_NAME)?.port ?? MONITORING_PORT;
        for (const endpoint of slice.endpoints ?? []) {
          if (endpoint.conditions?.ready === false) continue;
          const address = endpoint.addresses[0];
          if (address === undefined) continue;
          const host = slice.addressType === 'IPv6' ? `[${address}]` : address;
          replicas.push({ name: endpoint.targetRef?.name ?? address, url: `http://${host}:${port}` });
        }
      }
      cached = { at: clock(), replicas };
      return replicas;
    },
  };
}

/** A replica that answered 401 or 403: asking again will not help until its settings change. */
export class IstiodRefusedError extends Error {}

const REQUEST_TIMEOUT_MS = 2_000;

/**
 * GET /debug/syncz of one replica. The token file (a projected service-account token with
 * audience istio-ca) is read for every request: the kubelet rotates it.
 */
export async function fetchSyncz(replica: IstiodReplica, tokenFile?: string): Promise<SyncStatus[]> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (tokenFile !== undefined) headers.authorization = `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}`;
  const response = await fetch(`${replica.url}/debug/syncz`, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  if (response.status === 401 || response.status === 403) {
    const detail = (await response.text()).slice(0, 200).trim();
    throw new IstiodRefusedError(
      `istiod ${replica.name} refused /debug/syncz (${response.status}${detail ? `: ${detail}` : ''}); it needs a token with audience istio-ca ` +
        '(--istiod-token-file) from a namespace in its DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES',
    );
  }
  if (!response.ok) throw new Error(`istiod ${replica.name}: /debug/syncz answered ${response.status}`);
  return parseSyncz(await response.json());
}
