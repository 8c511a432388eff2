// injectPod: the pure transformation from an application pod to a pod with Istio's sidecar, matching
// what Istio's injection template and post-processing (pkg/kube/inject) produce.
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { parseGoBoolean, resolveSidecarSettings, type SidecarSettings } from './annotations.ts';
import { istioSettings, type InjectorConfig } from './config.ts';
import { podShapeProblem } from './pod-shape.ts';
import { cniAnnotations, injectedAnnotations, injectedLabels, sidecarStatus, templateAnnotations } from './pod-metadata.ts';
import { mergePrometheusAnnotations, type PrometheusMergeResult } from './proxy/prometheus-merge.ts';
import { buildProxyContainer } from './proxy/proxy-container.ts';
import { buildInitContainer } from './proxy/proxy-init.ts';
import { placeInjectedContainers } from './ordering.ts';
import { rewriteAppProbes } from './proxy/probes.ts';
import { annotationKeys, proxyContainerName, proxyUid } from './istio/istio-constants.ts';
import { exemptProxyUid, findProxyOverride, mergeProxyOverride, overrideAnnotation, takeProxyOverride, templateProxyRefusals } from './proxy/proxy-override.ts';
import { stripPreviousInjection } from './reinjection.ts';
import { gatewayPodSecurityContext } from './templates/gateway.ts';
import { mergeIntoAppContainers, proxyRendering, renderTemplates, withSources } from './templates/render.ts';
import { placeProxy } from './templates/selection.ts';
import { strategicMerge } from './templates/strategic-merge.ts';
import { InjectionRefusedError } from './refusals.ts';
import { workloadOfPod, type WorkloadIdentity } from './workload-identity.ts';

export interface InjectOptions {
  /** The admission request's namespace, used when the pod has no metadata.namespace. */
  namespace?: string;
  /** The workload owning the pod; derived from its ownerReferences when absent. */
  workload?: WorkloadIdentity;
  /** Settings already resolved from the pod's annotations (and found valid). */
  settings?: SidecarSettings;
}

/**
 * Returns a new pod with istio-init, istio-proxy, their volumes, labels and annotations; the input is
 * never modified. Throws InjectionRefusedError when the pod's sidecar annotations are invalid and no
 * settings were given. The steps run in Istio's order (pkg/kube/inject/webhook.go, injectPod):
 *   1. strip a previous injection (status annotation), so re-injection is idempotent;
 *   2. render each template named (inject.istio.io/templates) and merge them in order, as strategic
 *      merge patches; then merge the pod's own istio-proxy, and its own app containers, over that;
 *   3. metrics merge, then probe rewriting, on the pod's own containers;
 *   4. order the containers; 5. volumes, pull secrets, labels, annotations and the status.
 */
