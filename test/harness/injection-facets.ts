// The parts of an injected pod the differential test compares with Istio's, normalised so that only
// meaning counts: JSON-valued variables are parsed, key order is ignored, list order is kept where
// it matters to Kubernetes (containers, args) and ignored where it does not (volumes, mounts, env).
import { parseQuantity } from '../../src/injector/quantity.ts';

type Json = Record<string, unknown>;

const jsonValuedEnv = new Set(['PROXY_CONFIG', 'ISTIO_META_POD_PORTS', 'ISTIO_KUBE_APP_PROBERS', 'ISTIO_PROMETHEUS_ANNOTATIONS']);
const injectedNames = new Set(['istio-init', 'istio-validation', 'istio-proxy']);

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sorted keys, recursively, so that two equal values print the same. */
export function canonical(value: unknown): string {
  const sort = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(sort);
    if (!isRecord(item)) return item;
    return Object.fromEntries(Object.keys(item).sort().map((key) => [key, sort(item[key])]));
  };
  return JSON.stringify(sort(value)) ?? 'undefined';
}

/**
 * Semantic equality the API server applies anyway: a null or a probe field at 0 equals an absent one, an empty
 * object equals an absent field (Go writes empty structs), and a volume without a source is an emptyDir.
 */
function withoutDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDefaults);
  if (!isRecord(value)) return value;
  const entries = Object.entries(value)
    .map(([key, entry]) => [key, withoutDefaults(entry)] as const)
    .filter(([, entry]) => entry !== null && entry !== undefined)
    .filter(([key, entry]) => !(isRecord(entry) && Object.keys(entry).length === 0 && key !== 'emptyDir'))
    .filter(([key, entry]) => !(entry === 0 && ['initialDelaySeconds'].includes(key)));
  return Object.fromEntries(entries);
}

/** Quantities by value: the API server stores 2000m as "2" and 1024Mi as "1Gi", as Go's marshalling writes them. */
function resourcesFacet(resources: unknown): unknown {
  if (!isRecord(resources)) return withoutDefaults(resources);
  const byValue = (quantities: unknown) =>
    isRecord(quantities)
      ? Object.fromEntries(Object.entries(quantities).map(([name, quantity]) => [name, parseQuantity(String(quantity)) ?? quantity]))
      : quantities;
  return withoutDefaults(Object.fromEntries(Object.entries(resources).map(([kind, quantities]) => [kind, byValue(quantities)])));
}

function volumeFacet(volume: Json): unknown {
  const sources = Object.keys(volume).filter((key) => key !== 'name');
  return sources.length === 0 || (sources.length === 1 && volume.emptyDir === null) ? { name: volume.name, emptyDir: {} } : volume;
}

function byName(items: unknown): Json {
  return Object.fromEntries((Array.isArray(items) ? items : []).filter(isRecord).map((item) => [String(item.name ?? item.mountPath), item]));
}

function envFacet(env: unknown): Json {
  const facet: Json = {};
  for (const variable of Array.isArray(env) ? env.filter(isRecord) : []) {
    const name = String(variable.name);
    const value = variable.value;
    if (typeof value === 'string' && jsonValuedEnv.has(name)) {
      try {
        facet[name] = JSON.parse(value);
        continue;
      } catch {
        // compared as text below
      }
    }
    // An empty value and no value are the same to the container.
    facet[name] = value === '' ? undefined : (value ?? variable.valueFrom);
  }
  return facet;
}

/** Facet path → canonical value, for one injected pod. */
export function injectionFacets(pod: Json, original: Json): Map<string, string> {
  const facets = new Map<string, string>();
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const metadata = isRecord(pod.metadata) ? pod.metadata : {};
  const originalMetadata = isRecord(original.metadata) ? original.metadata : {};
  const containers = (Array.isArray(spec.containers) ? spec.containers : []).filter(isRecord);
  const initContainers = (Array.isArray(spec.initContainers) ? spec.initContainers : []).filter(isRecord);
  // An empty object is an absent field, at the top of a facet too (Go writes `resources: {}`).
  const put = (path: string, value: unknown) => facets.set(path, canonical(isRecord(value) && Object.keys(value).length === 0 ? undefined : value));
  put('order.initContainers', initContainers.map((container) => container.name));
  put('order.containers', containers.map((container) => container.name));
  for (const container of [...initContainers, ...containers]) {
    const name = String(container.name);
    if (injectedNames.has(name)) {
      for (const field of ['image', 'args', 'ports', 'readinessProbe', 'startupProbe', 'livenessProbe', 'lifecycle', 'securityContext', 'resources', 'restartPolicy', 'imagePullPolicy']) {
        put(`${name}.${field}`, field === 'resources' ? resourcesFacet(container[field]) : withoutDefaults(container[field]));
      }
      const env = envFacet(container.env);
      for (const [variable, value] of Object.entries(env)) put(`${name}.env.${variable}`, value);
      put(`${name}.env.names`, Object.keys(env).sort());
      const mounts = byName(container.volumeMounts);
      for (const [mount, value] of Object.entries(mounts)) put(`${name}.volumeMounts.${mount}`, value);
    } else {
      for (const field of ["readinessProbe", "livenessProbe", "startupProbe", "lifecycle"]) put(`app.${name}.${field}`, withoutDefaults(container[field]));
    }
  }
  for (const [volume, value] of Object.entries(byName(spec.volumes))) put(`volumes.${volume}`, volumeFacet(value as Json));
  put('imagePullSecrets', spec.imagePullSecrets);
  put('securityContext', spec.securityContext);
  // The rest of the spec is the pod's own and should come out as it went in; any change shows.
  const originalSpec = isRecord(original.spec) ? original.spec : {};
  const compared = new Set(['containers', 'initContainers', 'volumes', 'imagePullSecrets', 'securityContext']);
  for (const key of new Set([...Object.keys(spec), ...Object.keys(originalSpec)])) {
    if (!compared.has(key) && canonical(spec[key]) !== canonical(originalSpec[key])) put(`spec.${key}`, withoutDefaults(spec[key]));
  }
  // Added or changed metadata, and what was taken away (the metrics merge removes scrape annotations).
  const changed = (before: unknown, after: unknown) => {
    const old = isRecord(before) ? before : {};
    const now = isRecord(after) ? after : {};
    const removed = Object.keys(old).filter((key) => !Object.hasOwn(now, key)).map((key) => [key, '(removed)'] as const);
    return [...Object.entries(now).filter(([key, value]) => old[key] !== value), ...removed];
  };
  for (const [key, value] of changed(originalMetadata.labels, metadata.labels)) put(`labels.${key}`, value);
  for (const [key, value] of changed(originalMetadata.annotations, metadata.annotations)) {
    const jsonValued = (key === 'sidecar.istio.io/status' || key === 'proxy.istio.io/overrides') && value !== '(removed)';
    put(`annotations.${key}`, jsonValued ? withoutDefaults(JSON.parse(String(value))) : value);
  }
  return facets;
}

/** A facet's path with the app containers' own names replaced, so that counts add up across pods. */
export function facetKind(path: string): string {
  return path.replace(/^app\.[^.]+\./, 'app.*.');
}

export interface FacetDifference {
  path: string;
  ours: string | undefined;
  istio: string | undefined;
}

export function differences(ours: Map<string, string>, istio: Map<string, string>): FacetDifference[] {
  const paths = [...new Set([...ours.keys(), ...istio.keys()])].sort();
  return paths.filter((path) => ours.get(path) !== istio.get(path)).map((path) => ({ path, ours: ours.get(path), istio: istio.get(path) }));
}
