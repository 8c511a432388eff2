// Per-pod sidecar annotations: validated, then combined with the injector config into the settings
// one injection uses. Each resource annotation overrides only its own field; Istio drops the other
// three when any is set, which is a long-standing complaint (istio/istio#16126).
import type { V1EnvVar } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { istioSettings, type InjectorConfig } from './config.ts';
import { goString } from './istio/istio-settings.ts';
import { annotationKeys, interceptionModes, type InterceptionMode } from './istio/istio-constants.ts';
import { usesNativeSidecar } from './native-sidecars.ts';
import { annotationReader, readProxyAnnotations, sortedJsonEntries, type ProxyAnnotationSettings } from './proxy/proxy-annotations.ts';
import { rewritesAppProbes } from './proxy/probes.ts';
import { prometheusPortProblem } from './proxy/prometheus-merge.ts';
import { proxyRendering } from './templates/render.ts';
import { placeProxy, selectTemplates } from './templates/selection.ts';
import { parseQuantity, quantityExpectation } from './quantity.ts';
import { annotationField, invalidAnnotation, refusalCodes, type Refusal } from './refusals.ts';
import { checkTrafficValue, trafficFields, type TrafficField, type TrafficSettings } from './traffic-values.ts';

export interface ProxyResourceRequirements {
  requests: { cpu?: string; memory?: string };
  limits: { cpu?: string; memory?: string };
}

export interface SidecarSettings {
  resources: ProxyResourceRequirements;
  traffic: TrafficSettings;
  interceptionMode: InterceptionMode;
  nativeSidecar: boolean;
  holdApplicationUntilProxyStarts: boolean;
  prometheusMerge: boolean;
  /** inject.istio.io/templates (or the default templates): rendered and merged in this order. */
  templates: string[];
  /** App probes go through the agent's status port (sidecar.istio.io/rewriteAppHTTPProbers). */
  rewriteAppProbes: boolean;
  /** Mesh defaults overlaid with proxy.istio.io/config; becomes PROXY_CONFIG. */
  proxyConfig: Record<string, unknown>;
  /** proxyConfig.proxyMetadata: environment of istio-init and istio-proxy. */
  proxyMetadata: Record<string, string>;
  /** Status port, readiness timings, log levels, user volumes, interfaces. */
  proxy: ProxyAnnotationSettings;
  /** The pod's apm.datadoghq.com/env, as the proxy's environment, when Istio's tracer is datadog. */
  datadogEnv?: V1EnvVar[];
}

/** The proxy's resources in Kubernetes' shape, leaving out an empty requests or limits map. */
export function proxyResourceRequirements(settings: SidecarSettings): { requests?: Record<string, string>; limits?: Record<string, string> } {
  const { requests, limits } = settings.resources;
  return {
    ...(Object.keys(requests).length > 0 ? { requests: { ...requests } } : {}),
    ...(Object.keys(limits).length > 0 ? { limits: { ...limits } } : {}),
  };
}

export interface ResolvedSidecarSettings {
  settings: SidecarSettings;
  refusals: Refusal[];
  /** Adjustments the pod should know about, sent back as admission warnings. */
  warnings: string[];
}

type ResourceKind = 'requests' | 'limits';
type ResourceName = 'cpu' | 'memory';

const resourceAnnotations: ReadonlyArray<{ key: string; kind: ResourceKind; resource: ResourceName }> = [
  { key: annotationKeys.proxyCpu, kind: 'requests', resource: 'cpu' },
  { key: annotationKeys.proxyMemory, kind: 'requests', resource: 'memory' },
  { key: annotationKeys.proxyCpuLimit, kind: 'limits', resource: 'cpu' },
  { key: annotationKeys.proxyMemoryLimit, kind: 'limits', resource: 'memory' },
];

const trafficAnnotationKeys: Record<TrafficField, string> = {
  includeOutboundIPRanges: annotationKeys.includeOutboundIPRanges,
  excludeOutboundIPRanges: annotationKeys.excludeOutboundIPRanges,
  includeInboundPorts: annotationKeys.includeInboundPorts,
  excludeInboundPorts: annotationKeys.excludeInboundPorts,
  includeOutboundPorts: annotationKeys.includeOutboundPorts,
  excludeOutboundPorts: annotationKeys.excludeOutboundPorts,
};

/** What the injector knows about the cluster the pod runs in; nothing is known offline. */
export interface SidecarEnvironment {
  /** Every kubelet (or the pod's own) runs native sidecars; undefined when not known. */
  nativeSidecarsSupported?: boolean;
}

