// Injection as Istio's analyzers see it (SB14xx): namespaces without injection labels or with
// conflicting ones, Istio annotations on the wrong kind, unknown, deprecated or with values the
// injector refuses, `image: auto` proxies that nothing will inject, and pods the injector turns away.
// Values are judged by the injector's own functions, so analyze, `switchboard inject` and the
// webhook give the same message.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { resolveSidecarSettings } from '../../../injector/annotations.ts';
import { defaultInjectorConfig } from '../../../injector/config.ts';
import { labelKeys, proxyContainerName } from '../../../injector/istio/istio-constants.ts';
import { podShapeProblem } from '../../../injector/pod-shape.ts';
import { autoImage, findProxyOverride, proxyOverrideRefusals } from '../../../injector/proxy/proxy-override.ts';
import { formatRefusal, refusalCodes, type Refusal } from '../../../injector/refusals.ts';
import { suggestField } from '../../field-suggestions.ts';
import { finding, type Finding } from '../../finding.ts';
import { CONTROLLER_SET_ANNOTATIONS, ISTIO_ANNOTATIONS, isIstioAnnotationKey } from './annotations.ts';
import { alreadyCreated, holdsPods, injectionOutlook, judgedPods, namespacesInjectedByDefault, podDecision, podOptsIn, type JudgedPod } from './pods.ts';
import { isRecord, type MeshObject, type ObjectSet } from '../../objects.ts';
import type { AnalysisContext, Rule } from '../../rule.ts';

export const NAMESPACE_NOT_INJECTED = { code: 'SB1401', name: 'NamespaceNotInjected', severity: 'info' } as const;
export const NAMESPACE_MULTIPLE_INJECTION_LABELS = { code: 'SB1402', name: 'NamespaceMultipleInjectionLabels', severity: 'warning' } as const;
export const MISPLACED_ANNOTATION = { code: 'SB1403', name: 'MisplacedAnnotation', severity: 'warning' } as const;
export const UNKNOWN_ANNOTATION = { code: 'SB1404', name: 'UnknownAnnotation', severity: 'warning' } as const;
export const INVALID_ANNOTATION = { code: 'SB1405', name: 'InvalidAnnotation', severity: 'warning' } as const;
export const DEPRECATED_ANNOTATION = { code: 'SB1406', name: 'DeprecatedAnnotation', severity: 'info' } as const;
export const IMAGE_AUTO_WITHOUT_INJECTION_WARNING = { code: 'SB1407', name: 'ImageAutoWithoutInjectionWarning', severity: 'warning' } as const;
export const INJECTOR_REFUSES_POD = { code: 'SB1408', name: 'InjectorRefusesPod', severity: 'error' } as const;
export const IMAGE_AUTO_WITHOUT_INJECTION_ERROR = { code: 'SB1409', name: 'ImageAutoWithoutInjectionError', severity: 'error' } as const;

const DATAPLANE_MODE = 'istio.io/dataplane-mode';

/** The Kubernetes system namespaces istioctl analyze leaves out of its input (pkg/kube/inject IgnoredNamespaces). */
const IGNORED_NAMESPACES: ReadonlySet<string> = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);

export function inIgnoredNamespace(object: MeshObject): boolean {
  return IGNORED_NAMESPACES.has(object.kind === 'Namespace' ? object.metadata.name : object.metadata.namespace);
}

/**
 * The first pod (or workload) of each namespace that would get a sidecar if its namespace asked for
 * one: it runs, does not opt out, and does not opt in by its own labels.
 */
function podsLeftOut(pods: readonly JudgedPod[]): Map<string, JudgedPod> {
  const first = new Map<string, JudgedPod>();
  for (const judged of pods) {
    const namespace = judged.object.metadata.namespace;
    if (first.has(namespace) || podOptsIn(judged.pod) || !podDecision(judged.pod, namespace).inject) continue;
    first.set(namespace, judged);
  }
  return first;
}

