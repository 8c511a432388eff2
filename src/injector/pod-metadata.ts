// Labels and annotations an injected pod carries, as Istio's template sets them.
import type { V1Pod } from '@kubernetes/client-node';
import type { SidecarSettings } from './annotations.ts';
import { istioSettings, type InjectorConfig } from './config.ts';
import { excludedInboundPorts } from './proxy/proxy-annotations.ts';
import { annotationKeys, labelKeys, proxyContainerName } from './istio/istio-constants.ts';
import type { WorkloadIdentity } from './workload-identity.ts';

function firstNonEmpty(...candidates: Array<string | undefined>): string {
  return candidates.find((candidate) => candidate !== undefined && candidate !== '') ?? '';
}

/** The label value limit is 63 characters; Istio's template truncates, then trims "-", "_" and "." from both ends. */
function asLabelValue(text: string): string {
  return text.slice(0, 63).replace(/^[-_.]+|[-_.]+$/g, '');
}

/**
 * The labels one template sets (each over the pod's own). hbone: the pod's ProxyConfig has
 * ISTIO_META_ENABLE_HBONE "true" in its proxyMetadata; the sidecar template then labels it as
 * reachable through the HBONE tunnel. Only the sidecar template trims the canonical name to a label value.
 */
export function templateLabels(template: string, labels: Record<string, string>, workload: WorkloadIdentity, hbone = false, config?: InjectorConfig): Record<string, string> {
  if (template === 'grpc-simple') return {};
  const custom = config ? istioSettings(config).customTemplates[template] : undefined;
  if (custom) return custom.labels;
  const sidecar = template === 'sidecar';
  const name = firstNonEmpty(labels[labelKeys.canonicalName], labels['app.kubernetes.io/name'], labels.app, workload.name);
  return {
    ...(sidecar ? { [labelKeys.tlsMode]: firstNonEmpty(labels[labelKeys.tlsMode], 'istio') } : {}),
    ...(sidecar && hbone ? { [tunnelLabel]: firstNonEmpty(labels[tunnelLabel], 'http') } : {}),
    [labelKeys.canonicalName]: sidecar ? asLabelValue(name) : name,
    [labelKeys.canonicalRevision]: firstNonEmpty(labels[labelKeys.canonicalRevision], labels['app.kubernetes.io/version'], labels.version, 'latest'),
  };
}

/** The pod's labels, then each template's in order, then the network label, which Istio sets over the pod's own. */
export function injectedLabels(
  labels: Record<string, string>,
  workload: WorkloadIdentity,
  templates: readonly string[] = ['sidecar'],
  network = '',
  hbone = false,
  config?: InjectorConfig,
): Record<string, string> {
  const rendered = templates.map((template) => templateLabels(template, labels, workload, hbone, config));
  const networkLabel = network === '' ? {} : { [labelKeys.network]: network };
  return Object.assign({ ...labels }, networkLabel, ...rendered, networkLabel) as Record<string, string>;
}

const tunnelLabel = 'networking.istio.io/tunnel';

export function revisionName(config: InjectorConfig): string {
  return config.revision === '' ? 'default' : config.revision;
}

/** The sidecar.istio.io/status value, field for field as Istio's SidecarInjectionStatus marshals it. */
export function sidecarStatus(injected: { initContainers: string[]; containers: string[]; volumes: string[]; imagePullSecrets: string[] }, config: InjectorConfig): string {
  const listOrNull = (names: string[]) => (names.length > 0 ? names : null);
  return JSON.stringify({
    initContainers: listOrNull(injected.initContainers),
    containers: listOrNull(injected.containers),
    volumes: listOrNull(injected.volumes),
    imagePullSecrets: listOrNull(injected.imagePullSecrets),
    revision: revisionName(config),
  });
}

/**
 * The annotations one template sets: istio.io/rev and kubectl's default containers (the first app
 * container, unless the pod names one), the CNI settings from the sidecar template, and the gRPC
 * templates' opt-out of probe rewriting (gRPC clients reach istiod themselves, without Envoy).
 */
