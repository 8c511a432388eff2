// The injector's configuration: what Istio keeps in its sidecar-injector values and mesh config,
// reduced to the knobs this injector honours. Read from a YAML file or a ConfigMap holding one.
import { readFileSync } from 'node:fs';
import type { V1LabelSelector, V1LabelSelectorRequirement, V1Lifecycle, V1PodSecurityContext, V1SeccompProfile } from '@kubernetes/client-node';
import { parseDocument } from 'yaml';
import { interceptionModes, type InterceptionMode } from './istio/istio-constants.ts';
import { labelSelectorProblem } from './label-selectors.ts';
import type { NativeSidecarSetting } from './native-sidecars.ts';
import type { CustomTemplate } from './templates/custom.ts';
import { parseQuantity, quantityExpectation } from './quantity.ts';
import { checkTrafficValue, trafficExpectation, trafficFields, type TrafficField, type TrafficSettings } from './traffic-values.ts';
import {
  InjectorConfigError,
  isDnsLabel,
  isPlainObject,
  mismatch,
  readBoolean,
  readInteger,
  readMapping,
  readOneOf,
  readSection,
  readString,
  readStringList,
  type FieldReader,
  type ReadContext,
} from './config-schema.ts';

export { InjectorConfigError };

/** CPU and memory quantities; '' leaves that field out of the proxy's resources. */
export interface ResourceQuantities {
  cpu: string;
  memory: string;
}

export interface ProxyResources {
  requests: ResourceQuantities;
  limits: ResourceQuantities;
}

export interface ReadinessProbeTimings {
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
}

export interface StartupProbeSettings {
  enabled: boolean;
  failureThreshold: number;
}

/**
 * What only Istio's values and mesh config say (docs/injector-config.md lists each key). Switchboard's
 * own config has no field for these: they describe the installed istiod, so they come from its files.
 */
export interface IstioInjectionSettings {
  /** values.global.proxy.statusPort: istio-init's -d, the CNI exclusion, the native preStop and the proxy's probes (none at 0). */
  statusPort: number;
  /** meshConfig.defaultConfig.statusPort: where the agent listens, so where app probes and prometheus.io/port point. */
  agentStatusPort: number;
  /** meshConfig.proxyListenPort and proxyInboundListenPort: istio-iptables -p and -z. */
  outboundListenerPort: number;
  inboundListenerPort: number;
  /** meshConfig.inboundTrafficPolicy.mode LOCALHOST: the agent sends rewritten probes to localhost, as Envoy sends inbound traffic. */
  inboundToLocalhost: boolean;
  /** values.global.proxy_init.image; undefined without Istio's values, when istio-init runs the proxy's image. */
  proxyInitImage?: string;
  /** values.global.variant: the image type (debug, distroless) suffixed to the tag when the mesh config names none. */
  variant: string;
  /** values.global.pilotCertProvider: who signs istiod's certificate; only "istiod" mounts its root certificate and CRL. */
  pilotCertProvider: string;
  /** values.global.trustBundleName: the ConfigMap (or ClusterTrustBundle) holding the root certificate; '' for Istio's default. */
  trustBundleName: string;
  /** values.pilot.env.ENABLE_CLUSTER_TRUST_BUNDLE_API: the root certificate from a ClusterTrustBundle. */
  clusterTrustBundle: boolean;
  /** values.pilot.crlConfigMapName; '' for istio-ca-crl. */
  crlConfigMapName: string;
  /** values.global.caName GkeWorkloadCertificate: GKE's CSI driver provides the workload certificate. */
  gkeWorkloadCertificate: boolean;
  /** values.global.mountMtlsCerts: the service account's istio.<name> secret at /etc/certs/. */
  mountMtlsCerts: boolean;
  /** values.pilot.cni.provider multus: the pod asks Multus for the istio-cni network. */
  multusNetwork: boolean;
  /** values.global.proxy.lifecycle: replaces the proxy's own hooks. */
  lifecycle?: V1Lifecycle;
  /** values.global.proxy.seccompProfile: istio-init's and the proxy's. */
  seccompProfile?: V1SeccompProfile;
  /** values.global.proxy_init.forceApplyIptables, values.global.nativeNftables, values.global.logAsJson: istio-iptables and agent flags. */
  forceApplyIptables: boolean;
  nativeNftables: boolean;
  logAsJson: boolean;
  /** values.global.sts.servicePort; 0 for none. */
  stsPort: number;
  /** values.global.proxy.outlierLogPath; '' for none. */
  outlierLogPath: string;
  /** values.sidecarInjectorWebhook.injectedAnnotations: set on every injected pod, over its own. */
  injectedAnnotations: Record<string, string>;
  /** values.global.proxy.tracer: datadog reads the pod's apm.datadoghq.com/env, lightstep mounts its CA. */
  tracer: string;
  /** values.gateways.securityContext: the gateway template's pod security context, in place of its sysctl. */
  gatewaySecurityContext?: V1PodSecurityContext;
  /** values.pilot.env.COMPLIANCE_POLICY: handed to the proxy (fips-140-3 also restricts Go's crypto). */
  compliancePolicy: string;
  /** values.sidecarInjectorWebhook.defaultTemplates: the templates of pods that name none. */
  defaultTemplates: string[];
  /** values.sidecarInjectorWebhook.templates: static custom templates, by name (templates with actions are refused). */
  customTemplates: Record<string, CustomTemplate>;
  /** meshConfig.extensionProviders: an OpenTelemetry provider enriching spans with OTEL semantic conventions. */
  otelResourceAttributes: boolean;
}

