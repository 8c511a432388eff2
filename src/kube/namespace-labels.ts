import { CoreV1Api, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { startInformer, type ResilientInformer } from './informer.ts';

/** Where the injector learns a namespace's labels; the API server only sends the pod. */
export interface NamespaceLabelSource {
  labelsOf(namespace: string): Promise<Record<string, string> | undefined>;
  stop(): Promise<void>;
}

/** Namespaces watched into memory: no API call on the admission path. */
export function watchNamespaceLabels(kubeConfig: KubeConfig, onError?: (error: unknown) => void): NamespaceLabelSource & { synced: Promise<void> } {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const informer: ResilientInformer<V1Namespace> = startInformer({
    kubeConfig, path: '/api/v1/namespaces', list: () => core.listNamespace(), onError,
  });
  return {
    synced: informer.synced,
    async labelsOf(namespace) {
      const cached = informer.cache.get(namespace);
      if (cached) return cached.metadata?.labels ?? {};
      // A namespace created a moment ago may not have reached the watch yet.
      const fresh = await core.readNamespace({ name: namespace }).catch(() => undefined);
      return fresh ? fresh.metadata?.labels ?? {} : undefined;
    },
    stop: () => informer.stop(),
  };
}

export function staticNamespaceLabels(labels: Record<string, Record<string, string>>): NamespaceLabelSource {
  return { labelsOf: async (namespace) => labels[namespace], stop: async () => {} };
}