export function resolveSidecarSettings(
  annotations: Record<string, string> | undefined,
  config: InjectorConfig,
  environment: SidecarEnvironment = {},
): ResolvedSidecarSettings {
  const present = annotations ?? {};
  const refusals: Refusal[] = [];
  const read = annotationReader(present, refusals);

  const warnings: string[] = [];
  const resources = resolveResources(config, read);
  const traffic = { ...config.traffic };
  for (const field of trafficFields) {
    const key = trafficAnnotationKeys[field];
    if (!Object.hasOwn(present, key)) continue;
    const text = present[key] ?? '';
    const check = checkTrafficValue(field, text);
    if (check.ok) traffic[field] = check.value;
    else if (field === 'includeOutboundPorts') {
      // Istio does not validate this one; it reaches istio-iptables as written. Refusing would turn
      // away a pod istiod injects, so pass it on and say what will happen.
      traffic[field] = text;
      warnings.push(`${key} ${JSON.stringify(text)} is not ${check.expected}; istio-iptables is given it as written and may fail to start`);
    } else refusals.push(invalidAnnotation(key, text, check.expected));
  }
  const interceptionMode = read(annotationKeys.interceptionMode, `one of ${interceptionModes.join(', ')}`, (text) =>
    (interceptionModes as readonly string[]).includes(text) ? (text as InterceptionMode) : undefined,
  );
  const prometheusMerge = read(annotationKeys.mergeMetrics, '"true" or "false"', parseGoBoolean);
  const podProxyConfig = read(annotationKeys.proxyConfig, 'ProxyConfig as a YAML or JSON mapping, e.g. {"holdApplicationUntilProxyStarts": true}', parseProxyConfig);
  const hold = podProxyConfig?.holdApplicationUntilProxyStarts;
  if (hold !== undefined && typeof hold !== 'boolean') {
    refusals.push(invalidAnnotation(annotationKeys.proxyConfig, present[annotationKeys.proxyConfig] ?? '', 'holdApplicationUntilProxyStarts to be true or false'));
  }
  refusals.push(...fitRequestsWithinLimits(resources, warnings));
  const proxy = readProxyAnnotations(present, config, refusals);
  const proxyConfig = mergeProxyConfig(config.proxyConfig, podProxyConfig);
  const proxyMetadata = stringEntries(proxyConfig.proxyMetadata);
  if (podProxyConfig !== undefined && proxyMetadata.IPTABLES_TRACE_LOGGING === 'true') {
    refusals.push({
      code: refusalCodes.invalidAnnotation,
      field: annotationField(annotationKeys.proxyConfig),
      message:
        `annotation ${annotationKeys.proxyConfig} sets proxyMetadata.IPTABLES_TRACE_LOGGING "true", which makes Istio's template run istio-proxy privileged, ` +
        'as root; Switchboard never runs the proxy privileged',
    });
  }
  const istio = istioSettings(config);
  const merges = prometheusMerge ?? config.prometheusMerge;
  const scrapePort = merges ? prometheusPortProblem(present, istio.agentStatusPort) : undefined;
  if (scrapePort) refusals.push(invalidAnnotation(scrapePort.key, scrapePort.value, scrapePort.expected));
  const templateChoice = selectTemplates(present, istio.defaultTemplates, Object.keys(istio.customTemplates));
  if (templateChoice.refusal) refusals.push(templateChoice.refusal);
  const datadogEnv =
    istio.tracer === 'datadog' && templateChoice.templates?.includes('sidecar') === true
      ? read(datadogEnvAnnotation, 'a JSON object of environment variables, e.g. {"DD_ENV": "prod"}', parseDatadogEnv)
      : undefined;

  const nativeSidecar = usesNativeSidecar(present, config.nativeSidecars, environment.nativeSidecarsSupported);
  const placement = templateChoice.templates ? placeProxy(templateChoice.templates, nativeSidecar, (name) => proxyRendering(name, nativeSidecar, config)) : {};
  if (placement.refusal) refusals.push(placement.refusal);

  return {
    settings: {
      resources: resources.requirements,
      traffic,
      interceptionMode: interceptionMode ?? config.interceptionMode,
      nativeSidecar,
      holdApplicationUntilProxyStarts: typeof hold === 'boolean' ? hold : config.holdApplicationUntilProxyStarts,
      prometheusMerge: merges,
      rewriteAppProbes: rewritesAppProbes(present, config.rewriteAppHTTPProbe),
      templates: templateChoice.templates ?? ['sidecar'],
      proxyConfig,
      proxyMetadata,
      proxy,
      ...(datadogEnv ? { datadogEnv } : {}),
    },
    refusals,
    warnings,
  };
}

