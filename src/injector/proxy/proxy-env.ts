// The environment pilot-agent reads at start: how to reach istiod, who the pod is (downward API),
// and metadata istiod uses to build this proxy's configuration.
import type { V1Container, V1ContainerPort, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { SidecarSettings } from '../annotations.ts';
import { istioSettings, type InjectorConfig } from '../config.ts';
import { withProtoDurations } from '../istio/go-duration.ts';
import { proxyContainerName } from '../istio/istio-constants.ts';
import { proxyMetadataEnv } from './proxy-init.ts';
import { workloadOwnerUri, type WorkloadIdentity } from '../workload-identity.ts';

const fieldRef = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
const resourceRef = (name: string, resource: string): V1EnvVar => ({ name, valueFrom: { resourceFieldRef: { resource, divisor: '1' } } });
const value = (name: string, text: string): V1EnvVar => ({ name, value: text });

/** istiod's secure port for this revision: the xDS server and, unless configured otherwise, the CA. */
export function istiodAddress(config: InjectorConfig): string {
  const istiod = config.revision === '' || config.revision === 'default' ? 'istiod' : `istiod-${config.revision}`;
  return `${istiod}.${config.istioNamespace}.svc:15012`;
}

// mesh.DefaultProxyConfig(): Istio leaves fields at these values out of PROXY_CONFIG to keep pods
// small (cleanProxyConfig in pkg/kube/inject/template.go); pilot-agent applies the same defaults.
const proxyConfigDefaults: Record<string, unknown> = {
  configPath: './etc/istio/proxy',
  binaryPath: '/usr/local/bin/envoy',
  serviceCluster: 'istio-proxy',
  drainDuration: '45s',
  terminationDrainDuration: '5s',
  proxyAdminPort: 15000,
  controlPlaneAuthPolicy: 'MUTUAL_TLS',
  discoveryAddress: 'istiod.istio-system.svc:15012',
  statNameLength: 189,
  statusPort: 15020,
};

/** The pod's ProxyConfig (mesh default and proxy.istio.io/config) without the fields at their defaults. */
function proxyConfigJson(settings: SidecarSettings, config: InjectorConfig): string {
  const proxyConfig: Record<string, unknown> = withProtoDurations({ discoveryAddress: istiodAddress(config), ...settings.proxyConfig });
  const kept = Object.entries(proxyConfig).filter(([key, entry]) => {
    if (key === 'proxyMetadata') return typeof entry === 'object' && entry !== null && Object.keys(entry).length > 0;
    return entry !== proxyConfigDefaults[key];
  });
  return JSON.stringify(Object.fromEntries(kept));
}

export function appContainers(pod: V1Pod): V1Container[] {
  return (pod.spec?.containers ?? []).filter((container) => container.name !== proxyContainerName);
}

export function proxyEnvironment(pod: V1Pod, settings: SidecarSettings, config: InjectorConfig, workload: WorkloadIdentity): V1EnvVar[] {
  const apps = appContainers(pod);
  const istio = istioSettings(config);
  const otel = istio.otelResourceAttributes ? otelResourceAttributes(pod, workload.namespace) : '';
  return [
    // With inbound traffic sent to localhost, the agent must probe the app there too.
    ...(istio.inboundToLocalhost ? [value('REWRITE_PROBE_LEGACY_LOCALHOST_DESTINATION', 'true')] : []),
    value('PILOT_CERT_PROVIDER', istio.pilotCertProvider),
    value('CA_ADDR', config.caAddress || istiodAddress(config)),
    fieldRef('POD_NAME', 'metadata.name'),
    fieldRef('POD_NAMESPACE', 'metadata.namespace'),
    fieldRef('INSTANCE_IP', 'status.podIP'),
    fieldRef('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    fieldRef('HOST_IP', 'status.hostIP'),
    resourceRef('ISTIO_CPU_LIMIT', 'limits.cpu'),
    value('PROXY_CONFIG', proxyConfigJson(settings, config)),
    // Every container's ports, the pod's own istio-proxy included, as Istio's template lists them.
    value('ISTIO_META_POD_PORTS', JSON.stringify((pod.spec?.containers ?? []).flatMap((container) => (container.ports ?? []).map(portMetadata)))),
    value('ISTIO_META_APP_CONTAINERS', apps.map((container) => container.name).join(',')),
    // The Go runtime in pilot-agent sizes its heap and threads from the container's limits.
    resourceRef('GOMEMLIMIT', 'limits.memory'),
    resourceRef('GOMAXPROCS', 'limits.cpu'),
    ...(istio.compliancePolicy === '' ? [] : [value('COMPLIANCE_POLICY', istio.compliancePolicy)]),
    ...(istio.compliancePolicy === 'fips-140-3' ? [value('GODEBUG', 'fips140=only')] : []),
    value('ISTIO_META_CLUSTER_ID', config.clusterId),
    fieldRef('ISTIO_META_NODE_NAME', 'spec.nodeName'),
    value('ISTIO_META_INTERCEPTION_MODE', settings.interceptionMode),
    ...(config.network === '' ? [] : [value('ISTIO_META_NETWORK', config.network)]),
    value('ISTIO_META_WORKLOAD_NAME', pod.metadata?.labels?.['service.istio.io/workload-name'] ?? workload.name),
    value('ISTIO_META_OWNER', workloadOwnerUri(workload)),
    value('ISTIO_META_MESH_ID', config.meshId),
    value('TRUST_DOMAIN', config.trustDomain),
    ...(settings.datadogEnv ?? []),
    ...(otel === '' ? [] : [value('OTEL_RESOURCE_ATTRIBUTES', otel)]),
    ...proxyMetadataEnv(settings),
  ];
}

/**
 * Istio's otelResourceAttributes: the service namespace, version and instance of the pod for an
 * OpenTelemetry provider that enriches spans with the semantic conventions.
 */
function otelResourceAttributes(pod: V1Pod, namespace: string): string {
  const annotations = pod.metadata?.annotations ?? {};
  const labels = pod.metadata?.labels ?? {};
  const containers = pod.spec?.containers ?? [];
  const attributes: string[] = [];
  const annotated = (key: string) => (annotations[`resource.opentelemetry.io/${key}`] ?? '') || undefined;
  const serviceNamespace = annotated('service.namespace') ?? (namespace || undefined);
  if (serviceNamespace !== undefined) attributes.push(`service.namespace=${serviceNamespace}`);
  const imageOnly = containers.length === 1 ? imageVersion(containers[0]?.image ?? '') : undefined;
  const version = annotated('service.version') ?? (labels['app.kubernetes.io/version'] || undefined) ?? imageOnly;
  if (version !== undefined) attributes.push(`service.version=${version}`);
  const instance = annotated('service.instance.id') ?? (containers.length > 0 ? `${namespace}.$(POD_NAME).${containers[0]?.name ?? ''}` : undefined);
  if (instance !== undefined) attributes.push(`service.instance.id=${instance}`);
  return attributes.join(',');
}

/** tag@digest, the digest, or the tag of an image reference; undefined when it has neither. */
function imageVersion(image: string): string | undefined {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : '';
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
  if (tag !== '' && digest !== '') return `${tag}@${digest}`;
  return (digest || tag) || undefined;
}

/** The port in Go's field order, as Istio's structToJSON writes it. */
function portMetadata(port: V1ContainerPort): Partial<V1ContainerPort> {
  const { name, hostPort, containerPort, protocol, hostIP } = port;
  return Object.fromEntries(Object.entries({ name, hostPort, containerPort, protocol, hostIP }).filter(([, field]) => field !== undefined && field !== null));
}