export function defaultIstioInjectionSettings(): IstioInjectionSettings {
  return {
    statusPort: 15020,
    agentStatusPort: 15020,
    outboundListenerPort: 15001,
    inboundListenerPort: 15006,
    inboundToLocalhost: false,
    variant: '',
    pilotCertProvider: 'istiod',
    trustBundleName: '',
    clusterTrustBundle: false,
    crlConfigMapName: '',
    gkeWorkloadCertificate: false,
    mountMtlsCerts: false,
    multusNetwork: false,
    forceApplyIptables: false,
    nativeNftables: false,
    logAsJson: false,
    stsPort: 0,
    outlierLogPath: '',
    injectedAnnotations: {},
    tracer: 'none',
    compliancePolicy: '',
    defaultTemplates: ['sidecar'],
    customTemplates: {},
    otelResourceAttributes: false,
  };
}

const defaultIstio = Object.freeze(defaultIstioInjectionSettings());

/** The config's Istio settings, or Istio's defaults when it has none (a config built before they existed). */
export function istioSettings(config: InjectorConfig): IstioInjectionSettings {
  return config.istio ?? defaultIstio;
}

export interface InjectorConfig {
  /** Control-plane revision served by this injector; '' = the default revision (istio.io/rev=default, and istio-injection=enabled). */
  revision: string;
  /** Revision tags pointing at this revision (istioctl tag set): namespaces and pods may name them in istio.io/rev. */
  revisionTags: string[];
  hub: string;
  tag: string;
  /** Image name under hub:tag, or a full reference when it contains '/'. */
  proxyImage: string;
  /** '' leaves imagePullPolicy unset (Kubernetes' default). */
  imagePullPolicy: '' | 'Always' | 'IfNotPresent' | 'Never';
  imagePullSecrets: string[];
  resources: ProxyResources;
  excludedNamespaces: string[];
  /**
   * Namespaces whose init containers may run as the proxy's UID/GID (1337, or an istio-proxy override's
   * runAsUser), so that they reach the network before the proxy starts. Names, never selectors: a tenant
   * who can label a namespace cannot opt it in. Each allowed pod gets an admission warning and an Event.
   */
  proxyUidInitContainerNamespaces: string[];
  /** Istio's policy: "enabled" injects every pod the webhook receives unless it opts out; "disabled" only pods that opt in. */
  injectionPolicy: 'enabled' | 'disabled';
  /** Pods without sidecar.istio.io/inject matching one of these are not injected (checked first). */
  neverInjectSelector: V1LabelSelector[];
  /** Pods without sidecar.istio.io/inject matching one of these are injected, even under a disabled policy. */
  alwaysInjectSelector: V1LabelSelector[];
  /** Proxy as an init container with restartPolicy Always: true, false, or 'auto' (where every kubelet is 1.33+), like Istio's ENABLE_NATIVE_SIDECARS. */
  nativeSidecars: NativeSidecarSetting;
  /** Proxy first, app containers held by a postStart `pilot-agent wait` until the proxy is ready. */
  holdApplicationUntilProxyStarts: boolean;
  /** Point prometheus.io annotations at the agent, which merges app and Envoy metrics. */
  prometheusMerge: boolean;
  /** Send the app's HTTP, TCP and gRPC probes through the agent's status port (Istio's sidecarInjectorWebhook.rewriteAppHTTPProbe). */
  rewriteAppHTTPProbe: boolean;
  interceptionMode: InterceptionMode;
  traffic: TrafficSettings;
  istioNamespace: string;
  /** Istio's global.network: ISTIO_META_NETWORK and the topology.istio.io/network label; '' for none. */
  network: string;
  /** Istio CNI sets up the redirect (pilot.cni.enabled): istio-validation checks it instead of istio-init writing it. */
  cniEnabled: boolean;
  /** '' = istiod[-revision].<istioNamespace>.svc:15012 */
  caAddress: string;
  clusterId: string;
  clusterDomain: string;
  meshId: string;
  trustDomain: string;
  proxyLogLevel: string;
  proxyComponentLogLevel: string;
  agentLogLevel: string;
  readinessProbe: ReadinessProbeTimings;
  startupProbe: StartupProbeSettings;
  /** Audience of the projected service-account token the proxy presents to istiod. */
  tokenAudience: string;
  /** Mesh-wide ProxyConfig defaults, merged with proxy.istio.io/config into PROXY_CONFIG. */
  proxyConfig: Record<string, unknown>;
  /** Set from Istio's values and mesh config only, never from Switchboard's config; absent means Istio's defaults. */
  istio?: IstioInjectionSettings;
}