type AnnotationReader = <T>(key: string, expected: string, convert: (text: string) => T | undefined) => T | undefined;

interface ResolvedResources {
  requirements: ProxyResourceRequirements;
  /** Which annotation set each field, for messages that point at the right one. */
  setBy: Partial<Record<`${ResourceKind}.${ResourceName}`, string>>;
}

function resolveResources(config: InjectorConfig, read: AnnotationReader): ResolvedResources {
  const requirements: ProxyResourceRequirements = { requests: {}, limits: {} };
  const setBy: ResolvedResources['setBy'] = {};
  for (const { key, kind, resource } of resourceAnnotations) {
    const configured = config.resources[kind][resource];
    const annotated = read(key, quantityExpectation, (text) => (parseQuantity(text) === undefined ? undefined : text));
    if (annotated !== undefined) setBy[`${kind}.${resource}`] = key;
    const value = annotated ?? configured;
    if (value !== '') requirements[kind][resource] = value;
  }
  return { requirements, setBy };
}

/**
 * A request above its limit is what Kubernetes rejects. When one side is the config's default, the
 * default gives way, with a warning: a larger annotated request lifts the default limit to it, and
 * a smaller annotated limit lowers the default request to it. That is what the pod gets from Istio,
 * whose annotations replace all defaults (then Kubernetes defaults a missing request to the limit),
 * while the other fields keep their defaults. Only two annotations that contradict each other are
 * refused, since Kubernetes would refuse the pod Istio makes from them.
 */
function fitRequestsWithinLimits(resources: ResolvedResources, warnings: string[]): Refusal[] {
  const refusals: Refusal[] = [];
  const { requests, limits } = resources.requirements;
  for (const resource of ['cpu', 'memory'] as const) {
    const request = requests[resource];
    const limit = limits[resource];
    if (request === undefined || limit === undefined) continue;
    if ((parseQuantity(request) ?? 0) <= (parseQuantity(limit) ?? Infinity)) continue;
    const requestKey = resources.setBy[`requests.${resource}`];
    const limitKey = resources.setBy[`limits.${resource}`];
    if (requestKey !== undefined && limitKey === undefined) {
      limits[resource] = request;
      warnings.push(`${requestKey} ${JSON.stringify(request)} is above the default proxy ${resource} limit ${JSON.stringify(limit)}; the limit was raised to ${JSON.stringify(request)}`);
      continue;
    }
    if (limitKey !== undefined && requestKey === undefined) {
      requests[resource] = limit;
      warnings.push(`${limitKey} ${JSON.stringify(limit)} is below the default proxy ${resource} request ${JSON.stringify(request)}; the request was lowered to ${JSON.stringify(limit)}`);
      continue;
    }
    const blamed = requestKey ?? (resource === 'cpu' ? annotationKeys.proxyCpu : annotationKeys.proxyMemory);
    refusals.push({
      code: refusalCodes.proxyRequestAboveLimit,
      field: annotationField(blamed),
      message:
        `the proxy's ${resource} request ${JSON.stringify(request)} (from ${requestKey ?? 'the injector config'}) is more than its ${resource} limit ` +
        `${JSON.stringify(limit)} (from ${limitKey ?? 'the injector config'}), which Kubernetes rejects; set ${limitKey ?? 'the limit'} to at least the request, or lower ${blamed}`,
    });
  }
  return refusals;
}


/** strconv.ParseBool, which Istio uses for prometheus.istio.io/merge-metrics. */
export function parseGoBoolean(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** The pod's ProxyConfig over the mesh default; proxyMetadata merges key by key, as Istio merges it. */
function mergeProxyConfig(meshDefault: Record<string, unknown>, pod: Record<string, unknown> | undefined): Record<string, unknown> {
  const merged = { ...meshDefault, ...pod };
  const metadata = { ...asRecord(meshDefault.proxyMetadata), ...asRecord(pod?.proxyMetadata) };
  if (Object.keys(metadata).length > 0) merged.proxyMetadata = metadata;
  return merged;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function stringEntries(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(asRecord(value)).map(([key, entry]) => [key, typeof entry === 'string' ? entry : JSON.stringify(entry)]));
}

const datadogEnvAnnotation = 'apm.datadoghq.com/env';

/** Istio's template ranges over the JSON object (sorted by name) and fails the injection on anything else. */
function parseDatadogEnv(text: string): V1EnvVar[] | undefined {
  const isScalar = (value: unknown) => ['string', 'number', 'boolean'].includes(typeof value);
  return sortedJsonEntries(text, isScalar)?.map(([name, value]) => ({ name, value: goString(value) }));
}

function parseProxyConfig(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = parseYaml(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
