// Rules that need what is running, so they judge only objects read from a cluster (--cluster):
// pods without the proxy in namespaces that inject it, and subsets that select no pod.
import type { V1Pod } from '@kubernetes/client-node';
import { defaultInjectorConfig } from '../../injector/config.ts';
import { decideInjection } from '../../injector/decide.ts';
import { proxyContainerName } from '../../injector/istio/istio-constants.ts';
import { finding, type Finding } from '../finding.ts';
import { qualifyHost, serviceOfHost } from '../hosts.ts';
import { injectionEnabledNamespaces } from '../injection.ts';
import { groupBy, records, selects, stringMap, type MeshObject, type ObjectSet } from '../objects.ts';
import type { Rule } from '../rule.ts';

export const POD_WITHOUT_PROXY = { code: 'SB0901', name: 'PodWithoutProxy', severity: 'warning' } as const;
export const SUBSET_SELECTS_NO_PODS = { code: 'SB0902', name: 'SubsetSelectsNoPods', severity: 'warning' } as const;

const isRunning = (pod: MeshObject) => pod.status?.phase === 'Running';
const isLive = (pod: MeshObject) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && pod.metadata.deletionTimestamp === undefined;

/** An istio-proxy container, as a sidecar or a native sidecar (init container). */
function runsProxy(pod: V1Pod): boolean {
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((container) => container.name);
  return names.includes(proxyContainerName);
}

function podsWithoutProxy(objects: ObjectSet): Finding[] {
  const config = defaultInjectorConfig();
  const pods = groupBy(objects.ofKind('Pod'), (pod) => pod.metadata.namespace);
  return injectionEnabledNamespaces(objects).flatMap((namespace) =>
    (pods.get(namespace.metadata.name) ?? [])
      .filter(isRunning)
      .filter((pod) => !runsProxy(pod as unknown as V1Pod))
      // Only pods the injector would inject today: an opted-out or hostNetwork pod is meant to run without.
      .filter((pod) => decideInjection(pod as unknown as V1Pod, { namespace: namespace.metadata.name, namespaceLabels: namespace.metadata.labels ?? {} }, config).inject)
      .map((pod) => finding(POD_WITHOUT_PROXY, pod,
        `runs without the istio-proxy sidecar although namespace ${namespace.metadata.name} has injection enabled (it was probably created before the label, or while the injector was down): ` +
        'its traffic is neither encrypted nor authorized nor measured by the mesh; restart its workload (kubectl rollout restart) so that the new pods are injected')));
}

function subsetsSelectingNothing(objects: ObjectSet): Finding[] {
  const findings: Finding[] = [];
  // Grouped once: each DestinationRule looks up the pods of its host's namespace.
  const livePods = groupBy(objects.ofKind('Pod').filter(isLive), (pod) => pod.metadata.namespace);
  for (const rule of objects.ofKind('DestinationRule')) {
    const host = rule.spec?.host;
    if (typeof host !== 'string') continue;
    const service = serviceOfHost(qualifyHost(host, rule.metadata.namespace, 'service-names'));
    // Only hosts that are services of this cluster have pods to select.
    if (service === undefined) continue;
    const serviceObject = objects.find('Service', service.namespace, service.name);
    const serviceSelector = stringMap((serviceObject?.spec as { selector?: unknown } | undefined)?.selector);
    const pods = (livePods.get(service.namespace) ?? []).filter((pod) => selects(serviceSelector, pod.metadata.labels));
    records(rule.spec?.subsets).forEach((subset, index) => {
      const labels = stringMap(subset.labels);
      if (typeof subset.name !== 'string' || pods.some((pod) => selects(labels, pod.metadata.labels))) return;
      const selector = Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(',');
      findings.push(finding(SUBSET_SELECTS_NO_PODS, rule,
        `spec.subsets[${index}] (${subset.name}) selects no running pod of ${service.name} in namespace ${service.namespace}` +
        `${serviceObject === undefined ? '' : ' (among the pods of its Service\'s selector)'} with labels ${selector || '(none)'}: ` +
        `traffic routed to subset ${subset.name} gets 503 (no healthy upstream); fix the subset's labels or the pods' (check with kubectl get pods -n ${service.namespace} -l ${selector || '...'})`));
    });
  }
  return findings;
}

export const liveRule: Rule = {
  definitions: [POD_WITHOUT_PROXY, SUBSET_SELECTS_NO_PODS],
  check(objects: ObjectSet): Finding[] {
    if (!objects.live) return [];
    return [...podsWithoutProxy(objects), ...subsetsSelectingNothing(objects)];
  },
};