function namespaceFindings(namespace: MeshObject, objects: ObjectSet, context: AnalysisContext, leftOut: ReadonlyMap<string, JudgedPod>): Finding[] {
  const name = namespace.metadata.name;
  // Istio's injection analyzer skips istio-system, where the control plane runs.
  if (name === 'istio-system' || name === context.meshRootNamespace) return [];
  const labels = namespace.metadata.labels ?? {};
  const injection = labels[labelKeys.namespaceInjection];
  const findings: Finding[] = [];
  // A revision or dataplane mode next to istio-injection counts only when that label is "enabled":
  // any other value already keeps the namespace out, whatever else it says.
  const present = [
    ...(injection === undefined ? [] : [`${labelKeys.namespaceInjection}=${injection}`]),
    ...[labelKeys.revision, DATAPLANE_MODE]
      .filter((key) => labels[key] !== undefined && (injection === undefined || injection === 'enabled'))
      .map((key) => `${key}=${labels[key]}`),
  ];
  if (present.length > 1) findings.push(finding(NAMESPACE_MULTIPLE_INJECTION_LABELS, namespace, multipleLabelsMessage(labels, present)));

  if (labels[DATAPLANE_MODE] === 'ambient') return findings;
  const example = leftOut.get(name);
  const unlabelled = (injection === undefined || injection === '') && labels[labelKeys.revision] === undefined;
  if (unlabelled && example !== undefined && !namespacesInjectedByDefault(objects, context.injector)) {
    findings.push(finding(NAMESPACE_NOT_INJECTED, namespace,
      `metadata.labels has neither ${labelKeys.namespaceInjection} nor ${labelKeys.revision}: pods created in namespace ${name} ` +
      `(such as ${example.isPod ? '' : 'the pods of '}${example.object.kind} ${example.object.metadata.name}) get no sidecar unless each opts in ` +
      `(pod label ${labelKeys.revision}, or ${labelKeys.inject}="true"), so they are outside the mesh; ` +
      `label it ${labelKeys.namespaceInjection}=enabled (or ${labelKeys.revision}=<revision>) to inject it, ` +
      `or ${labelKeys.namespaceInjection}=disabled to record that it stays out`));
  }
  return findings;
}

function multipleLabelsMessage(labels: Record<string, string>, present: string[]): string {
  const revision = labels[labelKeys.revision];
  const mode = labels[DATAPLANE_MODE];
  const effect = revision !== undefined && labels[labelKeys.namespaceInjection] === 'enabled'
    ? `${labelKeys.namespaceInjection}=enabled wins: its pods get the default revision's sidecar and ${labelKeys.revision}=${revision} is ignored, ` +
      `so a revision-based upgrade does not move them`
    : mode === 'ambient'
      ? `the namespace asks for both sidecars and ambient, and pods that get a sidecar are left out of ambient capture, so its pods do not share one data plane`
      : `the namespace asks for sidecars and sets ${DATAPLANE_MODE}=${mode}, which Istio's tools read as a data plane choice of its own`;
  return `metadata.labels has ${present.join(' and ')}; ${effect}; keep only the label of the data plane (or revision) you mean`;
}

/** "spec.template.metadata.annotations" for a workload, "metadata.annotations" for the object itself. */
export function annotationPath(prefix: string, key: string): string {
  return `${prefix}metadata.annotations[${JSON.stringify(key)}]`;
}

export interface AnnotatedMetadata {
  object: MeshObject;
  /** The kind Istio judges the metadata as: a pod template's is a Pod's. */
  kind: string;
  prefix: string;
  annotations: Record<string, unknown>;
  labels: Record<string, unknown>;
  /** For a workload's own metadata: where its pods' metadata is. */
  podPrefix?: string;
}

function annotationFindings(target: AnnotatedMetadata): Finding[] {
  const findings: Finding[] = [];
  const { object, kind, prefix } = target;
  for (const key of Object.keys(target.annotations)) {
    if (!isIstioAnnotationKey(key) || CONTROLLER_SET_ANNOTATIONS.has(key)) continue;
    const path = annotationPath(prefix, key);
    const definition = ISTIO_ANNOTATIONS[key];
    if (definition === undefined) {
      const suggestion = suggestField(key, Object.keys(ISTIO_ANNOTATIONS));
      findings.push(finding(UNKNOWN_ANNOTATION, object,
        `${path} is not an annotation Istio knows${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}: ` +
        'nothing reads it, so the setting it was meant for is not applied; ' +
        'fix its name, or remove it'));
      continue;
    }
    // On a pod, the deprecated inject annotation is SB0602's (InjectAnnotationInsteadOfLabel).
    const injectCovered = key === labelKeys.inject && (kind === 'Pod' || target.labels[labelKeys.inject] !== undefined);
    if (definition.deprecated === true && !injectCovered) {
      findings.push(finding(DEPRECATED_ANNOTATION, object,
        `${path}: Istio has deprecated ${key}, and a future version may ignore it; ` +
        (definition.replacedBy === undefined ? 'stop relying on it' : `use ${definition.replacedBy} instead`)));
    }
    if (definition.appliesTo.includes('Any') || (definition.appliesTo as readonly string[]).includes(kind)) continue;
    findings.push(finding(MISPLACED_ANNOTATION, object,
      `${path} is on a ${kind}, but Istio reads ${key} only on a ${definition.appliesTo.join(' or ')}, so it has no effect here; ` +
      misplacedAdvice(target, key, definition.appliesTo)));
  }
  return findings;
}