export function defaultInjectorConfig(): InjectorConfig {
  return {
    revision: '',
    revisionTags: [],
    hub: 'docker.io/istio',
    tag: '1.27.1',
    proxyImage: 'proxyv2',
    imagePullPolicy: '',
    imagePullSecrets: [],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    excludedNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'],
    proxyUidInitContainerNamespaces: [],
    injectionPolicy: 'enabled',
    neverInjectSelector: [],
    alwaysInjectSelector: [],
    nativeSidecars: 'auto',
    holdApplicationUntilProxyStarts: false,
    prometheusMerge: true,
    rewriteAppHTTPProbe: true,
    interceptionMode: 'REDIRECT',
    traffic: {
      includeOutboundIPRanges: '*',
      excludeOutboundIPRanges: '',
      includeInboundPorts: '*',
      excludeInboundPorts: '',
      includeOutboundPorts: '',
      excludeOutboundPorts: '',
    },
    istioNamespace: 'istio-system',
    network: '',
    cniEnabled: false,
    caAddress: '',
    clusterId: 'Kubernetes',
    clusterDomain: 'cluster.local',
    meshId: 'cluster.local',
    trustDomain: 'cluster.local',
    proxyLogLevel: 'warning',
    proxyComponentLogLevel: 'misc:error',
    agentLogLevel: 'default:info',
    // Istio's defaults since 1.20, when the startup probe took over the aggressive polling.
    readinessProbe: { initialDelaySeconds: 0, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
    startupProbe: { enabled: true, failureThreshold: 600 },
    tokenAudience: 'istio-ca',
    proxyConfig: {},
  };
}

/** Parses a config file's text (or a ConfigMap's YAML holding it under data["config.yaml"] or data.config). */
export function parseInjectorConfig(yamlText: string, sourceName: string): InjectorConfig {
  const raw = parseYaml(yamlText, sourceName);
  if (isPlainObject(raw) && raw.kind === 'ConfigMap') return parseConfigMap(raw, sourceName);
  const config = configReader({ source: sourceName })(raw, '', defaultInjectorConfig());
  checkRequestsWithinLimits(config.resources, sourceName);
  return config;
}

export function loadInjectorConfigFile(path: string): InjectorConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InjectorConfigError(path, '', `cannot read the injector config: ${(error as Error).message}`);
  }
  return parseInjectorConfig(text, path);
}

