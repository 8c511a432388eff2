// Injection as the injector's own settings shape it (SB1410-SB1412): namespaces that Istio's values
// inject without a label, pods that run another proxy image than the injector's, and annotations
// of features Istio calls alpha (with --values-file only). The settings come from --values-file,
// else from the istio-sidecar-injector ConfigMaps in the input, as Istio's analyzers read them; the
// proxy image is computed by the injector's own code, so analyze expects the image `switchboard inject` writes.
import type { V1Pod } from '@kubernetes/client-node';
import { defaultInjectorConfig } from '../../../injector/config.ts';
import { annotationKeys, initContainerName, labelKeys, proxyContainerName } from '../../../injector/istio/istio-constants.ts';
import { applyIstioConfiguration, parseIstioValues } from '../../../injector/istio/istio-values.ts';
import { autoImage } from '../../../injector/proxy/proxy-override.ts';
import { proxyImageReference } from '../../../injector/proxy/proxy-init.ts';
import { servedRevisions } from '../../../injector/revisions.ts';
import { hasInjectionStatus } from '../../../injector/reinjection.ts';
import { finding, type Finding } from '../../finding.ts';
import { groupBy, isRecord, records, type MeshObject, type ObjectSet } from '../../objects.ts';
import type { AnalysisContext, InjectorValues, Rule } from '../../rule.ts';
import { ANNOTATION_FEATURE_STATUS } from './annotation-status.ts';
import { CONTROLLER_SET_ANNOTATIONS, ISTIO_ANNOTATIONS, isIstioAnnotationKey } from './annotations.ts';
import { annotatedMetadata, annotationPath, inIgnoredNamespace, type AnnotatedMetadata } from './injection-istio.ts';
import { alreadyCreated, injectedByDefaultSource, injectorWithTags } from './pods.ts';

export const NAMESPACE_INJECTION_ENABLED_BY_DEFAULT = { code: 'SB1410', name: 'NamespaceInjectionEnabledByDefault', severity: 'info' } as const;
export const PODS_PROXY_IMAGE_MISMATCH = { code: 'SB1411', name: 'PodsIstioProxyImageMismatchInNamespace', severity: 'warning' } as const;
export const ALPHA_ANNOTATION = { code: 'SB1412', name: 'AlphaAnnotation', severity: 'info' } as const;

const DATAPLANE_MODE = 'istio.io/dataplane-mode';
const INJECTOR_CONFIGMAP = /^istio-sidecar-injector(?:-(.+))?$/;
/** Istio's proxy image types (ProxyImage.imageType): a variant is the injector's image with "-<type>" on the tag. */
const IMAGE_VARIANTS = ['debug', 'distroless'];
/** How many pods a message names before "and N more". */
const NAMED_PODS = 5;

/** One injector's settings: the revisions it serves and the proxy image it injects. */
interface InjectorView {
  revisions: ReadonlySet<string>;
  image: string;
  /** Where the settings were read, for messages. */
  source: string;
}

const configMapViews = new WeakMap<ObjectSet, InjectorView[]>();

/**
 * The injectors the input describes: --values-file first, then each istio-sidecar-injector[-REV]
 * ConfigMap for a revision the file does not serve (Istio's analyzer takes the revision from the
 * ConfigMap's name). A ConfigMap whose values the injector would refuse tells nothing and is skipped.
 */
function injectorViews(objects: ObjectSet, injector: InjectorValues | undefined): InjectorView[] {
  const views: InjectorView[] = [];
  if (injector !== undefined) {
    const config = injectorWithTags(injector);
    views.push({ revisions: servedRevisions(config).names, image: proxyImageReference(config), source: injector.source });
  }
  let fromConfigMaps = configMapViews.get(objects);
  if (fromConfigMaps === undefined) {
    fromConfigMaps = objects.ofKind('ConfigMap').flatMap(configMapView);
    configMapViews.set(objects, fromConfigMaps);
  }
  for (const view of fromConfigMaps) {
    if (!views.some((known) => [...view.revisions].some((revision) => known.revisions.has(revision)))) views.push(view);
  }
  return views;
}

