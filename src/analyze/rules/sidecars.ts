// Sidecar resources that Istio cannot apply as written. A proxy takes exactly one Sidecar: the
// oldest whose workloadSelector matches it, else the oldest without one. Two candidates for the
// same proxy mean the newer is silently ignored, and which one wins changes when one is recreated.
import { findPodTemplates, valueAt } from '../../injector/workloads.ts';
import { finding, type Finding } from '../finding.ts';
import { groupBy, isRecord, selects, stringMap, type MeshObject, type ObjectSet } from '../objects.ts';
import { isSwitchboardRollout } from '../rollout-references.ts';
import type { Rule } from '../rule.ts';

export const CONFLICTING_SIDECAR_SELECTORS = { code: 'SB1302', name: 'ConflictingSidecarWorkloadSelectors', severity: 'error' } as const;
export const MULTIPLE_SIDECARS_WITHOUT_SELECTORS = { code: 'SB1301', name: 'MultipleSidecarsWithoutWorkloadSelectors', severity: 'error' } as const;
export const SIDECAR_SELECTOR_NOT_FOUND = { code: 'SB1303', name: 'SidecarSelectorMatchesNoPods', severity: 'error' } as const;

const AMBIENT_REDIRECTION = 'ambient.istio.io/redirection';
const DATAPLANE_MODE = 'istio.io/dataplane-mode';

function isSidecar(object: MeshObject): boolean {
  return object.kind === 'Sidecar' && object.apiVersion.startsWith('networking.istio.io/');
}

/** Istio reads a selector without labels as no selector: the Sidecar is namespace-wide. */
function selectorOf(sidecar: MeshObject): Record<string, string> {
  const selector = sidecar.spec?.workloadSelector;
  return isRecord(selector) ? stringMap(selector.labels) : {};
}

const formatLabels = (labels: Record<string, string>) => Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(',');

/** In ambient mode there is no sidecar proxy, so Sidecar resources do nothing (Istio says so in another message). */
function ambientNamespace(objects: ObjectSet, namespace: string): boolean {
  const labels = objects.find('Namespace', '', namespace)?.metadata.labels ?? {};
  if (labels['istio-injection'] === 'enabled' || (labels['istio.io/rev'] ?? '') !== '') return false;
  return labels[DATAPLANE_MODE] === 'ambient';
}

interface Workload { describe: string; namespace: string; labels: Record<string, string> }

/** A pod made by a controller in the set is judged through its owner, once for all replicas. */
function ownedByController(object: MeshObject, objects: ObjectSet): boolean {
  return (object.metadata.ownerReferences ?? [])
    .some((owner) => owner.controller === true && objects.find(owner.kind, object.metadata.namespace, owner.name) !== undefined);
}

/** Every pod and pod template of the set that runs a sidecar proxy, with the labels its pods carry. */
function workloads(objects: ObjectSet): Workload[] {
  return objects.all.flatMap((object): Workload[] => {
    const { kind, metadata } = object;
    if (ownedByController(object, objects) || ambientNamespace(objects, metadata.namespace)) return [];
    const describe = kind === 'Pod' ? `Pod ${metadata.name}` : `the pods of ${kind} ${metadata.name}`;
    if (kind === 'Pod') {
      if (metadata.annotations?.[AMBIENT_REDIRECTION] === 'enabled' || metadata.labels?.[DATAPLANE_MODE] === 'ambient') return [];
      return [{ describe, namespace: metadata.namespace, labels: metadata.labels ?? {} }];
    }
    const templates = isSwitchboardRollout(object) ? [object.spec?.template] : findPodTemplates(object).map((location) => valueAt(object, location.path));
    return templates.filter(isRecord).map((template) => ({
      describe,
      namespace: metadata.namespace,
      labels: isRecord(template.metadata) ? stringMap(template.metadata.labels) : {},
    })).filter((workload) => workload.labels[DATAPLANE_MODE] !== 'ambient');
  });
}

