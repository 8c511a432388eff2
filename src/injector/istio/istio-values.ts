// Istio's own configuration as the injector's input: the `values` of the istio-sidecar-injector
// ConfigMap and the mesh config of the `istio` ConfigMap, the two files `istioctl kube-inject` takes.
// They describe the installed istiod (its hub, tag, proxy settings), so where they and Switchboard's
// config both say something, Istio's wins; Switchboard's config keeps what Istio has no setting for
// (native sidecars auto, excluded namespaces, revision tags, prometheus merge default, ...).
import type { V1LabelSelector } from '@kubernetes/client-node';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { InjectorConfigError, describeValue, isPlainObject } from '../config-schema.ts';
import type { InjectorConfig, ResourceQuantities } from '../config.ts';
import { labelSelectorProblem } from '../label-selectors.ts';
import { interceptionModes, type InterceptionMode } from './istio-constants.ts';
import { readIstioSettings } from './istio-settings.ts';
import { istioValuesSchema, meshConfigSchema } from './istio-values-schema.ts';
import { parseQuantity, quantityExpectation } from '../quantity.ts';
import { checkTrafficValue, type TrafficField } from '../traffic-values.ts';

export type IstioValues = Record<string, unknown>;
export type MeshConfig = Record<string, unknown>;

// Compiled once: validating a file or a ConfigMap update costs no schema work.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validateValues = ajv.compile(istioValuesSchema);
const validateMesh = ajv.compile(meshConfigSchema);

/** Reads Istio's values (YAML or JSON, or a ConfigMap holding them under data.values). */
export function parseIstioValues(text: string, source: string): IstioValues {
  return parseValidated(text, source, 'values', validateValues);
}

/** Reads a MeshConfig (YAML, or a ConfigMap holding it under data.mesh). */
export function parseMeshConfig(text: string, source: string): MeshConfig {
  return parseValidated(text, source, 'mesh', validateMesh);
}

function parseValidated(text: string, source: string, configMapKey: string, validate: ValidateFunction): Record<string, unknown> {
  const document = parseDocument(text);
  const [yamlError] = document.errors;
  if (yamlError) throw new InjectorConfigError(source, '', `not valid YAML or JSON: ${yamlError.message}`);
  let value: unknown = document.toJS();
  if (isPlainObject(value) && value.kind === 'ConfigMap') {
    const data = value.data;
    const held = isPlainObject(data) ? data[configMapKey] : undefined;
    if (typeof held !== 'string') throw new InjectorConfigError(source, `data.${configMapKey}`, `this ConfigMap has no "${configMapKey}" key holding Istio's ${configMapKey === 'mesh' ? 'mesh config' : 'values'} as text`);
    return parseValidated(held, `${source} (data.${configMapKey})`, configMapKey, validate);
  }
  value ??= {};
  if (!isPlainObject(value)) throw new InjectorConfigError(source, '', `got ${describeValue(value)}; expected a mapping`);
  if (!validate(value)) throw new InjectorConfigError(source, '', (validate.errors ?? []).map((error) => describeSchemaError(error, value)).join('; '));
  return value;
}

function describeSchemaError(error: ErrorObject, root: unknown): string {
  const path = error.instancePath.split('/').slice(1).map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (error.keyword === 'additionalProperties') {
    const key = (error.params as { additionalProperty: string }).additionalProperty;
    return `${[...path, key].join('.')}: unknown key; Istio defines no such setting here (check its spelling and nesting)`;
  }
  let actual: unknown = root;
  for (const segment of path) actual = isPlainObject(actual) || Array.isArray(actual) ? (actual as Record<string, unknown>)[segment] : undefined;
  const expected = error.keyword === 'enum' ? `one of ${((error.params as { allowedValues: unknown[] }).allowedValues ?? []).map((allowed) => JSON.stringify(allowed)).join(', ')}` : (error.message ?? 'another value');
  return `${path.join('.') || '(root)'}: got ${describeValue(actual)}; expected ${expected.replace(/^must be /, '')}`;
}

type Path = readonly string[];

function at(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) value = isPlainObject(value) ? value[key] : undefined;
  return value;
}

