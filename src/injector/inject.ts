// injectPod: the pure transformation from an application pod to a pod with Istio's sidecar, matching
// what Istio's injection template and post-processing (pkg/kube/inject) produce.
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { resolveSidecarSettings, type SidecarSettings } from './annotations.ts';
import { istioSettings, type InjectorConfig } from './config.ts';
import { podShapeProblem } from './pod-shape.ts';
import { cniAnnotations, injectedAnnotations, injectedLabels, sidecarStatus } from './pod-metadata.ts';
import { mergePrometheusAnnotations, type PrometheusMergeResult } from './proxy/prometheus-merge.ts';
import { buildProxyContainer } from './proxy/proxy-container.ts';
import { buildInitContainer } from './proxy/proxy-init.ts';
import { placeInjectedContainers } from './ordering.ts';
import { lightstepVolumes, proxyPodVolumes } from './proxy/proxy-volumes.ts';
import { rewriteAppProbes } from './proxy/probes.ts';
import { proxyUid } from './istio/istio-constants.ts';
import { exemptProxyUid, mergeProxyOverride, overrideAnnotation, takeProxyOverride } from './proxy/proxy-override.ts';
import { stripPreviousInjection } from './reinjection.ts';
import { asGatewayProxy, gatewayPodSecurityContext } from './templates.ts';
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
 *   2. build the proxy (and istio-init) for the template, then merge the pod's own istio-proxy over it;
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
  const gateway = settings.template === 'gateway';

  // The template sees the pod's own istio-proxy (its ports count among the pod's); then it becomes the override.
  const templateProxy = buildProxyContainer(injected, settings, config, workload);
  const override = takeProxyOverride(spec);
  const renderedProxy = gateway ? asGatewayProxy(templateProxy, config, proxyConfigInterceptionMode(settings, config)) : templateProxy;
  const proxy = override ? mergeProxyOverride(renderedProxy, override.container) : renderedProxy;
  const tproxy = settings.interceptionMode === 'TPROXY';
  const iptables = gateway || settings.interceptionMode === 'NONE' ? [] : [buildInitContainer(settings, config, exemptProxyUid(override?.container, tproxy, proxyUid))];
  // Istio adjusts the proxy's user only in a pod with istio-init or istio-validation (adjustInitContainerUser).
  if (tproxy && iptables.length > 0 && override?.container.securityContext?.runAsUser !== undefined) {
    proxy.securityContext = { ...proxy.securityContext, runAsUser: 0 };
  }

  const proxyEnv = (proxy.env = [...(proxy.env ?? [])]);
  const merged: PrometheusMergeResult = settings.prometheusMerge
    ? mergePrometheusAnnotations(metadata.annotations ?? {}, istio.agentStatusPort)
    : { annotations: metadata.annotations ?? {} };
  const scrapeEnv = merged.scrapeEnv ?? previous?.prometheusAnnotations;
  if (scrapeEnv) proxyEnv.push(scrapeEnv);
  if (settings.rewriteAppProbes) {
    const rewritten = rewriteAppProbes(spec.containers, spec.initContainers, settings.proxy.probeRewritePort, previous?.appProbers, istio.agentStatusPort);
    spec.containers = rewritten.containers;
    if (rewritten.initContainers) spec.initContainers = rewritten.initContainers;
    if (rewritten.appProbersEnv) proxyEnv.push(rewritten.appProbersEnv);
  }
  const nativeSidecar = settings.nativeSidecar && !gateway;
  placeInjectedContainers(spec, { iptables, proxy, nativeSidecar, validatesOnly: config.cniEnabled, holdApplicationUntilProxyStarts: settings.holdApplicationUntilProxyStarts });
  if (gateway) spec.securityContext = gatewayPodSecurityContext(spec.securityContext, istio.gatewaySecurityContext);

  // The gateway template has neither the pod's user volumes nor the lightstep CA.
  const volumes = [
    ...proxyPodVolumes(config, settings.template, spec.serviceAccountName),
    ...(gateway ? [] : [...settings.proxy.userVolumes, ...lightstepVolumes(settings.proxyConfig, config)]),
  ];
  spec.volumes = [...(spec.volumes ?? []), ...volumes];
  const pullSecrets = addImagePullSecrets(spec, config.imagePullSecrets);

  const status = sidecarStatus(
    {
      initContainers: nativeSidecar ? [...iptables.map(nameOf), proxy.name] : iptables.map(nameOf),
      containers: nativeSidecar ? [] : [proxy.name],
      volumes: volumes.map(nameOf),
      imagePullSecrets: pullSecrets,
    },
    config,
  );
  metadata.labels = injectedLabels(metadata.labels ?? {}, workload, settings.template, config.network, settings.proxyMetadata.ISTIO_META_ENABLE_HBONE === 'true');
  const annotations = config.cniEnabled && !gateway ? { ...merged.annotations, ...cniAnnotations(settings, merged.annotations, config) } : merged.annotations;
  metadata.annotations = injectedAnnotations(override && !previous ? { ...annotations, ...overrideAnnotation(override.container, nativeSidecar) } : annotations, injected, status, config);
  return injected;
}

/** The ProxyConfig's interception mode (the mesh default, or the pod's proxy.istio.io/config over it). */
function proxyConfigInterceptionMode(settings: SidecarSettings, config: InjectorConfig): string {
  const mode = settings.proxyConfig.interceptionMode;
  return typeof mode === 'string' && mode !== '' ? mode : config.interceptionMode;
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
