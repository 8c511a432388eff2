import type { V1Namespace } from '@kubernetes/client-node';
import type { KubeClient } from './lite/client.ts';
import { startListWatch } from './lite/list-watch.ts';

/** Where the injector learns a namespace's labels; the API server only sends the pod. */
export interface NamespaceLabelSource {
  labelsOf(namespace: string): Promise<Record<string, string> | undefined>;
  stop(): Promise<void>;
}

/** Namespaces watched into memory, their labels alone: no API call on the admission path. */
export function watchNamespaceLabels(client: KubeClient, onError?: (error: unknown) => void): NamespaceLabelSource & { synced: Promise<void> } {
  const informer = startListWatch<V1Namespace>({
    client, path: '/api/v1/namespaces', ...(onError ? { onError } : {}),
    trim: (namespace) => {
      const { name, resourceVersion, labels } = namespace.metadata ?? {};
      namespace.metadata = { name, resourceVersion, labels };
      delete namespace.spec;
      delete namespace.status;
    },
  });
  return {
    synced: informer.synced,
    async labelsOf(namespace) {
      const cached = informer.cache.get(namespace);
      if (cached) return cached.metadata?.labels ?? {};
      // A namespace created a moment ago may not have reached the watch yet.
      const fresh = await client.json<V1Namespace>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}`).catch(() => undefined);
      return fresh ? fresh.metadata?.labels ?? {} : undefined;
    },
    stop: () => informer.stop(),
  };
}

export function staticNamespaceLabels(labels: Record<string, Record<string, string>>): NamespaceLabelSource {
  return { labelsOf: async (namespace) => labels[namespace], stop: async () => {} };
}