/**
 * The injector config with Istio's values and mesh config applied over it. Values the schema cannot
 * judge (quantities, port and CIDR lists, selectors) are checked here, naming Istio's key.
 */
export function applyIstioConfiguration(base: InjectorConfig, values: IstioValues | undefined, mesh: MeshConfig | undefined, sources: { values: string; mesh: string }): InjectorConfig {
  const config: InjectorConfig = structuredClone(base);
  const fail = (source: string, path: Path, detail: string) => new InjectorConfigError(source, path.join('.'), detail);
  const fromValues = <T>(path: Path, apply: (value: T) => void) => {
    const value = at(values, path);
    if (value !== undefined && value !== null) apply(value as T);
  };
  if (values) {
    const proxy = ['global', 'proxy'];
    fromValues<string>(['global', 'hub'], (hub) => hub !== '' && (config.hub = hub));
    fromValues<string | number>(['global', 'tag'], (tag) => String(tag) !== '' && (config.tag = String(tag)));
    fromValues<string>([...proxy, 'image'], (image) => image !== '' && (config.proxyImage = image));
    fromValues<InjectorConfig['imagePullPolicy']>(['global', 'imagePullPolicy'], (policy) => (config.imagePullPolicy = policy));
    fromValues<string[]>(['global', 'imagePullSecrets'], (secrets) => (config.imagePullSecrets = secrets));
    fromValues<string>(['global', 'istioNamespace'], (namespace) => namespace !== '' && (config.istioNamespace = namespace));
    fromValues<string>(['global', 'caAddress'], (address) => (config.caAddress = address));
    fromValues<string>(['global', 'network'], (network) => (config.network = network));
    fromValues<string>(['global', 'meshID'], (meshId) => meshId !== '' && (config.meshId = meshId));
    fromValues<string>(['global', 'multiCluster', 'clusterName'], (cluster) => cluster !== '' && (config.clusterId = cluster));
    fromValues<string>(['global', 'logging', 'level'], (level) => level !== '' && (config.agentLogLevel = level));
    fromValues<string>(['global', 'sds', 'token', 'aud'], (audience) => audience !== '' && (config.tokenAudience = audience));
    fromValues<string>([...proxy, 'clusterDomain'], (domain) => domain !== '' && (config.clusterDomain = domain));
    fromValues<string>([...proxy, 'logLevel'], (level) => level !== '' && (config.proxyLogLevel = level));
    fromValues<string>([...proxy, 'componentLogLevel'], (level) => level !== '' && (config.proxyComponentLogLevel = level));
    fromValues<'enabled' | 'disabled'>([...proxy, 'autoInject'], (policy) => (config.injectionPolicy = policy));
    fromValues<boolean>([...proxy, 'holdApplicationUntilProxyStarts'], (hold) => (config.holdApplicationUntilProxyStarts = hold));
    fromValues<number>([...proxy, 'readinessInitialDelaySeconds'], (seconds) => (config.readinessProbe.initialDelaySeconds = seconds));
    // Istio writes 0 as given; the API server then applies its own defaults (10 s, 3 failures).
    fromValues<number>([...proxy, 'readinessPeriodSeconds'], (seconds) => (config.readinessProbe.periodSeconds = seconds));
    fromValues<number>([...proxy, 'readinessFailureThreshold'], (threshold) => (config.readinessProbe.failureThreshold = threshold));
    fromValues<boolean>([...proxy, 'startupProbe', 'enabled'], (enabled) => (config.startupProbe.enabled = enabled));
    fromValues<number>([...proxy, 'startupProbe', 'failureThreshold'], (threshold) => (config.startupProbe.failureThreshold = threshold));
    fromValues<Record<string, Record<string, string | number>>>([...proxy, 'resources'], (resources) => {
      // Istio's values give the proxy exactly these resources: a field left out is not set.
      config.resources = { requests: quantities(resources.requests, [...proxy, 'resources', 'requests']), limits: quantities(resources.limits, [...proxy, 'resources', 'limits']) };
    });
    const traffic: Array<[string, TrafficField]> = [
      ['includeIPRanges', 'includeOutboundIPRanges'],
      ['excludeIPRanges', 'excludeOutboundIPRanges'],
      ['includeInboundPorts', 'includeInboundPorts'],
      ['excludeInboundPorts', 'excludeInboundPorts'],
      ['includeOutboundPorts', 'includeOutboundPorts'],
      ['excludeOutboundPorts', 'excludeOutboundPorts'],
    ];
    for (const [key, field] of traffic) {
      fromValues<string>([...proxy, key], (text) => {
        const check = checkTrafficValue(field, text);
        if (!check.ok) throw fail(sources.values, [...proxy, key], `got ${JSON.stringify(text)}; expected ${check.expected}, or ""`);
        config.traffic[field] = check.value;
      });
    }
    fromValues<boolean>(['pilot', 'cni', 'enabled'], (enabled) => (config.cniEnabled = enabled));
    fromValues<string>(['revision'], (revision) => (config.revision = revision === 'default' ? '' : revision));
    fromValues<boolean>(['sidecarInjectorWebhook', 'rewriteAppHTTPProbe'], (rewrite) => (config.rewriteAppHTTPProbe = rewrite));
    for (const key of ['neverInjectSelector', 'alwaysInjectSelector'] as const) {
      fromValues<V1LabelSelector[]>(['sidecarInjectorWebhook', key], (selectors) => {
        selectors.forEach((selector, index) => {
          const problem = labelSelectorProblem(selector);
          if (problem) throw fail(sources.values, ['sidecarInjectorWebhook', `${key}[${index}]`], problem);
        });
        config[key] = selectors;
      });
    }
  }
  if (mesh) {
    const defaultConfig = at(mesh, ['defaultConfig']);
    if (isPlainObject(defaultConfig)) {
      config.proxyConfig = { ...config.proxyConfig, ...defaultConfig };
      const mode = defaultConfig.interceptionMode;
      if (typeof mode === 'string' && (interceptionModes as readonly string[]).includes(mode)) config.interceptionMode = mode as InterceptionMode;
      // Istio holds the app when either the values or the mesh default say so.
      if (defaultConfig.holdApplicationUntilProxyStarts === true) config.holdApplicationUntilProxyStarts = true;
    }
    const trustDomain = at(mesh, ['trustDomain']);
    if (typeof trustDomain === 'string' && trustDomain !== '') {
      config.trustDomain = trustDomain;
      // The template falls back to the trust domain when global.meshID is empty.
      if (typeof at(values, ['global', 'meshID']) !== 'string' || at(values, ['global', 'meshID']) === '') config.meshId = trustDomain;
    }
    const merge = at(mesh, ['enablePrometheusMerge']);
    if (typeof merge === 'boolean') config.prometheusMerge = merge;
  }
  if (values || mesh) {
    const istio = readIstioSettings(config.istio, values, mesh, sources);
    config.istio = istio.istio;
    if (istio.nativeSidecars !== undefined) config.nativeSidecars = istio.nativeSidecars;
  }
  return config;

  function quantities(given: Record<string, string | number> | undefined, path: Path): ResourceQuantities {
    const result: ResourceQuantities = { cpu: '', memory: '' };
    for (const resource of ['cpu', 'memory'] as const) {
      const raw = given?.[resource];
      if (raw === undefined) continue;
      const text = String(raw);
      if (parseQuantity(text) === undefined) throw fail(sources.values, [...path, resource], `got ${JSON.stringify(raw)}; expected ${quantityExpectation}`);
      result[resource] = text;
    }
    return result;
  }
}

/** `--values-file` and `--mesh-config-file`: read, validated and applied over the injector config. */
export function loadIstioConfigurationFiles(base: InjectorConfig, files: { valuesFile?: string; meshConfigFile?: string }): InjectorConfig {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new InjectorConfigError(path, '', `cannot read Istio's ${what}: ${(error as Error).message}`);
    }
  };
  const values = files.valuesFile === undefined ? undefined : parseIstioValues(read(files.valuesFile, 'values'), files.valuesFile);
  const mesh = files.meshConfigFile === undefined ? undefined : parseMeshConfig(read(files.meshConfigFile, 'mesh config'), files.meshConfigFile);
  return applyIstioConfiguration(base, values, mesh, { values: files.valuesFile ?? '', mesh: files.meshConfigFile ?? '' });
}
