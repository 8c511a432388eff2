// Which kubelet versions the cluster runs, watched into memory, so that nativeSidecars: auto costs no
// API call per review. Istio's webhook keeps a node informer for the same decision.
import type { V1Node } from '@kubernetes/client-node';
import { clusterSupportsNativeSidecars } from '../injector/native-sidecars.ts';
import type { KubeClient } from '../kube/lite/client.ts';
import { startListWatch } from '../kube/lite/list-watch.ts';

export interface NativeSidecarSupportSource {
  /** Whether the pod's node (or, unscheduled, every node) runs native sidecars. */
  supports(podNodeName: string | undefined): boolean;
  stop(): Promise<void>;
}

export function watchNativeSidecarSupport(client: KubeClient, onError?: (error: unknown) => void): NativeSidecarSupportSource & { synced: Promise<void> } {
  // A node's status is most of its size (images, conditions); only its kubelet's version is read.
  const informer = startListWatch<V1Node>({
    client, path: '/api/v1/nodes', ...(onError ? { onError } : {}),
    trim: (node) => {
      const kubeletVersion = node.status?.nodeInfo?.kubeletVersion ?? '';
      node.metadata = { name: node.metadata?.name, resourceVersion: node.metadata?.resourceVersion };
      delete node.spec;
      node.status = { nodeInfo: { kubeletVersion } as NonNullable<V1Node['status']>['nodeInfo'] };
    },
  });
  return {
    synced: informer.synced,
    supports: (podNodeName) => clusterSupportsNativeSidecars(kubeletVersions(informer.cache.list()), podNodeName),
    stop: () => informer.stop(),
  };
}

/** A fixed set of nodes, for tests and for running without cluster access. */
export function staticNativeSidecarSupport(versionsByNode: Record<string, string>): NativeSidecarSupportSource {
  const versions = new Map(Object.entries(versionsByNode));
  return { supports: (podNodeName) => clusterSupportsNativeSidecars(versions, podNodeName), stop: async () => {} };
}

function kubeletVersions(nodes: readonly V1Node[]): Map<string, string> {
  return new Map(nodes.map((node) => [node.metadata?.name ?? '', node.status?.nodeInfo?.kubeletVersion ?? '']));
}
