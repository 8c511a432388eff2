// JSON Schemas of the two Istio inputs the injector reads: the sidecar injector's `values` (the
// shape of Istio's Values proto, operator/pkg/apis/values_types.proto) and the mesh config
// (MeshConfig, istio.io/api mesh/v1alpha1). Every key Istio defines in the sections the injector
// reads is listed, so a misspelt key is an error naming it; the keys the injector uses are typed.
type Schema = Record<string, unknown>;

const anything: Schema = {};
const string: Schema = { type: 'string' };
const boolean: Schema = { type: 'boolean' };
const count: Schema = { type: 'integer', minimum: 0 };
const port: Schema = { type: 'integer', minimum: 0, maximum: 65535 };
const stringList: Schema = { type: 'array', items: string };
const stringMap: Schema = { type: 'object', additionalProperties: string };
const mapping: Schema = { type: 'object' };
const quantity: Schema = { type: ['string', 'number'] };

/** An object with exactly these keys: the typed ones, and the others Istio defines, of any type. */
function strict(typed: Record<string, Schema>, untyped: string[] = []): Schema {
  return { type: 'object', properties: { ...Object.fromEntries(untyped.map((key) => [key, anything])), ...typed }, additionalProperties: false };
}

const mappingOrNull: Schema = { type: ['object', 'null'] };
const tracers: Schema = { enum: ['zipkin', 'lightstep', 'datadog', 'stackdriver', 'openCensusAgent', 'none'] };

const resources = strict({ requests: strict({ cpu: quantity, memory: quantity }, ['ephemeral-storage']), limits: strict({ cpu: quantity, memory: quantity }, ['ephemeral-storage']) });
const labelSelectors: Schema = { type: 'array', items: strict({ matchLabels: stringMap, matchExpressions: { type: 'array', items: strict({ key: string, operator: string, values: stringList }) } }) };

const proxyValues = strict(
  {
    image: string,
    autoInject: { enum: ['enabled', 'disabled'] },
    clusterDomain: string,
    componentLogLevel: string,
    logLevel: string,
    excludeInboundPorts: string,
    includeInboundPorts: string,
    includeIPRanges: string,
    excludeIPRanges: string,
    includeOutboundPorts: string,
    excludeOutboundPorts: string,
    readinessInitialDelaySeconds: count,
    readinessPeriodSeconds: count,
    readinessFailureThreshold: count,
    startupProbe: strict({ enabled: boolean, failureThreshold: count }),
    statusPort: port,
    resources,
    holdApplicationUntilProxyStarts: boolean,
    privileged: boolean,
    outlierLogPath: string,
    seccompProfile: mappingOrNull,
    lifecycle: mappingOrNull,
    tracer: tracers,
    // Not in Istio's Values message, but its template reads it (the proxy then runs as root).
    capNetBindService: anything,
  },
  ['enableCoreDump'],
);

const globalValues = strict(
  {
    hub: string,
    tag: { type: ['string', 'number'] },
    imagePullPolicy: { enum: ['', 'Always', 'IfNotPresent', 'Never'] },
    imagePullSecrets: stringList,
    istioNamespace: string,
    caAddress: string,
    network: string,
    meshID: string,
    multiCluster: strict({ clusterName: string }, ['enabled', 'globalDomainSuffix', 'includeEnvoyFilter']),
    logging: strict({ level: string }),
    sds: strict({ token: strict({ aud: string }) }),
    proxy: proxyValues,
    proxy_init: strict({ image: string, resources, forceApplyIptables: boolean }),
    logAsJson: boolean,
    variant: string,
    pilotCertProvider: string,
    sts: strict({ servicePort: port }),
    mountMtlsCerts: boolean,
    caName: string,
    trustBundleName: string,
    nativeNftables: boolean,
  },
  [
    'arch', 'certSigners', 'configValidation', 'defaultNodeSelector', 'defaultPodDisruptionBudget', 'defaultResources', 'defaultTolerations',
    'meshNetworks', 'podDNSSearchNamespaces', 'omitSidecarInjectorConfigMap', 'operatorManageWebhooks', 'priorityClassName',
    'tracer', 'remotePilotAddress', 'istiod', 'jwtPolicy', 'revision', 'externalIstiod',
    'configCluster', 'platform', 'ipFamilies', 'ipFamilyPolicy', 'waypoint', 'networkPolicy',
    'resourceScope', 'agentgateway', 'enableReaderRBAC', 'readerServiceAccount', 'trustDomain',
  ],
);

