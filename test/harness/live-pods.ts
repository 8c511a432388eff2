// Which pods of a namespace exist now, for the traffic simulator: a slow sidecar keeps sending to
// a pod until it applies the push that removed it, and a real Envoy's connection to a deleted pod's
// IP fails. Only the cluster knows that sooner than istiod's pushes, so the set follows a watch.
// Only an address seen leaving counts as gone: on a loaded machine the watch can deliver a new pod
// after istiod has already pushed it as an endpoint, and that pod answers all the same.
import { CoreV1Api, makeInformer, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

export interface LivePods {
  /**
   * Takes an endpoint's address as the sidecar reports it (ip:port) or a bare IP. False only for
   * the address of a pod that was seen and is gone (deleted, being deleted, or finished), unless a
   * live pod has it now.
   */
  isLive(address: string): boolean;
  /**
   * The Deployment of the pod at an address, as Istio reports it in destination_workload: the
   * name of the pod's ReplicaSet without its pod-template-hash. Undefined for an unknown address.
   */
  workloadOf(address: string): string | undefined;
  stop(): void;
}

/** Resolves once the first list has filled the set, so that no live pod is taken for a gone one. */
export async function startLivePods(kubeConfig: KubeConfig, namespace: string): Promise<LivePods> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Pod>(kubeConfig, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace }));
  const ipsByPod = new Map<string, string[]>();
  const workloadByIp = new Map<string, string>();
  let live = new Set<string>();
  const gone = new Set<string>();
  const leave = (name: string) => {
    for (const ip of ipsByPod.get(name) ?? []) gone.add(ip);
    ipsByPod.delete(name);
  };
  const follow = (pod: V1Pod) => {
    const name = pod.metadata?.name ?? '';
    const ips = answeringIps(pod);
    const workload = deploymentOf(pod);
    if (workload !== undefined) for (const ip of ips) workloadByIp.set(ip, workload);
    if (ips.length > 0) ipsByPod.set(name, ips);
    else leave(name);
    live = new Set([...ipsByPod.values()].flat());
  };
  informer.on('add', follow);
  informer.on('update', follow);
  informer.on('delete', (pod) => {
    leave(pod.metadata?.name ?? '');
    live = new Set([...ipsByPod.values()].flat());
  });

  let stopped = false;
  let started = false;
  let firstError: unknown;
  let retryTimer: NodeJS.Timeout | undefined;
  // client-node's informer stops for good on most watch errors: a set that stopped moving would
  // take every pod created since for a gone one.
  informer.on('error', (error: unknown) => {
    if (!started) {
      firstError ??= error;
      return;
    }
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (!stopped) void informer.start();
    }, 1_000);
  });
  // start() resolves even when the list fails, reporting it as an 'error' event instead.
  await informer.start();
  if (firstError !== undefined) {
    await informer.stop();
    throw new Error(`listing the pods of namespace ${namespace} to tell live endpoints from gone ones failed: ${String(firstError)}`);
  }
  started = true;
  return {
    isLive: (address) => {
      const ip = withoutPort(address);
      return live.has(ip) || !gone.has(ip);
    },
    workloadOf: (address) => workloadByIp.get(withoutPort(address)),
    stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      void informer.stop();
    },
  };
}

function deploymentOf(pod: V1Pod): string | undefined {
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  const replicaSet = pod.metadata?.ownerReferences?.find((owner) => owner.kind === 'ReplicaSet')?.name;
  if (hash === undefined || replicaSet === undefined || !replicaSet.endsWith(`-${hash}`)) return replicaSet;
  return replicaSet.slice(0, -hash.length - 1);
}

/**
 * A pod being deleted is on its way out, and a finished one's IP may already be another pod's:
 * neither answers at that IP.
 */
function answeringIps(pod: V1Pod): string[] {
  if (pod.metadata?.deletionTimestamp) return [];
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return [];
  const ips = new Set((pod.status?.podIPs ?? []).map((podIp) => podIp.ip));
  if (pod.status?.podIP) ips.add(pod.status.podIP);
  return [...ips];
}

/** The sidecar formats ip:port without brackets, even for IPv6, so the port is after the last colon. */
function withoutPort(address: string): string {
  const bracketed = /^\[(.*)\]:\d+$/.exec(address);
  return bracketed ? bracketed[1]! : address.replace(/:\d+$/, '');
}