function namespaceWide(objects: ObjectSet, sidecars: readonly MeshObject[]): Finding[] {
  const byNamespace = new Map<string, MeshObject[]>();
  for (const sidecar of sidecars.filter((candidate) => Object.keys(selectorOf(candidate)).length === 0)) {
    byNamespace.set(sidecar.metadata.namespace, [...(byNamespace.get(sidecar.metadata.namespace) ?? []), sidecar]);
  }
  return [...byNamespace].flatMap(([namespace, group]) => {
    if (group.length < 2 || ambientNamespace(objects, namespace)) return [];
    return group.map((sidecar) => {
      const others = group.filter((other) => other !== sidecar).map((other) => other.metadata.name).sort();
      return finding(MULTIPLE_SIDECARS_WITHOUT_SELECTORS, sidecar,
        `has no spec.workloadSelector labels, like Sidecar ${others.join(', ')} of namespace ${namespace}: ` +
        'every proxy of the namespace applies only the oldest of them ' +
        'and ignores the others, and which one that is changes when one is recreated; merge them into one Sidecar, ' +
        'or give all but one a workloadSelector for the workloads they are meant for');
    });
  });
}

function overlapping(sidecars: readonly MeshObject[], pods: readonly Workload[]): Finding[] {
  const conflicts = new Map<MeshObject, { others: Set<string>; pods: string[] }>();
  for (const pod of pods) {
    const matching = sidecars.filter((sidecar) => sidecar.metadata.namespace === pod.namespace && selects(selectorOf(sidecar), pod.labels));
    if (matching.length < 2) continue;
    for (const sidecar of matching) {
      const conflict = conflicts.get(sidecar) ?? { others: new Set<string>(), pods: [] };
      matching.filter((other) => other !== sidecar).forEach((other) => conflict.others.add(other.metadata.name));
      conflict.pods.push(pod.describe);
      conflicts.set(sidecar, conflict);
    }
  }
  return [...conflicts].map(([sidecar, { others, pods: selected }]) => {
    const names = [...others].sort();
    const listed = `${selected.slice(0, 3).join(', ')}${selected.length > 3 ? ` and ${selected.length - 3} more` : ''}`;
    return finding(CONFLICTING_SIDECAR_SELECTORS, sidecar,
      `spec.workloadSelector.labels (${formatLabels(selectorOf(sidecar))}) selects ${listed}, ` +
      `which Sidecar ${names.join(', ')} ${names.length > 1 ? 'select' : 'selects'} too: ` +
      'each of these proxies applies only the oldest matching Sidecar and ignores the others, and which one that is changes when one is recreated; ' +
      'make the selectors disjoint, or merge the Sidecars');
  });
}

/**
 * Only the cluster tells that no pod has the labels: files may leave workloads out. Pods are read
 * per namespace, so a namespace without any pod in the set is not judged.
 */
function selectingNothing(objects: ObjectSet, sidecars: readonly MeshObject[], pods: readonly Workload[]): Finding[] {
  if (!objects.live) return [];
  // Grouped once: each Sidecar looks up the pods and templates of its namespace.
  const livePods = groupBy(objects.ofKind('Pod'), (pod) => pod.metadata.namespace);
  const templates = groupBy(pods, (pod) => pod.namespace);
  return sidecars.flatMap((sidecar) => {
    const selector = selectorOf(sidecar);
    const { namespace } = sidecar.metadata;
    if (Object.keys(selector).length === 0 || !livePods.has(namespace)) return [];
    if ((templates.get(namespace) ?? []).some((pod) => selects(selector, pod.labels))) return [];
    if ((livePods.get(namespace) ?? []).some((pod) => selects(selector, pod.metadata.labels))) return [];
    return [finding(SIDECAR_SELECTOR_NOT_FOUND, sidecar,
      `spec.workloadSelector.labels (${formatLabels(selector)}) selects no pod in namespace ${namespace}, nor any workload's pod template: ` +
      'the Sidecar applies to no proxy, so the workloads it was written for keep the namespace\'s (or the mesh\'s) default; ' +
      `correct the labels (check with kubectl get pods -n ${namespace} -l ${formatLabels(selector)})`)];
  });
}

export const sidecarRule: Rule = {
  definitions: [MULTIPLE_SIDECARS_WITHOUT_SELECTORS, CONFLICTING_SIDECAR_SELECTORS, SIDECAR_SELECTOR_NOT_FOUND],
  check(objects: ObjectSet): Finding[] {
    const sidecars = objects.ofKind('Sidecar').filter(isSidecar);
    if (sidecars.length === 0) return [];
    const selecting = sidecars.filter((sidecar) => Object.keys(selectorOf(sidecar)).length > 0);
    const pods = workloads(objects);
    return [...namespaceWide(objects, sidecars), ...overlapping(selecting, pods), ...selectingNothing(objects, selecting, pods)];
  },
};
