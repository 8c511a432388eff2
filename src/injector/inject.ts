// injectPod: the pure transformation from an application pod to a pod with Istio's sidecar, matching
// what Istio's injection template and post-processing (pkg/kube/inject) produce.
import type { V1EnvVar, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { resolveSidecarSettings, type SidecarSettings } from './annotations.ts';
import type { InjectorConfig } from './config.ts';
import { isAlreadyInjected, podShapeProblem } from './pod-shape.ts';
import { injectedAnnotations, injectedLabels, sidecarStatus } from './pod-metadata.ts';
import { mergePrometheusAnnotations, type PrometheusMergeResult } from './prometheus-merge.ts';
import { buildProxyContainer } from './proxy-container.ts';
import { buildInitContainer } from './proxy-init.ts';
import { placeInjectedContainers } from './ordering.ts';
import { proxyPodVolumes } from './proxy-volumes.ts';
import { rewriteAppProbes } from './probes.ts';
import { statusPort } from './istio-constants.ts';
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
 * never modified. An already injected pod comes back unchanged. Throws InjectionRefusedError when the
 * pod's sidecar annotations are invalid and no settings were given.
 */
export function injectPod(pod: V1Pod, config: InjectorConfig, options: InjectOptions = {}): V1Pod {
  const shapeProblem = podShapeProblem(pod);
  if (shapeProblem) throw new TypeError(`cannot inject this pod: ${shapeProblem}`);
  if (isAlreadyInjected(pod)) return structuredClone(pod);
  // Only the pod, its metadata and spec are copied: every change below replaces a whole field
  // (an array, the labels, the annotations), so untouched subtrees can be shared with the input.
  // Sharing is what makes the diff cheap: identical references compare equal at once.
  const injected: V1Pod = { ...pod, metadata: { ...pod.metadata }, spec: { ...(pod.spec as V1PodSpec) } };
  const settings = options.settings ?? resolvedOrThrow(pod, config);
  const workload = options.workload ?? workloadOfPod(pod, options.namespace ?? '');
  const spec = injected.spec as V1PodSpec;
  const metadata = (injected.metadata ??= {});

  const merged: PrometheusMergeResult = settings.prometheusMerge
    ? mergePrometheusAnnotations(metadata.annotations ?? {})
    : { annotations: metadata.annotations ?? {} };
  const proxy = buildProxyContainer(pod, settings, config, workload);
  if (merged.scrapeEnv) (proxy.env as V1EnvVar[]).push(merged.scrapeEnv);
  if (settings.rewriteAppProbes) {
    const rewritten = rewriteAppProbes(spec.containers, spec.initContainers, statusPort);
    spec.containers = rewritten.containers;
    if (rewritten.initContainers) spec.initContainers = rewritten.initContainers;
    if (rewritten.appProbersEnv) (proxy.env as V1EnvVar[]).push(rewritten.appProbersEnv);
  }
  const iptables = settings.interceptionMode === 'NONE' ? [] : [buildInitContainer(settings, config)];
  placeInjectedContainers(spec, { iptables, proxy, nativeSidecar: settings.nativeSidecar, holdApplicationUntilProxyStarts: settings.holdApplicationUntilProxyStarts });

  const volumes = proxyPodVolumes(config);
  spec.volumes = [...(spec.volumes ?? []), ...volumes];
  const pullSecrets = addImagePullSecrets(spec, config.imagePullSecrets);

  const status = sidecarStatus(
    {
      initContainers: settings.nativeSidecar ? [...iptables.map(nameOf), proxy.name] : iptables.map(nameOf),
      containers: settings.nativeSidecar ? [] : [proxy.name],
      volumes: volumes.map(nameOf),
      imagePullSecrets: pullSecrets,
    },
    config,
  );
  metadata.labels = injectedLabels(metadata.labels ?? {}, workload);
  metadata.annotations = injectedAnnotations(merged.annotations, injected, status, config);
  return injected;
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