const pilotValues = strict({ cni: strict({ enabled: boolean, provider: string }, ['chained']), env: mapping, crlConfigMapName: string }, [
  'enabled', 'autoscaleEnabled', 'autoscaleMin', 'autoscaleMax', 'autoscaleBehavior', 'replicaCount', 'image', 'traceSampling', 'resources', 'cpu',
  'nodeSelector', 'keepaliveMaxServerConnectionAge', 'deploymentLabels', 'podLabels', 'configMap', 'affinity', 'rollingMaxSurge', 'rollingMaxUnavailable',
  'tolerations', 'podAnnotations', 'serviceAnnotations', 'serviceAccountAnnotations', 'jwksResolverExtraRootCA', 'hub', 'tag', 'variant', 'seccompProfile',
  'topologySpreadConstraints', 'extraContainerArgs', 'volumeMounts', 'volumes', 'ipFamilies', 'ipFamilyPolicy', 'memory', 'taint', 'trustedZtunnelNamespace',
  'trustedZtunnelName', 'istiodRemote', 'envVarFrom', 'initContainers', 'sidecarInjectorWebhookAnnotations', 'deploymentAnnotations',
]);

const sidecarInjectorWebhookValues = strict(
  {
    neverInjectSelector: labelSelectors,
    alwaysInjectSelector: labelSelectors,
    rewriteAppHTTPProbe: boolean,
    defaultTemplates: stringList,
    injectedAnnotations: mappingOrNull,
    templates: mappingOrNull,
  },
  ['enableNamespacesByDefault', 'reinvocationPolicy', 'injectionURL'],
);

export const istioValuesSchema: Schema = strict(
  {
    global: globalValues,
    pilot: pilotValues,
    sidecarInjectorWebhook: sidecarInjectorWebhookValues,
    revision: string,
    revisionTags: stringList,
    gateways: strict({ securityContext: mappingOrNull }, ['seccompProfile']),
  },
  [
    'cni', 'ztunnel', 'telemetry', 'istio_cni', 'ownerName', 'meshConfig', 'base', 'istiodRemote', 'defaultRevision', 'profile', 'compatibilityVersion',
    'experimental', 'gatewayClasses',
  ],
);

const proxyConfig = strict(
  {
    proxyMetadata: stringMap,
    holdApplicationUntilProxyStarts: boolean,
    interceptionMode: { enum: ['REDIRECT', 'TPROXY', 'NONE'] },
    statusPort: { type: 'integer', minimum: 1, maximum: 65535 },
    discoveryAddress: string,
    meshId: string,
    image: strict({ imageType: string }),
  },
  [
    'configPath', 'binaryPath', 'serviceCluster', 'tracingServiceName', 'drainDuration', 'discoveryRefreshDelay', 'zipkinAddress', 'statsdUdpAddress',
    'envoyMetricsServiceAddress', 'proxyAdminPort', 'availabilityZone', 'controlPlaneAuthPolicy', 'customConfigFile', 'statNameLength', 'concurrency',
    'proxyBootstrapTemplatePath', 'tracing', 'sds', 'envoyAccessLogService', 'envoyMetricsService', 'runtimeValues', 'extraStatTags', 'gatewayTopology',
    'terminationDrainDuration', 'readinessProbe', 'proxyStatsMatcher', 'caCertificatesPem', 'privateKeyProvider', 'proxyHeaders',
    'fileFlushInterval', 'fileFlushMinSizeKb', 'statsCompression', 'connectionSettings',
  ],
);

export const meshConfigSchema: Schema = strict(
  {
    defaultConfig: proxyConfig,
    trustDomain: string,
    enablePrometheusMerge: boolean,
    // Istio's parser takes enum names as written: "localhost" is refused as an unknown value.
    inboundTrafficPolicy: strict({ mode: { enum: ['PASSTHROUGH', 'LOCALHOST'] } }),
    proxyListenPort: { type: 'integer', minimum: 1, maximum: 65535 },
    proxyInboundListenPort: port,
    extensionProviders: { type: 'array', items: mapping },
  },
  [
    'proxyHttpPort', 'connectTimeout', 'hboneIdleTimeout', 'protocolDetectionTimeout', 'tcpKeepalive', 'ingressClass',
    'ingressService', 'ingressControllerMode', 'ingressSelector', 'enableTracing', 'accessLogFile', 'accessLogFormat', 'accessLogEncoding',
    'enableEnvoyAccessLogService', 'disableEnvoyListenerLog', 'outboundTrafficPolicy', 'configSources', 'enableAutoMtls', 'trustDomainAliases', 'certSigners',
    'trustDomains', 'caCertificates', 'defaultServiceExportTo', 'defaultVirtualServiceExportTo', 'defaultDestinationRuleExportTo', 'rootNamespace',
    'localityLbSetting', 'zoneAwareLbSetting', 'dnsRefreshRate', 'h2UpgradePolicy', 'inboundClusterStatName', 'outboundClusterStatName', 'certificates',
    'serviceSettings', 'serviceScopeConfigs', 'verifyCertificateAtClient', 'ca', 'logFormat', 'omitEmptyValues', 'defaultProviders',
    'discoverySelectors', 'pathNormalization', 'defaultHttpRetryPolicy', 'meshMTLS', 'tlsDefaults', 'defaultTrafficPolicy', 'serviceEntryVisibility',
  ],
);
