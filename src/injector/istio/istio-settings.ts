// The settings of Istio's values and mesh config that only Istio's injection template and webhook read
// (statusPort, listener ports, cert mounts, images, flags), and the values Switchboard refuses on
// purpose. Each key either takes effect as in istiod or stops the load with a message naming it:
// a key accepted and then ignored would give pods that differ from istiod's without a word.
import type { V1Lifecycle, V1PodSecurityContext, V1SeccompProfile } from '@kubernetes/client-node';
import { InjectorConfigError, describeValue, isPlainObject } from '../config-schema.ts';
import { defaultIstioInjectionSettings, type IstioInjectionSettings } from '../config.ts';
import type { NativeSidecarSetting } from '../native-sidecars.ts';
import { parseCustomTemplate } from '../templates/custom.ts';
import { injectionTemplates, isInjectionTemplate } from '../templates/selection.ts';
import { parseGoDuration, proxyConfigDurationPaths } from './go-duration.ts';

type Path = readonly string[];

function at(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) value = isPlainObject(value) ? value[key] : undefined;
  return value;
}

/** A Go template's truth: nil, false, 0, "" and empty maps and lists are false. */
function goTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isPlainObject(value)) return Object.keys(value).length > 0;
  return true;
}

export interface IstioSettingsResult {
  istio: IstioInjectionSettings;
  /** values.pilot.env.ENABLE_NATIVE_SIDECARS, istiod's own switch, when the values set it. */
  nativeSidecars?: NativeSidecarSetting;
}

/**
 * Reads the Istio-only settings from the values and the mesh config (either may be absent: Istio's
 * defaults then apply). Throws InjectorConfigError naming the key for a value Switchboard refuses.
 */