function misplacedAdvice(target: AnnotatedMetadata, key: string, appliesTo: readonly string[]): string {
  if (target.podPrefix !== undefined && appliesTo.includes('Pod')) {
    return key === labelKeys.inject
      ? `set the label ${key} in ${target.podPrefix}metadata.labels instead`
      : `move it to ${target.podPrefix}metadata.annotations, the annotations of the pods`;
  }
  if (target.kind === 'Namespace' && key === labelKeys.inject) return `label the namespace ${labelKeys.namespaceInjection}=enabled or disabled instead`;
  if (appliesTo.includes('Pod')) return 'set it in the pod template (spec.template.metadata.annotations) of each workload it is meant for';
  if (target.kind === 'Pod' && appliesTo.includes('Service')) return 'move it to the Service of these pods';
  return `move it to the ${appliesTo.join(' or ')} it is meant for, or remove it`;
}

function ownMetadata(object: MeshObject, pods: readonly JudgedPod[]): AnnotatedMetadata | undefined {
  const checked = object.kind === 'Namespace' || object.kind === 'Service' || (object.kind !== 'Pod' && holdsPods(object));
  if (!checked || !isRecord(object.metadata.annotations)) return undefined;
  const podPrefix = pods.find((pod) => pod.object === object)?.fieldPrefix;
  return {
    object, kind: object.kind, prefix: '', annotations: object.metadata.annotations, labels: object.metadata.labels ?? {},
    ...(podPrefix === undefined ? {} : { podPrefix }),
  };
}

function podMetadata({ object, pod, fieldPrefix }: JudgedPod): AnnotatedMetadata | undefined {
  const metadata = pod.metadata as Record<string, unknown> | undefined;
  if (!isRecord(metadata?.annotations)) return undefined;
  return { object, kind: 'Pod', prefix: fieldPrefix, annotations: metadata.annotations, labels: isRecord(metadata.labels) ? metadata.labels : {} };
}

