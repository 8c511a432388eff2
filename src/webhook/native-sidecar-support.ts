// Which kubelet versions the cluster runs, watched into memory, so that nativeSidecars: auto costs no
// API call per review. Istio's webhook keeps a node informer for the same decision.
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { clusterSupportsNativeSidecars } from '../injector/native-sidecars.ts';
import { startInformer } from '../kube/informer.ts';

export interface NativeSidecarSupportSource {
  /** Whether the pod's node (or, unscheduled, every node) runs native sidecars. */
  supports(podNodeName: string | undefined): boolean;
  stop(): Promise<void>;
}

export function watchNativeSidecarSupport(kubeConfig: KubeConfig, onError?: (error: unknown) => void): NativeSidecarSupportSource & { synced: Promise<void> } {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const informer = startInformer<V1Node>({ kubeConfig, path: '/api/v1/nodes', list: () => core.listNode(), onError });
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
