// Re-injection, as Istio does it: a pod that carries sidecar.istio.io/status (created from an injected
// spec, or run through `switchboard inject` twice) has the containers and volumes that status lists
// taken out, then is injected again with the current configuration. The result is the same pod as
// one injection of the original, so injecting twice changes nothing. The same path serves the API
// server's second call under reinvocationPolicy IfNeeded: containers a later webhook added are then
// among the pod's own, and get their probes rewritten and their ports counted like any other.
import type { V1Container, V1EnvVar, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { annotationKeys, proxyContainerName, statusPort } from './istio/istio-constants.ts';
import { appProbersEnvName } from './proxy/probes.ts';

const overridesAnnotation = 'proxy.istio.io/overrides';

interface InjectionStatus {
  initContainers: string[];
  containers: string[];
  volumes: string[];
  imagePullSecrets: string[];
}

export interface PreviousInjection {
  /** The pod as it was before the previous injection, as far as the status tells. */
  pod: V1Pod;
  /** The previous proxy's ISTIO_KUBE_APP_PROBERS: the only record of probes it already rewrote. */
  appProbers?: string;
  /** The previous proxy's ISTIO_PROMETHEUS_ANNOTATIONS: the only record of the app's own scrape settings. */
  prometheusAnnotations?: V1EnvVar;
}

/** True when the pod carries the status annotation, which is how Istio judges "already injected". */
export function hasInjectionStatus(pod: V1Pod): boolean {
  return Object.hasOwn(pod.metadata?.annotations ?? {}, annotationKeys.status);
}

/** The init containers the status says an injection added (istio-init or istio-validation, a native istio-proxy). */
export function injectedInitContainerNames(pod: V1Pod): ReadonlySet<string> {
  const statusText = pod.metadata?.annotations?.[annotationKeys.status];
  return new Set(statusText === undefined ? [] : parseStatus(statusText).initContainers);
}

/**
 * Undefined for a pod that was never injected; a status that cannot be read strips nothing, as in Istio.
 * agentStatusPort is the mesh config's status port, where the previous merge pointed prometheus.io/port.
 */
export function stripPreviousInjection(pod: V1Pod, agentStatusPort: number = statusPort): PreviousInjection | undefined {
  const annotations = pod.metadata?.annotations ?? {};
  const statusText = annotations[annotationKeys.status];
  if (statusText === undefined) return undefined;
  const status = parseStatus(statusText);
  const spec = pod.spec as V1PodSpec;
  const previousProxy = [...spec.containers, ...(spec.initContainers ?? [])].find((container) => container.name === proxyContainerName && isListed(status, container));
  const without = (names: string[]) => (item: { name?: string }) => !names.includes(item.name ?? '');
  const strippedSpec: V1PodSpec = { ...spec, containers: spec.containers.filter(without(status.containers)) };
  if (spec.initContainers) strippedSpec.initContainers = spec.initContainers.filter(without(status.initContainers));
  if (spec.volumes) strippedSpec.volumes = spec.volumes.filter(without(status.volumes));
  if (spec.imagePullSecrets) strippedSpec.imagePullSecrets = spec.imagePullSecrets.filter(without(status.imagePullSecrets));
  reinsertOverrides(strippedSpec, annotations[overridesAnnotation]);
  const { [annotationKeys.status]: _status, ...remaining } = annotations;
  const stripped: V1Pod = { ...pod, metadata: { ...pod.metadata, annotations: withoutAgentScrapeAnnotations(remaining, agentStatusPort) }, spec: strippedSpec };
  const previous: PreviousInjection = { pod: stripped };
  const appProbers = envOf(previousProxy, appProbersEnvName)?.value;
  if (appProbers !== undefined) previous.appProbers = appProbers;
  const prometheus = envOf(previousProxy, 'ISTIO_PROMETHEUS_ANNOTATIONS');
  if (prometheus) previous.prometheusAnnotations = prometheus;
  return previous;
}

/**
 * The pod's own istio-proxy was merged into the proxy the status lists, so stripping took it out too.
 * The first injection recorded it in proxy.istio.io/overrides; Istio puts it back from there before
 * injecting again (reinsertOverrides), so a reinvoked pod keeps its own settings.
 */
function reinsertOverrides(spec: V1PodSpec, recorded: string | undefined): void {
  const overrides = parseOverrides(recorded);
  const missing = (present: V1Container[] | undefined) => (container: V1Container) => !(present ?? []).some((item) => item.name === container.name);
  const containers = overrides.containers.filter(missing(spec.containers));
  if (containers.length > 0) spec.containers = [...spec.containers, ...containers];
  const initContainers = overrides.initContainers.filter(missing(spec.initContainers));
  if (initContainers.length > 0) spec.initContainers = [...(spec.initContainers ?? []), ...initContainers];
}

function parseOverrides(text: string | undefined): { containers: V1Container[]; initContainers: V1Container[] } {
  const named = (value: unknown): V1Container[] =>
    Array.isArray(value) ? value.filter((item): item is V1Container => typeof item === 'object' && item !== null && typeof (item as V1Container).name === 'string') : [];
  if (text === undefined) return { containers: [], initContainers: [] };
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return { containers: named(parsed.containers), initContainers: named(parsed.initContainers) };
  } catch {
    // Istio refuses the pod here; an annotation that cannot be read puts nothing back.
    return { containers: [], initContainers: [] };
  }
}

function isListed(status: InjectionStatus, container: V1Container): boolean {
  return status.containers.includes(container.name) || status.initContainers.includes(container.name);
}

function envOf(container: V1Container | undefined, name: string): V1EnvVar | undefined {
  return container?.env?.find((variable) => variable.name === name);
}

function parseStatus(text: string): InjectionStatus {
  const names = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return { initContainers: names(parsed.initContainers), containers: names(parsed.containers), volumes: names(parsed.volumes), imagePullSecrets: names(parsed.imagePullSecrets) };
  } catch {
    return { initContainers: [], containers: [], volumes: [], imagePullSecrets: [] };
  }
}

/** The previous merge pointed prometheus.io/* at the agent; Istio clears those so the merge starts over. */
function withoutAgentScrapeAnnotations(annotations: Record<string, string>, agentStatusPort: number): Record<string, string> {
  if (annotations['prometheus.io/port'] !== String(agentStatusPort)) return annotations;
  return Object.fromEntries(Object.entries(annotations).filter(([key]) => !['prometheus.io/port', 'prometheus.io/path', 'prometheus.io/scrape'].includes(key)));
}
