// Security policies whose workload selector picks no workload that a proxy runs for, as Istio's
// authorization policy analyzer judges them (extended here to the other security.istio.io kinds,
// whose selectors work the same way). Such a policy is enforced nowhere, and nothing says so.
// Only the cluster knows every pod: a namespace is judged when the input shows its workloads, and
// a policy of the root namespace (which selects across namespaces) only when every namespace was read.
import type { V1Pod } from '@kubernetes/client-node';
import { proxyContainerName } from '../../injector/istio/istio-constants.ts';
import { finding, type Finding } from '../finding.ts';
import { groupBy, isRecord, stringMap, type MeshObject, type ObjectSet } from '../objects.ts';
import type { AnalysisContext, Rule } from '../rule.ts';
import { describePod, isGatewayProxy, knownPods, podsSelectedBy, selectorText, type KnownPod } from './gateways/workloads.ts';
import { injectionOutlook } from './injection-istio/pods.ts';

export const NO_MATCHING_WORKLOADS = { code: 'SB1701', name: 'NoMatchingWorkloadsFound', severity: 'warning' } as const;

const POLICY_KINDS = ['AuthorizationPolicy', 'RequestAuthentication', 'PeerAuthentication'] as const;
const AMBIENT_REDIRECTION = 'ambient.istio.io/redirection';
const DATAPLANE_MODE = 'istio.io/dataplane-mode';

const EFFECT: Record<(typeof POLICY_KINDS)[number], string> = {
  AuthorizationPolicy: 'no proxy enforces its rules, so the requests it was written to allow or deny are judged as if it did not exist',
  RequestAuthentication: 'no proxy validates the JWTs it describes: invalid tokens are not refused, and AuthorizationPolicies see no request principal',
  PeerAuthentication: 'the mTLS mode it sets applies to no workload, so they keep the namespace\'s (or the mesh\'s) mode',
};

function isPolicy(object: MeshObject): boolean {
  return (POLICY_KINDS as readonly string[]).includes(object.kind) && object.apiVersion.startsWith('security.istio.io/');
}

/** A policy bound to a Gateway or Service by targetRef(s) has no selector to judge. */
function targeted(policy: MeshObject): boolean {
  return policy.spec?.targetRef !== undefined || policy.spec?.targetRefs !== undefined;
}

/** Istio reads a selector without labels as one that matches every workload of the namespace. */
function selectorOf(policy: MeshObject): Record<string, string> {
  const selector = policy.spec?.selector;
  return isRecord(selector) ? stringMap(selector.matchLabels) : {};
}

/** A Namespace read from the cluster (it carries a uid): with --cluster, analyze lists all of its pods. */
function readFromCluster(objects: ObjectSet, namespace: string): boolean {
  return objects.live && objects.find('Namespace', '', namespace)?.metadata.uid !== undefined;
}

/** With --cluster -A every Namespace is read from the cluster; with -n only one. */
function everyNamespaceRead(objects: ObjectSet): boolean {
  return objects.live && objects.ofKind('Namespace').filter((namespace) => namespace.metadata.uid !== undefined).length > 1;
}

/**
 * Whether the input shows the workloads of a namespace: it was read from the cluster, or the files
 * hold a workload of it. A Pod alone in a file is usually a debug or test pod, not the namespace's
 * applications, so it does not count.
 */
function workloadsShown(objects: ObjectSet, pods: PodsByNamespace, namespace: string): boolean {
  return readFromCluster(objects, namespace) || (pods.byNamespace.get(namespace) ?? []).some((pod) => pod.source.kind !== 'Pod');
}

function ambient(pod: KnownPod, objects: ObjectSet): boolean {
  if (pod.annotations[AMBIENT_REDIRECTION] === 'enabled' || pod.labels[DATAPLANE_MODE] === 'ambient') return true;
  const namespaceMode = objects.find('Namespace', '', pod.namespace)?.metadata.labels?.[DATAPLANE_MODE];
  return namespaceMode === 'ambient' && pod.labels[DATAPLANE_MODE] !== 'none';
}

/**
 * Why the pod has no proxy to enforce a policy, or undefined when it has one or may have one: a
 * sidecar, a gateway, ambient mode, or injection that is on or cannot be ruled out from the input.
 */
