// The pods an Istio Gateway's selector can pick, as far as the input shows them: Pods, and the pod
// templates of workloads (from files there are usually no Pods, only the Deployments that make
// them). Istio matches a Gateway's selector against pods of every namespace.
import { findPodTemplates, valueAt } from '../../../injector/workloads.ts';
import { isRecord, records, stringMap, type MeshObject, type ObjectSet } from '../../objects.ts';

export interface KnownPod {
  /** The Pod or the workload whose template it is. */
  source: MeshObject;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  containers: Record<string, unknown>[];
}

function podOf(source: MeshObject, pod: unknown): KnownPod | undefined {
  if (!isRecord(pod)) return undefined;
  const metadata = isRecord(pod.metadata) ? pod.metadata : {};
  const spec = isRecord(pod.spec) ? pod.spec : {};
  return {
    source,
    namespace: source.metadata.namespace,
    labels: stringMap(metadata.labels),
    annotations: stringMap(metadata.annotations),
    containers: [...records(spec.containers), ...records(spec.initContainers)],
  };
}

export function knownPods(objects: ObjectSet): KnownPod[] {
  return objects.all.flatMap((object) => {
    // Rollouts (Switchboard's and Argo's) are not in the injector's list of workload kinds.
    if (object.kind === 'Rollout') return [podOf(object, object.spec?.template)].filter((pod) => pod !== undefined);
    return findPodTemplates(object).map((location) => podOf(object, valueAt(object, location.path))).filter((pod) => pod !== undefined);
  });
}

export function podsSelectedBy(pods: readonly KnownPod[], selector: Record<string, string>): KnownPod[] {
  const labels = Object.entries(selector);
  return pods.filter((pod) => labels.every(([key, value]) => pod.labels[key] === value));
}

/**
 * An Istio gateway proxy, by the marks Istio's installers leave: the injection template "gateway"
 * (the gateway Helm chart, gateway injection), `proxy router` arguments (istioctl's and the old
 * charts' gateways), or the label of a deployment Istio made for a Kubernetes Gateway.
 */
export function isGatewayProxy(pod: KnownPod): boolean {
  const templates = (pod.annotations['inject.istio.io/templates'] ?? '').split(',').map((name) => name.trim());
  if (templates.includes('gateway')) return true;
  if (pod.labels['gateway.istio.io/managed'] !== undefined) return true;
  return pod.containers.some((container) => container.name === 'istio-proxy' && Array.isArray(container.args) && container.args.includes('router'));
}

/** "key=value,key=value" with the keys sorted, as Kubernetes prints a label selector. */
export function selectorText(selector: Record<string, string>): string {
  return Object.keys(selector).sort().map((key) => `${key}=${selector[key]}`).join(',');
}

export function describePod(pod: KnownPod): string {
  return `${pod.source.kind} ${pod.namespace}/${pod.source.metadata.name}`;
}
