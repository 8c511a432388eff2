// The workload a pod belongs to, as Istio's GetDeployMetaFromPod derives it: it names the proxy
// (ISTIO_META_WORKLOAD_NAME, ISTIO_META_OWNER) and is the fallback canonical service name.
import type { V1Pod } from '@kubernetes/client-node';

export interface WorkloadIdentity {
  kind: string;
  apiVersion: string;
  name: string;
  namespace: string;
}

// A CronJob names its Jobs <cronjob>-<minutes since the epoch>.
const cronJobSuffix = /-\d{8,}$/;

/** Derives the workload from the pod's controller reference; a bare pod is its own workload. */
export function workloadOfPod(pod: V1Pod, requestNamespace: string): WorkloadIdentity {
  const metadata = pod.metadata ?? {};
  const namespace = requestNamespace || metadata.namespace || 'default';
  // As Istio's GetDeployMetaFromPod: only a pod whose name is generated was made by a controller;
  // a named pod is its own workload whatever its ownerReferences say.
  const generated = typeof metadata.generateName === 'string' && metadata.generateName !== '';
  const controller = generated ? (metadata.ownerReferences ?? []).find((reference) => reference.controller === true) : undefined;
  if (controller === undefined || typeof controller.name !== 'string' || typeof controller.kind !== 'string') {
    const name = metadata.name || (metadata.generateName ?? '').replace(/-$/, '') || 'istio-proxy';
    return { kind: 'Pod', apiVersion: 'v1', name, namespace };
  }
  const templateHash = metadata.labels?.['pod-template-hash'];
  if (controller.kind === 'ReplicaSet' && templateHash && controller.name.endsWith(`-${templateHash}`)) {
    return { kind: 'Deployment', apiVersion: 'apps/v1', name: controller.name.slice(0, -templateHash.length - 1), namespace };
  }
  if (controller.kind === 'Job' && cronJobSuffix.test(controller.name)) {
    return { kind: 'CronJob', apiVersion: 'batch/v1', name: controller.name.replace(cronJobSuffix, ''), namespace };
  }
  return { kind: controller.kind, apiVersion: controller.apiVersion ?? 'v1', name: controller.name, namespace };
}

/** kubernetes://apis/apps/v1/namespaces/shop/deployments/cart, the form pilot-agent reports. */
export function workloadOwnerUri(workload: WorkloadIdentity): string {
  return `kubernetes://apis/${workload.apiVersion}/namespaces/${workload.namespace}/${workload.kind.toLowerCase()}s/${workload.name}`;
}