function stringAnnotations(pod: V1Pod): Record<string, string> {
  const annotations: unknown = pod.metadata?.annotations;
  if (!isRecord(annotations)) return {};
  return Object.fromEntries(Object.entries(annotations).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/**
 * The injector's refusals of this pod, except the UID/GID 1337 policy (SB0601) and an istio-proxy
 * image other than the injector's, which depends on the injector's configuration (analyze has it
 * only with --values-file, and then judges the images of running pods: SB1411).
 */
function injectorRefusals(pod: V1Pod): Refusal[] {
  const config = defaultInjectorConfig();
  const { refusals } = resolveSidecarSettings(stringAnnotations(pod), config);
  const override = findProxyOverride(pod);
  const overrideRefusals = override === undefined ? [] : proxyOverrideRefusals(override, config).filter((refusal) => !refusal.field.endsWith('.image'));
  return [...refusals, ...overrideRefusals];
}

function podFindings(judged: JudgedPod, objects: ObjectSet, context: AnalysisContext): Finding[] {
  const { object, pod, fieldPrefix } = judged;
  // The API server refuses such a pod before any webhook sees it; the schema rules say why.
  if (podShapeProblem(pod) !== undefined) return [];
  const findings: Finding[] = [];
  const refusals = injectorRefusals(pod);
  for (const refusal of refusals.filter((item) => item.code === refusalCodes.invalidAnnotation)) {
    findings.push(finding(INVALID_ANNOTATION, object, `${formatRefusal(refusal, fieldPrefix)}; the injector refuses to inject the pod until it is fixed`));
  }
  const created = alreadyCreated(object);
  const outlook = injectionOutlook(pod, object.metadata.namespace, objects, context.injector);
  if (outlook.injected !== false) {
    for (const refusal of refusals.filter((item) => item.code !== refusalCodes.invalidAnnotation)) {
      findings.push(finding(INJECTOR_REFUSES_POD, object,
        `${formatRefusal(refusal, fieldPrefix)}; the injector refuses such pods (${refusal.code}), ` +
        `so ${created ? 'it would not be created again' : 'they are not created'}`));
    }
  }
  // A pod that already exists is SB1409's: it was admitted without injection, whatever its labels say now.
  if (!created && outlook.injected === false) {
    for (const where of autoImageContainers(pod)) {
      findings.push(finding(IMAGE_AUTO_WITHOUT_INJECTION_WARNING, object,
        `${fieldPrefix}${where} is istio-proxy with image: auto, which only injection replaces, but the pod is not injected (${outlook.reason}): ` +
        'the kubelet cannot pull an image named "auto" and the pod never starts; ' +
        'have the pod injected (label its namespace, or drop what opts it out), or remove the istio-proxy container'));
    }
  }
  return findings;
}

/** Where the pod has Istio's `image: auto` placeholder proxy, e.g. "spec.containers[0]". */
function autoImageContainers(pod: V1Pod): string[] {
  const lists = [['containers', pod.spec?.containers], ['initContainers', pod.spec?.initContainers]] as const;
  return lists.flatMap(([list, containers]) =>
    ((containers ?? []) as V1Container[]).flatMap((container, index) =>
      isRecord(container) && container.name === proxyContainerName && container.image === autoImage ? [`spec.${list}[${index}]`] : []));
}

/** A pod that exists with the placeholder still in place was never injected, whatever the webhooks say now. */
function createdPodFindings(pod: MeshObject): Finding[] {
  if (!alreadyCreated(pod) || podShapeProblem(pod) !== undefined) return [];
  return autoImageContainers(pod as unknown as V1Pod).map((where) => finding(IMAGE_AUTO_WITHOUT_INJECTION_ERROR, pod,
    `${where} is istio-proxy with image: auto, so the pod was created without injection: the placeholder image cannot be pulled and the pod does not run; ` +
    `enable injection for its namespace or workload, then delete the pod (or restart its workload) so that it is created again`));
}

/** The pods (and pod templates) the family judges: those outside the Kubernetes system namespaces. */
export function injectionPods(objects: ObjectSet): JudgedPod[] {
  return judgedPods(objects).filter((pod) => !inIgnoredNamespace(pod.object));
}

/**
 * Every metadata whose annotations Istio's analyzers judge: Namespaces, Services and workloads (their
 * own), and each pod or pod template (as a Pod's), outside the Kubernetes system namespaces.
 */
export function annotatedMetadata(objects: ObjectSet, pods: readonly JudgedPod[] = injectionPods(objects)): AnnotatedMetadata[] {
  const judgedObjects = new Set(pods.map((pod) => pod.object));
  return [
    ...objects.all.filter((object) => !inIgnoredNamespace(object) && object.kind !== 'Pod' && (!holdsPods(object) || judgedObjects.has(object)))
      .map((object) => ownMetadata(object, pods)),
    ...pods.map(podMetadata),
  ].filter((item) => item !== undefined);
}

export const injectionIstioRule: Rule = {
  definitions: [
    NAMESPACE_NOT_INJECTED, NAMESPACE_MULTIPLE_INJECTION_LABELS, MISPLACED_ANNOTATION, UNKNOWN_ANNOTATION, INVALID_ANNOTATION, DEPRECATED_ANNOTATION,
    IMAGE_AUTO_WITHOUT_INJECTION_WARNING, INJECTOR_REFUSES_POD, IMAGE_AUTO_WITHOUT_INJECTION_ERROR,
  ],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    const pods = injectionPods(objects);
    const leftOut = podsLeftOut(pods);
    const judged = (object: MeshObject) => !inIgnoredNamespace(object);
    return [
      ...objects.ofKind('Namespace').filter(judged).flatMap((namespace) => namespaceFindings(namespace, objects, context, leftOut)),
      ...annotatedMetadata(objects, pods).flatMap(annotationFindings),
      ...pods.flatMap((pod) => podFindings(pod, objects, context)),
      ...objects.ofKind('Pod').filter(judged).flatMap(createdPodFindings),
    ];
  },
};