function configMapView(configMap: MeshObject): InjectorView[] {
  const match = INJECTOR_CONFIGMAP.exec(configMap.metadata.name);
  const text = isRecord(configMap.data) ? configMap.data.values : undefined;
  if (match === null || typeof text !== 'string') return [];
  const source = `ConfigMap ${configMap.metadata.namespace}/${configMap.metadata.name}`;
  try {
    const config = applyIstioConfiguration(defaultInjectorConfig(), parseIstioValues(text, source), undefined, { values: source, mesh: '' });
    return [{ revisions: new Set([match[1] ?? 'default']), image: proxyImageReference(config), source }];
  } catch {
    return [];
  }
}

/** The revision whose injector a namespace's labels select; istio-injection=enabled wins over istio.io/rev, as in the webhooks. */
function namespaceRevision(namespace: MeshObject): string | undefined {
  const labels = namespace.metadata.labels ?? {};
  const injection = labels[labelKeys.namespaceInjection];
  if (injection === 'enabled') return 'default';
  if (injection !== undefined) return undefined;
  return labels[labelKeys.revision];
}

function unlabelledNamespaceFindings(objects: ObjectSet, context: AnalysisContext): Finding[] {
  const source = injectedByDefaultSource(objects, context.injector);
  if (source === undefined) return [];
  return objects.ofKind('Namespace')
    .filter((namespace) => !inIgnoredNamespace(namespace) && !['istio-system', context.meshRootNamespace].includes(namespace.metadata.name))
    .filter((namespace) => {
      const labels = namespace.metadata.labels ?? {};
      // The chart's webhook for unlabelled namespaces asks that both labels be absent: an empty value is a label.
      return labels[labelKeys.namespaceInjection] === undefined && labels[labelKeys.revision] === undefined && labels[DATAPLANE_MODE] !== 'ambient';
    })
    .map((namespace) => finding(NAMESPACE_INJECTION_ENABLED_BY_DEFAULT, namespace,
      `metadata.labels has neither ${labelKeys.namespaceInjection} nor ${labelKeys.revision}, and Istio is installed with ` +
      `sidecarInjectorWebhook.enableNamespacesByDefault: true (${source}): istiod's injector gives every pod created in namespace ${namespace.metadata.name} ` +
      'a sidecar unless it opts out, but Switchboard\'s webhooks do not select the namespace, so its new pods get none once istiod\'s webhook is removed; ' +
      `label it ${labelKeys.namespaceInjection}=enabled to make injection explicit, ` +
      `or ${labelKeys.namespaceInjection}=disabled if it should stay outside the mesh`));
}

const isLive = (pod: MeshObject) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && pod.metadata.deletionTimestamp === undefined;

/** The image of the pod's istio-proxy (sidecar or native sidecar), when it names one. */
function proxyImage(pod: MeshObject): string | undefined {
  const container = [...records(pod.spec?.containers), ...records(pod.spec?.initContainers)].find((item) => item.name === proxyContainerName);
  return typeof container?.image === 'string' ? container.image : undefined;
}