function parseYaml(text: string, source: string): unknown {
  const document = parseDocument(text);
  const [firstError] = document.errors;
  if (firstError) throw new InjectorConfigError(source, '', `not valid YAML: ${firstError.message}`);
  return document.toJS() as unknown;
}

function parseConfigMap(configMap: Record<string, unknown>, source: string): InjectorConfig {
  const data = configMap.data;
  const key = isPlainObject(data) ? ['config.yaml', 'config'].find((candidate) => Object.hasOwn(data, candidate)) : undefined;
  if (!isPlainObject(data) || key === undefined) {
    throw new InjectorConfigError(source, 'data', 'this ConfigMap has no "config.yaml" or "config" key; put the injector config (YAML) under one of them');
  }
  const text = data[key];
  if (typeof text !== 'string') throw mismatch({ source }, `data["${key}"]`, text, 'the injector config as a YAML string');
  return parseInjectorConfig(text, `${source} (data["${key}"])`);
}

function configReader(context: ReadContext): FieldReader<InjectorConfig> {
  const nonEmpty = (expected: string) => readString(context, expected, (text) => text.trim() !== '');
  const anyString = readString(context, 'a string', () => true);
  const quantity = readString(context, `${quantityExpectation}, or "" for none`, (text) => text === '' || parseQuantity(text) !== undefined);
  const quantities = readSection<ResourceQuantities>(context, { cpu: quantity, memory: quantity });
  const trafficReaders = Object.fromEntries(trafficFields.map((field) => [field, trafficReader(context, field)]));
  return readSection<InjectorConfig>(context, {
    revision: readString(context, 'a DNS label such as "canary", or "" for none', (text) => text === '' || isDnsLabel(text)),
    revisionTags: readStringList(context, 'revision tag names (DNS labels)', isDnsLabel),
    hub: nonEmpty('an image registry such as "docker.io/istio"'),
    tag: nonEmpty('an image tag such as "1.27.1"'),
    proxyImage: nonEmpty('an image name such as "proxyv2" or a full image reference'),
    imagePullPolicy: readOneOf(context, ['', 'Always', 'IfNotPresent', 'Never'] as const),
    imagePullSecrets: readStringList(context, 'secret names', isDnsSubdomain),
    resources: readSection<ProxyResources>(context, { requests: quantities, limits: quantities }),
    excludedNamespaces: readStringList(context, 'namespace names', isDnsLabel),
    proxyUidInitContainerNamespaces: readStringList(context, 'namespace names (no wildcards or selectors)', isDnsLabel),
    injectionPolicy: readOneOf(context, ['enabled', 'disabled'] as const),
    neverInjectSelector: readLabelSelectors(context),
    alwaysInjectSelector: readLabelSelectors(context),
    nativeSidecars: readNativeSidecarSetting(context),
    holdApplicationUntilProxyStarts: readBoolean(context),
    prometheusMerge: readBoolean(context),
    rewriteAppHTTPProbe: readBoolean(context),
    interceptionMode: readOneOf(context, interceptionModes),
    traffic: readSection<TrafficSettings>(context, trafficReaders as { [K in TrafficField]: FieldReader<string> }),
    istioNamespace: readString(context, 'a namespace name', isDnsLabel),
    network: readString(context, 'a network name, or "" for none', () => true),
    cniEnabled: readBoolean(context),
    caAddress: anyString,
    clusterId: nonEmpty('a cluster name such as "Kubernetes"'),
    clusterDomain: nonEmpty('a DNS domain such as "cluster.local"'),
    meshId: nonEmpty('a mesh ID such as "cluster.local"'),
    trustDomain: nonEmpty('a trust domain such as "cluster.local"'),
    proxyLogLevel: nonEmpty('an Envoy log level such as "warning"'),
    proxyComponentLogLevel: nonEmpty('component log levels such as "misc:error"'),
    agentLogLevel: nonEmpty('scoped log levels such as "default:info"'),
    readinessProbe: readSection<ReadinessProbeTimings>(context, {
      initialDelaySeconds: readInteger(context, 0),
      periodSeconds: readInteger(context, 1),
      timeoutSeconds: readInteger(context, 1),
      failureThreshold: readInteger(context, 1),
    }),
    startupProbe: readSection<StartupProbeSettings>(context, { enabled: readBoolean(context), failureThreshold: readInteger(context, 1) }),
    tokenAudience: nonEmpty('a token audience such as "istio-ca"'),
    proxyConfig: readMapping(context),
  });
}