export function templateAnnotations(template: string, pod: V1Pod, settings: SidecarSettings, config: InjectorConfig): Record<string, string> {
  const custom = istioSettings(config).customTemplates[template];
  if (custom) return custom.annotations;
  const annotations = pod.metadata?.annotations ?? {};
  const rewriteOff = { [annotationKeys.rewriteAppHTTPProbers]: 'false' };
  if (template === 'grpc-simple') return rewriteOff;
  const firstApp = (pod.spec?.containers ?? []).find((container) => container.name !== proxyContainerName)?.name;
  const result: Record<string, string> = template === 'sidecar' && config.cniEnabled ? cniAnnotations(settings, annotations, config) : {};
  result[annotationKeys.revision] = revisionName(config);
  if (firstApp !== undefined) {
    if (annotations[annotationKeys.defaultLogsContainer] === undefined) result[annotationKeys.defaultLogsContainer] = firstApp;
    if (annotations[annotationKeys.defaultContainer] === undefined) result[annotationKeys.defaultContainer] = firstApp;
  }
  if (template === 'grpc-agent') Object.assign(result, rewriteOff);
  return result;
}

/** The status, then values.sidecarInjectorWebhook.injectedAnnotations, which Istio sets last, over the pod's and the templates'. */
export function injectedAnnotations(annotations: Record<string, string>, status: string, config: InjectorConfig): Record<string, string> {
  return { ...annotations, [annotationKeys.status]: status, ...istioSettings(config).injectedAnnotations };
}

/**
 * With Istio CNI the node's plugin sets up the redirect, reading it from the pod's annotations; the
 * template writes the effective values there (traffic.sidecar.istio.io/* and the interception mode).
 */
export function cniAnnotations(settings: SidecarSettings, annotations: Record<string, string> = {}, config?: InjectorConfig): Record<string, string> {
  const { traffic, proxy } = settings;
  const excluded = excludedInboundPorts(traffic.excludeInboundPorts, proxy.statusPort).split(',').slice(2).join(',');
  const multus = config !== undefined && istioSettings(config).multusNetwork;
  return {
    ...(multus ? { [multusNetworksAnnotation]: appendMultusNetwork(annotations[multusNetworksAnnotation] ?? '', istioCniNetwork) } : {}),
    [annotationKeys.interceptionMode]: settings.interceptionMode,
    ...(traffic.includeOutboundIPRanges === '' ? {} : { [annotationKeys.includeOutboundIPRanges]: traffic.includeOutboundIPRanges }),
    ...(traffic.excludeOutboundIPRanges === '' ? {} : { [annotationKeys.excludeOutboundIPRanges]: traffic.excludeOutboundIPRanges }),
    [annotationKeys.includeInboundPorts]: traffic.includeInboundPorts,
    [annotationKeys.excludeInboundPorts]: excluded,
    ...(traffic.includeOutboundPorts === '' ? {} : { [annotationKeys.includeOutboundPorts]: traffic.includeOutboundPorts }),
    ...(traffic.excludeOutboundPorts === '' ? {} : { [annotationKeys.excludeOutboundPorts]: traffic.excludeOutboundPorts }),
  };
}

const multusNetworksAnnotation = 'k8s.v1.cni.cncf.io/networks';
const istioCniNetwork = 'default/istio-cni';

/**
 * Istio's appendMultusNetwork: adds the istio-cni network to the pod's Multus networks, given either as
 * a comma-separated list or as JSON, unless already there. JSON it cannot read is left as it is.
 */
export function appendMultusNetwork(existing: string, network: string): string {
  if (existing === '') return network;
  const [networkNamespace, networkName] = network.includes('/') ? [network.slice(0, network.indexOf('/')), network.slice(network.indexOf('/') + 1)] : ['', network];
  const end = existing.lastIndexOf(']');
  if (end !== -1) {
    let networks: unknown;
    try {
      networks = JSON.parse(existing);
    } catch {
      return existing;
    }
    // Go decodes into a list of maps: anything else is an error, but a null entry is an empty map.
    if (!Array.isArray(networks) || !networks.every((entry) => typeof entry === 'object' && !Array.isArray(entry))) return existing;
    const present = (networks as Array<Record<string, unknown> | null>).some(
      (entry) => entry?.name === networkName && (entry.namespace ?? '') === networkNamespace,
    );
    if (present) return existing;
    const added = networkNamespace === '' ? `, {"name": "${networkName}"}` : `, {"name": "${networkName}", "namespace": "${networkNamespace}"}`;
    return `${existing.slice(0, end)}${added}${existing.slice(end)}`;
  }
  return existing.split(',').some((entry) => entry.trim() === network) ? existing : `${existing}, ${network}`;
}