function outsideMesh(pod: KnownPod, objects: ObjectSet): string | undefined {
  if (pod.containers.some((container) => container.name === proxyContainerName) || isGatewayProxy(pod) || ambient(pod, objects)) return undefined;
  const asPod = { metadata: { labels: pod.labels, annotations: pod.annotations }, spec: { containers: pod.containers } } as unknown as V1Pod;
  const outlook = injectionOutlook(asPod, pod.namespace, objects);
  return outlook.injected === false ? outlook.reason : undefined;
}

function listed(pods: readonly KnownPod[], limit = 3): string {
  const names = [...new Set(pods.map(describePod))];
  return names.length <= limit ? names.join(', ') : `${names.slice(0, limit).join(', ')} and ${names.length - limit} more`;
}

interface Scope { pods: KnownPod[]; where: string; kubectl: string }

/** Every pod, and the pods of each namespace: each policy looks up its own, so scanning all of them would be quadratic. */
interface PodsByNamespace { all: readonly KnownPod[]; byNamespace: ReadonlyMap<string, KnownPod[]> }

/** The pods the policy can apply to, or undefined when the input cannot show them all. */
function scopeOf(policy: MeshObject, pods: PodsByNamespace, objects: ObjectSet, context: AnalysisContext): Scope | undefined {
  const { namespace } = policy.metadata;
  if (namespace === context.meshRootNamespace) {
    if (!everyNamespaceRead(objects)) return undefined;
    return { pods: [...pods.all], where: `any namespace (it is in the root namespace ${namespace}, so its selector picks pods mesh-wide)`, kubectl: '-A' };
  }
  if (!workloadsShown(objects, pods, namespace)) return undefined;
  return { pods: [...(pods.byNamespace.get(namespace) ?? [])], where: `namespace ${namespace}`, kubectl: `-n ${namespace}` };
}

function judge(policy: MeshObject, pods: PodsByNamespace, objects: ObjectSet, context: AnalysisContext): Finding[] {
  const selector = selectorOf(policy);
  const labels = selectorText(selector);
  // A root-namespace policy without labels is mesh-wide: it never lacks workloads.
  if (labels === '' && policy.metadata.namespace === context.meshRootNamespace) return [];
  const scope = scopeOf(policy, pods, objects, context);
  if (scope === undefined) return [];
  const effect = EFFECT[policy.kind as (typeof POLICY_KINDS)[number]];
  const selected = podsSelectedBy(scope.pods, selector);
  if (scope.pods.length === 0) {
    return [finding(NO_MATCHING_WORKLOADS, policy,
      `${labels === '' ? 'applies to every workload of' : `spec.selector.matchLabels (${labels}) selects pods of`} ${scope.where}, which has no pod: ` +
      `${effect}; apply the workloads first, or delete the policy`)];
  }
  if (selected.length === 0) {
    return [finding(NO_MATCHING_WORKLOADS, policy,
      `spec.selector.matchLabels (${labels}) matches no pod in ${scope.where} (the input shows ${listed(scope.pods)}): ${effect}; ` +
      `correct the labels to those of the pods meant (kubectl get pods ${scope.kubectl} --show-labels), or delete the policy`)];
  }
  const reasons = selected.map((pod) => outsideMesh(pod, objects));
  if (reasons.some((reason) => reason === undefined)) return [];
  const subject = labels === ''
    ? `has no spec.selector.matchLabels, so it applies to every workload of namespace ${policy.metadata.namespace}, but none of their pods runs an Istio proxy`
    : `spec.selector.matchLabels (${labels}) matches only pods that run no Istio proxy`;
  return [finding(NO_MATCHING_WORKLOADS, policy,
    `${subject} (${listed(selected)}: ${reasons[0]}): ${effect}; ` +
    'enable sidecar injection (or ambient mode) for these workloads and restart them, or delete the policy')];
}

export const workloadSelectorRule: Rule = {
  definitions: [NO_MATCHING_WORKLOADS],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    const policies = POLICY_KINDS.flatMap((kind) => objects.ofKind(kind)).filter((policy) => isPolicy(policy) && !targeted(policy));
    if (policies.length === 0) return [];
    const all = knownPods(objects);
    const pods = { all, byNamespace: groupBy(all, (pod) => pod.namespace) };
    return policies.flatMap((policy) => judge(policy, pods, objects, context));
  },
};