export function readIstioSettings(
  base: IstioInjectionSettings | undefined,
  values: Record<string, unknown> | undefined,
  mesh: Record<string, unknown> | undefined,
  sources: { values: string; mesh: string },
): IstioSettingsResult {
  const istio: IstioInjectionSettings = structuredClone(base ?? defaultIstioInjectionSettings());
  const result: IstioSettingsResult = { istio };
  const refuse = (source: string, path: Path, detail: string) => new InjectorConfigError(source, path.join('.'), detail);
  const valueAt = (path: Path) => at(values, path);
  const given = (value: unknown) => value !== undefined && value !== null;

  if (values) {
    const proxy = ['global', 'proxy'];
    const statusPort = valueAt([...proxy, 'statusPort']);
    if (typeof statusPort === 'number') istio.statusPort = statusPort;
    // Istio's webhook falls back to "proxyv2" for an empty name; istio-init never runs the proxy's image.
    const initImage = valueAt(['global', 'proxy_init', 'image']);
    istio.proxyInitImage = typeof initImage === 'string' && initImage !== '' ? initImage : 'proxyv2';
    const variant = valueAt(['global', 'variant']);
    if (typeof variant === 'string') istio.variant = variant;
    const certProvider = valueAt(['global', 'pilotCertProvider']);
    if (typeof certProvider === 'string') istio.pilotCertProvider = certProvider;
    const trustBundle = valueAt(['global', 'trustBundleName']);
    if (typeof trustBundle === 'string') istio.trustBundleName = trustBundle;
    const crl = valueAt(['pilot', 'crlConfigMapName']);
    if (typeof crl === 'string') istio.crlConfigMapName = crl;
    const caName = valueAt(['global', 'caName']);
    if (typeof caName === 'string') istio.gkeWorkloadCertificate = caName === 'GkeWorkloadCertificate';
    const flag = (path: Path, apply: (value: boolean) => void) => {
      const setting = valueAt(path);
      if (typeof setting === 'boolean') apply(setting);
    };
    flag(['global', 'mountMtlsCerts'], (mount) => (istio.mountMtlsCerts = mount));
    flag(['global', 'proxy_init', 'forceApplyIptables'], (force) => (istio.forceApplyIptables = force));
    flag(['global', 'nativeNftables'], (nftables) => (istio.nativeNftables = nftables));
    flag(['global', 'logAsJson'], (json) => (istio.logAsJson = json));
    const provider = valueAt(['pilot', 'cni', 'provider']);
    if (typeof provider === 'string') istio.multusNetwork = provider === 'multus';
    const stsPort = valueAt(['global', 'sts', 'servicePort']);
    if (typeof stsPort === 'number') istio.stsPort = stsPort;
    const outlierLogPath = valueAt([...proxy, 'outlierLogPath']);
    if (typeof outlierLogPath === 'string') istio.outlierLogPath = outlierLogPath;
    const tracer = valueAt([...proxy, 'tracer']);
    if (typeof tracer === 'string') istio.tracer = tracer;

    if (valueAt([...proxy, 'privileged']) === true) {
      throw refuse(sources.values, [...proxy, 'privileged'],
        'true would run istio-init and istio-proxy privileged, with privilege escalation; Switchboard never runs the proxy privileged, ' +
        'so it refuses this (set it to false, or leave it out)');
    }
    const capNetBindService = valueAt([...proxy, 'capNetBindService']);
    if (given(capNetBindService) && String(capNetBindService) === 'true') {
      throw refuse(sources.values, [...proxy, 'capNetBindService'],
        'true would run istio-proxy as root with NET_BIND_SERVICE; Switchboard keeps the proxy non-root, so it refuses this ' +
        "(gateways bind low ports through the gateway template's sysctl)");
    }
    const lifecycle = valueAt([...proxy, 'lifecycle']);
    if (goTruthy(lifecycle)) {
      const problem = lifecycleProblem(lifecycle);
      if (problem) throw refuse(sources.values, [...proxy, 'lifecycle'], `${problem}; Istio would write it as given, and the API server rejects it`);
      istio.lifecycle = lifecycle as V1Lifecycle;
    } else delete istio.lifecycle;
    const seccompProfile = valueAt([...proxy, 'seccompProfile']);
    if (goTruthy(seccompProfile)) {
      const problem = seccompProblem(seccompProfile);
      if (problem) {
        throw refuse(sources.values, [...proxy, 'seccompProfile'], `${problem}; Istio would write it as given, and the API server rejects it`);
      }
      istio.seccompProfile = seccompProfile as V1SeccompProfile;
    } else delete istio.seccompProfile;
    const gatewayContext = valueAt(['gateways', 'securityContext']);
    if (goTruthy(gatewayContext)) {
      const context = gatewayContext as Record<string, unknown>;
      const identity = (['runAsUser', 'runAsGroup'] as const).find((field) => context[field] === 1337);
      if (identity) {
        throw refuse(sources.values, ['gateways', 'securityContext', identity],
          "1337 is the proxy's UID/GID, whose traffic istio-iptables lets through; every container of a gateway pod would run as it, " +
            'so Switchboard refuses this');
      }
      istio.gatewaySecurityContext = context as V1PodSecurityContext;
    } else delete istio.gatewaySecurityContext;

    const injected = valueAt(['sidecarInjectorWebhook', 'injectedAnnotations']);
    if (isPlainObject(injected)) {
      // The chart writes each value quoted into the injector config, which is what istiod reads.
      istio.injectedAnnotations = Object.fromEntries(Object.entries(injected).map(([key, annotation]) => [key, goString(annotation)]));
    }
    const templates = valueAt(['sidecarInjectorWebhook', 'templates']);
    istio.customTemplates = {};
    if (isPlainObject(templates)) {
      for (const [name, text] of Object.entries(templates)) {
        const path = ['sidecarInjectorWebhook', 'templates', name];
        if (isInjectionTemplate(name)) {
          throw refuse(sources.values, path, `replaces Istio's own ${name} template, which Switchboard has built in; give the custom template another name`);
        }
        if (typeof text !== 'string') throw refuse(sources.values, path, `got ${describeValue(text)}; expected the template's text`);
        const parsed = parseCustomTemplate(text);
        if (typeof parsed === 'string') {
          throw refuse(sources.values, path, `the custom injection template ${parsed}; docs/injector-config.md (Custom templates) says what to do instead`);
        }
        istio.customTemplates[name] = parsed;
      }
    }
    const defaultTemplates = valueAt(['sidecarInjectorWebhook', 'defaultTemplates']);
    if (Array.isArray(defaultTemplates) && defaultTemplates.length > 0) {
      // Istio finds a missing template only when a pod needs it, and then fails every such injection.
      const known = [...injectionTemplates, ...Object.keys(istio.customTemplates)];
      const unknown = defaultTemplates.filter((name) => typeof name !== 'string' || !known.includes(name));
      if (unknown.length > 0) {
        throw refuse(sources.values, ['sidecarInjectorWebhook', 'defaultTemplates'],
          `got ${describeValue(defaultTemplates)}; the injection templates are ${known.map((name) => JSON.stringify(name)).join(', ')}, ` +
            'so istiod would fail every pod that names no template');
      }
      istio.defaultTemplates = defaultTemplates as string[];
    }

    const env = valueAt(['pilot', 'env']);
    if (isPlainObject(env)) {
      const trustBundleApi = env.ENABLE_CLUSTER_TRUST_BUNDLE_API;
      if (given(trustBundleApi) && typeof trustBundleApi !== 'boolean') {
        throw refuse(sources.values, ['pilot', 'env', 'ENABLE_CLUSTER_TRUST_BUNDLE_API'],
          `got ${describeValue(trustBundleApi)}; Istio's injection template compares it with the boolean true and fails every injection on any other type, ` +
          'so expected true or false');
      }
      istio.clusterTrustBundle = trustBundleApi === true;
      const compliance = env.COMPLIANCE_POLICY;
      if (given(compliance)) istio.compliancePolicy = String(compliance);
      const native = env.ENABLE_NATIVE_SIDECARS;
      if (given(native)) {
        const setting = ({ true: true, false: false, auto: 'auto' } as const)[String(native) as 'true' | 'false' | 'auto'];
        if (setting === undefined) {
          throw refuse(sources.values, ['pilot', 'env', 'ENABLE_NATIVE_SIDECARS'],
            `got ${describeValue(native)}; istiod reads "true", "false" or "auto" and quietly turns native sidecars off for anything else, ` +
              'so Switchboard refuses it');
        }
        result.nativeSidecars = setting;
      }
    }
  }

  if (mesh) {
    const defaultConfig = at(mesh, ['defaultConfig']);
    const agentPort = at(defaultConfig, ['statusPort']);
    if (typeof agentPort === 'number') istio.agentStatusPort = agentPort;
    const outbound = at(mesh, ['proxyListenPort']);
    if (typeof outbound === 'number') istio.outboundListenerPort = outbound;
    // The template's `default "15006"` takes 0 for unset.
    const inbound = at(mesh, ['proxyInboundListenPort']);
    if (typeof inbound === 'number') istio.inboundListenerPort = inbound === 0 ? 15006 : inbound;
    const mode = at(mesh, ['inboundTrafficPolicy', 'mode']);
    if (typeof mode === 'string') istio.inboundToLocalhost = mode === 'LOCALHOST';
    if (at(defaultConfig, ['proxyMetadata', 'IPTABLES_TRACE_LOGGING']) === 'true') {
      throw refuse(sources.mesh, ['defaultConfig', 'proxyMetadata', 'IPTABLES_TRACE_LOGGING'],
        '"true" would run istio-proxy privileged, as root, to trace iptables; Switchboard never runs the proxy privileged, so it refuses this');
    }
    for (const path of proxyConfigDurationPaths) {
      const text = at(defaultConfig, path);
      if (text === undefined || text === null) continue;
      const nanos = typeof text === 'string' ? parseGoDuration(text) : undefined;
      if (nanos === undefined) {
        throw refuse(sources.mesh, ['defaultConfig', ...path], `got ${describeValue(text)}; expected a duration such as "30s" or "1m", which istiod requires`);
      }
      // Istio's mesh validation (ValidateDrainDuration).
      if (path[0] === 'drainDuration' && (nanos < 1_000_000n || nanos % 1_000_000_000n !== 0n)) {
        throw refuse(sources.mesh, ['defaultConfig', 'drainDuration'], `got ${describeValue(text)}; istiod refuses a drain duration that is not whole seconds`);
      }
    }
    const trustDomain = at(mesh, ['trustDomain']);
    if (trustDomain === '') {
      throw refuse(sources.mesh, ['trustDomain'], 'got ""; istiod refuses an empty trust domain, so expected a domain such as "cluster.local"');
    }
    const providers = at(mesh, ['extensionProviders']);
    if (Array.isArray(providers)) {
      // ApplyMeshConfig adds these to Istio's default providers, none of which is OpenTelemetry.
      const enrichment = (provider: unknown) => at(provider, ['opentelemetry', 'serviceAttributeEnrichment']);
      istio.otelResourceAttributes = providers.some((provider) => enrichment(provider) === 'OTEL_SEMANTIC_CONVENTIONS');
    }
  }
  return result;
}