export function injectPod(pod: V1Pod, config: InjectorConfig, options: InjectOptions = {}): V1Pod {
  const shapeProblem = podShapeProblem(pod);
  if (shapeProblem) throw new TypeError(`cannot inject this pod: ${shapeProblem}`);
  const istio = istioSettings(config);
  const previous = stripPreviousInjection(pod, istio.agentStatusPort);
  const original = previous?.pod ?? pod;
  // Only the pod, its metadata and spec are copied: every change below replaces a whole field
  // (an array, the labels, the annotations), so untouched subtrees can be shared with the input.
  // Sharing is what makes the diff cheap: identical references compare equal at once.
  const injected: V1Pod = { ...original, metadata: { ...original.metadata }, spec: { ...(original.spec as V1PodSpec) } };
  const settings = options.settings ?? resolvedOrThrow(pod, config);
  const workload = options.workload ?? workloadOfPod(pod, options.namespace ?? '');
  const spec = injected.spec as V1PodSpec;
  const metadata = (injected.metadata ??= {});
  const { templates } = settings;
  const sidecar = templates.includes('sidecar');
  // The admission refuses these first; a direct caller gets the same refusals.
  const ownProxy = findProxyOverride(pod);
  const placement = placeProxy(templates, settings.nativeSidecar, (name) => proxyRendering(name, settings.nativeSidecar, config, ownProxy !== undefined));
  const refused = ownProxy ? templateProxyRefusals(ownProxy, config, settings) : placement.refusal ? [placement.refusal] : [];
  if (refused.length > 0) throw new InjectionRefusedError(refused);
  const nativeSidecar = placement.list === 'initContainers';

  // Every template sees the pod as it came (its own istio-proxy among its ports); then the pod's
  // istio-proxy becomes the override, merged over the proxy the templates rendered.
  const sidecarProxy = buildProxyContainer(injected, settings, config, workload);
  const templateInput = { pod: { ...injected, spec: { ...spec } }, settings, config, workload, sidecarProxy, nativeSidecar: settings.nativeSidecar };
  const override = takeProxyOverride(spec);
  const tproxy = settings.interceptionMode === 'TPROXY';
  const iptables = !sidecar || settings.interceptionMode === 'NONE' ? [] : [buildInitContainer(settings, config, exemptProxyUid(override?.container, tproxy, proxyUid))];
  const templatePod = renderTemplates(templates, { ...templateInput, iptables });
  const rendered = templatePod.proxy;
  const proxy = rendered && override ? mergeProxyOverride(rendered, override.container) : rendered;
  // Istio adjusts the proxy's user only in a pod with istio-init or istio-validation (adjustInitContainerUser).
  if (proxy && tproxy && iptables.length > 0 && override?.container.securityContext?.runAsUser !== undefined) {
    proxy.securityContext = { ...proxy.securityContext, runAsUser: 0 };
  }
  const apps = mergeIntoAppContainers(templatePod, spec.containers, spec.initContainers);
  spec.containers = apps.containers;
  if (apps.initContainers) spec.initContainers = apps.initContainers;

  // The post-processing reads the merged pod's annotations: a template may turn the metrics merge or
  // the probe rewrite off (the gRPC ones do), or, a custom one, declare scrape annotations. The
  // shipped templates set none of those, so without a custom one the merge reads the pod's own.
  const ownAnnotations = metadata.annotations ?? {};
  const templated: Record<string, string> = Object.assign({}, ...templates.map((template) => templateAnnotations(template, original, settings, config)));
  const custom = templates.some((template) => istio.customTemplates[template] !== undefined);
  const scraped = custom ? { ...ownAnnotations, ...templated } : ownAnnotations;
  const merges = goBooleanOr(templated[annotationKeys.mergeMetrics], settings.prometheusMerge, config.prometheusMerge);
  const merged: PrometheusMergeResult = merges ? mergePrometheusAnnotations(scraped, istio.agentStatusPort) : { annotations: scraped };
  // What the metrics merge replaced stays replaced.
  const renderedAnnotations: Record<string, string> = custom ? Object.fromEntries(Object.keys(templated).flatMap((key) => (key in merged.annotations ? [[key, merged.annotations[key] as string]] : []))) : templated;
  const rewrites = goBooleanOr(templated[annotationKeys.rewriteAppHTTPProbers], settings.rewriteAppProbes, config.rewriteAppHTTPProbe);
  if (proxy) {
    const proxyEnv = (proxy.env = [...(proxy.env ?? [])]);
    const scrapeEnv = merged.scrapeEnv ?? previous?.prometheusAnnotations;
    if (scrapeEnv) proxyEnv.push(scrapeEnv);
    if (rewrites) {
      const rewritten = rewriteAppProbes(spec.containers, spec.initContainers, settings.proxy.probeRewritePort, previous?.appProbers, istio.agentStatusPort);
      spec.containers = rewritten.containers;
      if (rewritten.initContainers) spec.initContainers = rewritten.initContainers;
      if (rewritten.appProbersEnv) proxyEnv.push(rewritten.appProbersEnv);
    }
  }
  placeInjectedContainers(spec, { iptables, proxy, nativeSidecar, validatesOnly: config.cniEnabled, holdApplicationUntilProxyStarts: settings.holdApplicationUntilProxyStarts });
  if (templates.includes('gateway')) spec.securityContext = gatewayPodSecurityContext(spec.securityContext, istio.gatewaySecurityContext);

  spec.volumes = withSources(strategicMerge({ volumes: spec.volumes ?? [] }, { volumes: templatePod.volumes }).volumes);
  const pullSecrets = templatePod.pullSecrets ? addImagePullSecrets(spec, config.imagePullSecrets) : [];
  const status = sidecarStatus(
    {
      initContainers: templatePod.initContainers.map(nameOf),
      containers: templatePod.containers.map(nameOf),
      volumes: templatePod.volumes.map(nameOf),
      imagePullSecrets: pullSecrets,
    },
    config,
  );
  metadata.labels = injectedLabels(metadata.labels ?? {}, workload, templates, config.network, settings.proxyMetadata.ISTIO_META_ENABLE_HBONE === 'true', config);
  // Istio records, on first injection, every container of the pod that a template also renders.
  const own = (name: string) =>
    name === proxyContainerName ? override?.container : [...original.spec!.containers, ...(original.spec!.initContainers ?? [])].find((container) => container.name === name);
  const recorded = previous
    ? {}
    : overrideAnnotation({
        containers: templatePod.containers.map((container) => own(container.name)).filter((found) => found !== undefined),
        initContainers: templatePod.initContainers.map((container) => own(container.name)).filter((found) => found !== undefined),
      });
  // In the order Istio's output has them, so that a re-injection changes nothing.
  const cni = sidecar && config.cniEnabled ? cniAnnotations(settings, ownAnnotations, config) : {};
  metadata.annotations = injectedAnnotations({ ...merged.annotations, ...cni, ...recorded, ...renderedAnnotations }, status, config);
  return injected;
}

/** A template's annotation, read as Istio reads the merged pod's: a Go boolean, else the setting. */
function goBooleanOr(annotation: string | undefined, setting: boolean, otherwise: boolean): boolean {
  if (annotation === undefined) return setting;
  return parseGoBoolean(annotation) ?? otherwise;
}

function resolvedOrThrow(pod: V1Pod, config: InjectorConfig): SidecarSettings {
  const { settings, refusals } = resolveSidecarSettings(pod.metadata?.annotations, config);
  if (refusals.length > 0) throw new InjectionRefusedError(refusals);
  return settings;
}

function addImagePullSecrets(spec: V1PodSpec, secretNames: string[]): string[] {
  if (secretNames.length === 0) return [];
  const present = new Set((spec.imagePullSecrets ?? []).map((reference) => reference.name));
  const added = secretNames.filter((name) => !present.has(name));
  if (added.length > 0) spec.imagePullSecrets = [...(spec.imagePullSecrets ?? []), ...added.map((name) => ({ name }))];
  return secretNames;
}

function nameOf(item: { name?: string }): string {
  return item.name ?? '';
}