function imageMismatchFindings(objects: ObjectSet, context: AnalysisContext): Finding[] {
  const views = injectorViews(objects, context.injector);
  if (views.length === 0) return [];
  const findings: Finding[] = [];
  // Grouped once: each namespace looks up its own pods.
  const pods = groupBy(objects.ofKind('Pod'), (pod) => pod.metadata.namespace);
  for (const namespace of objects.ofKind('Namespace')) {
    const revision = namespaceRevision(namespace);
    const view = revision === undefined ? undefined : views.find((candidate) => candidate.revisions.has(revision));
    if (view === undefined || inIgnoredNamespace(namespace)) continue;
    const accepted = new Set([view.image, ...IMAGE_VARIANTS.map((variant) => `${view.image}-${variant}`)]);
    const mismatched = (pods.get(namespace.metadata.name) ?? [])
      // A manifest's Pod is injected afresh when created; only a created pod keeps the proxy it got.
      .filter((pod) => alreadyCreated(pod) && isLive(pod))
      // A pod that names its own proxy image (an annotation Istio honours) is not the injector's choice.
      .filter((pod) => (pod.metadata.annotations?.['sidecar.istio.io/proxyImage'] ?? '') === '')
      .flatMap((pod) => {
        const image = proxyImage(pod);
        // `image: auto` that was never replaced is SB1409's.
        return image === undefined || image === autoImage || accepted.has(image) ? [] : [{ name: pod.metadata.name, image }];
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    if (mismatched.length === 0) continue;
    const named = mismatched.slice(0, NAMED_PODS).map((pod) => `${pod.name} (${pod.image})`).join(', ');
    const more = mismatched.length > NAMED_PODS ? ` and ${mismatched.length - NAMED_PODS} more` : '';
    findings.push(finding(PODS_PROXY_IMAGE_MISMATCH, namespace,
      `pods ${named}${more} run an istio-proxy image other than ${view.image}, which the injector of revision ${revision} injects (${view.source}): ` +
      'they were injected before that image changed (an Istio upgrade, or another hub or tag), and keep their old proxy until they are created again; ' +
      `restart their workloads (kubectl rollout restart -n ${namespace.metadata.name} ...) so that new pods are injected with ${view.image}`));
  }
  return findings;
}

/** The annotations the injection template writes for Istio CNI, which reads the redirect from them. */
const CNI_ANNOTATIONS: ReadonlySet<string> = new Set([
  annotationKeys.interceptionMode, annotationKeys.includeOutboundIPRanges, annotationKeys.excludeOutboundIPRanges,
  annotationKeys.includeInboundPorts, annotationKeys.excludeInboundPorts, annotationKeys.includeOutboundPorts, annotationKeys.excludeOutboundPorts,
]);

/**
 * An injected Pod under Istio CNI carries the CNI annotations whether or not anyone wrote them: the
 * values say CNI is on, or the pod shows it (Istio's analyzer's sign: no istio-init container).
 */
function injectorWroteCniAnnotations(target: AnnotatedMetadata, context: AnalysisContext): boolean {
  if (target.object.kind !== 'Pod' || target.prefix !== '') return false;
  const pod = target.object as unknown as V1Pod;
  if (!hasInjectionStatus(pod)) return false;
  if (context.injector?.config.cniEnabled === true) return true;
  return !(pod.spec?.initContainers ?? []).some((container) => container.name === initContainerName);
}

/**
 * Set by Istio's own installers or read by its tools, not a feature of the mesh: the gateway chart's
 * inject.istio.io/templates: gateway, and the analyzers' suppression annotation.
 */
function installerSet(key: string, value: unknown): boolean {
  return key === 'galley.istio.io/analyze-suppress' || (key === annotationKeys.injectTemplates && value === 'gateway');
}

function alphaAnnotationFindings(target: AnnotatedMetadata, context: AnalysisContext): Finding[] {
  const cni = injectorWroteCniAnnotations(target, context);
  return Object.entries(target.annotations).flatMap(([key, value]) => {
    if (!isIstioAnnotationKey(key) || CONTROLLER_SET_ANNOTATIONS.has(key) || ANNOTATION_FEATURE_STATUS[key] !== 'Alpha' || installerSet(key, value)) return [];
    const definition = ISTIO_ANNOTATIONS[key];
    // A deprecated one is SB1406's and a misplaced one SB1403's: both already say to change it.
    if (definition === undefined || definition.deprecated === true) return [];
    if (!definition.appliesTo.includes('Any') && !(definition.appliesTo as readonly string[]).includes(target.kind)) return [];
    if (cni && CNI_ANNOTATIONS.has(key)) return [];
    return [finding(ALPHA_ANNOTATION, target.object,
      `${annotationPath(target.prefix, key)}: Istio marks ${key} as part of an alpha feature, which may change or be removed in a later release ` +
      'and is less tested than beta and stable ones; keep it only where you need it, and check the release notes of each Istio upgrade for it')];
  });
}

export const injectorValuesRule: Rule = {
  definitions: [NAMESPACE_INJECTION_ENABLED_BY_DEFAULT, PODS_PROXY_IMAGE_MISMATCH, ALPHA_ANNOTATION],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    return [
      ...unlabelledNamespaceFindings(objects, context),
      ...imageMismatchFindings(objects, context),
      // Istio leaves its alpha analyzer out of the default run, for the noise: here it takes --values-file.
      ...(context.injector === undefined ? [] : annotatedMetadata(objects).flatMap((target) => alphaAnnotationFindings(target, context))),
    ];
  },
};
