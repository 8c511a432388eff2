// Per-pod proxy knobs Istio's template reads from annotations besides resources and traffic: the
// agent's status port, the proxy's readiness timings, log levels, extra volumes and mounts, and the
// interfaces istio-iptables leaves alone or reroutes. Each is validated as Istio validates it.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { istioSettings, type InjectorConfig } from '../config.ts';
import { invalidAnnotation, type Refusal } from '../refusals.ts';

export const proxyAnnotationKeys = {
  statusPort: 'status.sidecar.istio.io/port',
  readinessInitialDelaySeconds: 'readiness.status.sidecar.istio.io/initialDelaySeconds',
  readinessPeriodSeconds: 'readiness.status.sidecar.istio.io/periodSeconds',
  readinessFailureThreshold: 'readiness.status.sidecar.istio.io/failureThreshold',
  logLevel: 'sidecar.istio.io/logLevel',
  componentLogLevel: 'sidecar.istio.io/componentLogLevel',
  agentLogLevel: 'sidecar.istio.io/agentLogLevel',
  userVolume: 'sidecar.istio.io/userVolume',
  userVolumeMount: 'sidecar.istio.io/userVolumeMount',
  excludeInterfaces: 'traffic.sidecar.istio.io/excludeInterfaces',
  kubevirtInterfaces: 'traffic.sidecar.istio.io/kubevirtInterfaces',
  rerouteVirtualInterfaces: 'istio.io/reroute-virtual-interfaces',
} as const;

export interface ProxyAnnotationSettings {
  /** The template's status port (annotation, else values.global.proxy.statusPort); 0 turns off the proxy's probes and the -d exclusion. */
  statusPort: number;
  /** Where app probes are rewritten to: the annotation, else the mesh config's defaultConfig.statusPort (Istio's webhook reads that one). */
  probeRewritePort: number;
  readiness: { initialDelaySeconds: number; periodSeconds: number; failureThreshold: number };
  logLevels: { proxy: string; component: string; agent: string };
  /** Extra pod volumes and proxy mounts, by name, in the order Istio's template writes them (sorted). */
  userVolumes: V1Volume[];
  userVolumeMounts: V1VolumeMount[];
  /** istio-iptables -c: interfaces whose traffic is never redirected. */
  excludeInterfaces?: string;
  /** istio-iptables -k: virtual interfaces (KubeVirt) whose traffic is treated as outbound. */
  rerouteInterfaces?: string;
}

const uint32 = (text: string) => (/^\d{1,10}$/.test(text) && Number(text) <= 0xffffffff ? Number(text) : undefined);
const port = (text: string) => (/^\d{1,5}$/.test(text.trim()) && Number(text.trim()) <= 65535 ? Number(text.trim()) : undefined);

// Linux interface names: at most 15 bytes, no "/", ":" or whitespace (what Istio's ValidateInterfaceNames checks).
const interfaceList = (text: string) => {
  const names = text.split(',').map((name) => name.trim());
  return names.every((name) => /^[^\s/:]{1,15}$/.test(name)) ? names.join(',') : undefined;
};

/** Reads one annotation through `convert`; a value it cannot convert becomes a refusal naming what was expected. */
export function annotationReader(annotations: Record<string, string>, refusals: Refusal[]) {
  return <T>(key: string, expected: string, convert: (text: string) => T | undefined): T | undefined => {
    if (!Object.hasOwn(annotations, key)) return undefined;
    const text = annotations[key] ?? '';
    const value = convert(text);
    if (value === undefined) refusals.push(invalidAnnotation(key, text, expected));
    return value;
  };
}

export function readProxyAnnotations(annotations: Record<string, string>, config: InjectorConfig, refusals: Refusal[]): ProxyAnnotationSettings {
  const read = annotationReader(annotations, refusals);
  const text = (key: string) => (annotations[key] === undefined || annotations[key] === '' ? undefined : annotations[key]);
  const istio = istioSettings(config);
  const annotatedStatusPort = read(proxyAnnotationKeys.statusPort, 'a port from 0 to 65535', port);
  const settings: ProxyAnnotationSettings = {
    statusPort: annotatedStatusPort ?? istio.statusPort,
    probeRewritePort: annotatedStatusPort ?? istio.agentStatusPort,
    readiness: {
      initialDelaySeconds: read(proxyAnnotationKeys.readinessInitialDelaySeconds, 'a non-negative integer', uint32) ?? config.readinessProbe.initialDelaySeconds,
      periodSeconds: read(proxyAnnotationKeys.readinessPeriodSeconds, 'a non-negative integer', uint32) ?? config.readinessProbe.periodSeconds,
      failureThreshold: read(proxyAnnotationKeys.readinessFailureThreshold, 'a non-negative integer', uint32) ?? config.readinessProbe.failureThreshold,
    },
    logLevels: {
      proxy: text(proxyAnnotationKeys.logLevel) ?? config.proxyLogLevel,
      component: text(proxyAnnotationKeys.componentLogLevel) ?? config.proxyComponentLogLevel,
      agent: text(proxyAnnotationKeys.agentLogLevel) ?? config.agentLogLevel,
    },
    userVolumes: read(proxyAnnotationKeys.userVolume, 'a JSON object of volume name to volume, e.g. {"certs":{"secret":{"secretName":"certs"}}}', namedObjects<V1Volume>) ?? [],
    userVolumeMounts:
      read(proxyAnnotationKeys.userVolumeMount, 'a JSON object of volume name to mount, e.g. {"certs":{"mountPath":"/etc/certs","readOnly":true}}', namedObjects<V1VolumeMount>) ?? [],
  };
  const exclude = read(proxyAnnotationKeys.excludeInterfaces, 'comma-separated interface names such as eth1,net1', interfaceList);
  if (exclude !== undefined) settings.excludeInterfaces = exclude;
  // The newer name wins over the KubeVirt-specific one, as in Istio's template.
  const reroute =
    read(proxyAnnotationKeys.rerouteVirtualInterfaces, 'comma-separated interface names such as k6t-eth0', interfaceList) ??
    read(proxyAnnotationKeys.kubevirtInterfaces, 'comma-separated interface names such as k6t-eth0', interfaceList);
  if (reroute !== undefined) settings.rerouteInterfaces = reroute;
  return settings;
}

/**
 * The entries of a JSON object sorted by key, as Go's templates range over a map; undefined unless
 * the text is an object whose every value passes `accept` (Istio's template fails on anything else).
 */
export function sortedJsonEntries(text: string, accept: (value: unknown) => boolean): [string, unknown][] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (!entries.every(([, value]) => accept(value))) return undefined;
  return entries.sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
}

/** {"name": {...}} becomes [{name, ...}], sorted by name. */
function namedObjects<T extends { name: string }>(text: string): T[] | undefined {
  const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  return sortedJsonEntries(text, isObject)?.map(([name, value]) => ({ name, ...(value as object) }) as T);
}

/** istio-iptables -d: the proxy's metrics and health ports, the pod's exclusions, then the status port unless already there or 0. */
export function excludedInboundPorts(excluded: string, agentStatusPort: number): string {
  const ports = excluded === '' ? [] : excluded.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const status = String(agentStatusPort);
  const withStatus = agentStatusPort === 0 || ports.includes(status) ? ports : [...ports, status];
  return ['15090', '15021', ...withStatus].join(',');
}