/** How Go's template prints a value of Istio's values (a protobuf Struct: numbers are float64). */
export function goString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'number') return goFloat(value);
  return String(value);
}

/** fmt's %v of a float64: the shortest representation, with an exponent from 1e21 up and below 1e-4. */
export function goFloat(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude === 0 || (magnitude >= 1e-4 && magnitude < 1e21)) return String(value);
  const [mantissa = '', exponent = '0'] = value.toExponential().split('e');
  const power = Number(exponent);
  return `${mantissa}e${power < 0 ? '-' : '+'}${String(Math.abs(power)).padStart(2, '0')}`;
}

const handlerActions = ['exec', 'httpGet', 'tcpSocket', 'sleep'];

function lifecycleProblem(lifecycle: unknown): string | undefined {
  if (!isPlainObject(lifecycle)) return `got ${describeValue(lifecycle)}; expected a container lifecycle (postStart, preStop, stopSignal)`;
  for (const [hook, handler] of Object.entries(lifecycle)) {
    if (hook === 'stopSignal') {
      if (typeof handler !== 'string') return `stopSignal: got ${describeValue(handler)}; expected a signal name such as SIGTERM`;
      continue;
    }
    if (hook !== 'postStart' && hook !== 'preStop') return `${hook}: unknown hook; expected postStart, preStop or stopSignal`;
    const actions = isPlainObject(handler) ? Object.keys(handler).filter((key) => handlerActions.includes(key)) : [];
    if (!isPlainObject(handler) || actions.length !== 1 || Object.keys(handler).length !== 1 || !isPlainObject(handler[actions[0] as string])) {
      return `${hook}: got ${describeValue(handler)}; expected exactly one of ${handlerActions.join(', ')}`;
    }
  }
  return undefined;
}

function seccompProblem(profile: unknown): string | undefined {
  const types = ['RuntimeDefault', 'Localhost', 'Unconfined'];
  if (!isPlainObject(profile) || !types.includes(String(profile.type))) {
    return `got ${describeValue(profile)}; expected {type: RuntimeDefault}, {type: Localhost, localhostProfile: ...} or {type: Unconfined}`;
  }
  const extra = Object.keys(profile).filter((key) => key !== 'type' && key !== 'localhostProfile');
  if (extra.length > 0) return `${extra[0]}: unknown field; expected type and localhostProfile`;
  if ((profile.type === 'Localhost') !== (typeof profile.localhostProfile === 'string')) return 'localhostProfile is set with type Localhost, and only then';
  return undefined;
}