function readLabelSelectors(context: ReadContext): FieldReader<V1LabelSelector[]> {
  const readStringMap = (value: unknown, path: string): Record<string, string> => {
    if (!isPlainObject(value) || !Object.values(value).every((entry) => typeof entry === 'string')) throw mismatch(context, path, value, 'a mapping of label names to values');
    return value as Record<string, string>;
  };
  const readSelector = readSection<{ matchLabels: Record<string, string>; matchExpressions: V1LabelSelectorRequirement[] }>(context, {
    matchLabels: readStringMap,
    matchExpressions: (value, path) => {
      if (!Array.isArray(value)) throw mismatch(context, path, value, 'a list of {key, operator, values}');
      return value.map((item: unknown, index) => {
        const requirement = readSection<{ key: string; operator: string; values: string[] }>(context, {
          key: readString(context, 'a label name', (text) => text !== ''),
          operator: readString(context, 'In, NotIn, Exists or DoesNotExist', () => true),
          values: readStringList(context, 'label values', () => true),
        })(item, `${path}[${index}]`, { key: '', operator: '', values: [] });
        return requirement.values.length > 0 ? requirement : { key: requirement.key, operator: requirement.operator };
      });
    },
  });
  return (value, path) => {
    if (!Array.isArray(value)) throw mismatch(context, path, value, 'a list of label selectors ({matchLabels, matchExpressions})');
    return value.map((item: unknown, index) => {
      const selector: V1LabelSelector = readSelector(item, `${path}[${index}]`, {} as never);
      const problem = labelSelectorProblem(selector);
      if (problem) throw new InjectorConfigError(context.source, `${path}[${index}].${problem.split(':')[0]}`, problem.slice(problem.indexOf(':') + 2));
      return selector;
    });
  };
}

function readNativeSidecarSetting(context: ReadContext): FieldReader<NativeSidecarSetting> {
  return (value, path) => {
    if (typeof value === 'boolean' || value === 'auto') return value;
    throw mismatch(context, path, value, 'true, false or "auto"');
  };
}

function trafficReader(context: ReadContext, field: TrafficField): FieldReader<string> {
  return (value, path) => {
    const check = typeof value === 'string' ? checkTrafficValue(field, value) : undefined;
    if (!check?.ok) throw mismatch(context, path, value, `${trafficExpectation(field)}, or ""`);
    return check.value;
  };
}

function checkRequestsWithinLimits(resources: ProxyResources, source: string): void {
  for (const resource of ['cpu', 'memory'] as const) {
    const request = parseQuantity(resources.requests[resource]);
    const limit = parseQuantity(resources.limits[resource]);
    if (request !== undefined && limit !== undefined && request > limit) {
      throw new InjectorConfigError(
        source,
        `resources.requests.${resource}`,
        `got ${JSON.stringify(resources.requests[resource])}, more than resources.limits.${resource} ${JSON.stringify(resources.limits[resource])}; expected a request no larger than the limit`,
      );
    }
  }
}

function isDnsSubdomain(text: string): boolean {
  return text.length <= 253 && text.split('.').every(isDnsLabel);
}
