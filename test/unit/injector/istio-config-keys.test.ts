// Every key of Istio's values and mesh config that its injection template or webhook reads: each one
// changes the injected pod as istiod changes it, or stops the load with a message naming the key.
// The differential test compares the same keys with Istio's own handler; these pin each effect down.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { admitPod } from '../../../src/injector/admit.ts';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { parseGoDuration, protoDuration } from '../../../src/injector/istio/go-duration.ts';
import { applyIstioConfiguration, parseIstioValues, parseMeshConfig } from '../../../src/injector/istio/istio-values.ts';
import { appendMultusNetwork } from '../../../src/injector/pod-metadata.ts';
import { admissionInput, appContainer, containerNamed, envValue, pod, type PodShape } from './pods.ts';

const sources = { values: 'values.yaml', mesh: 'mesh.yaml' };

function configured(values = '', mesh = '', base: InjectorConfig = defaultInjectorConfig()): InjectorConfig {
  const parsedValues = values === '' ? undefined : parseIstioValues(values, sources.values);
  return applyIstioConfiguration(base, parsedValues, mesh === '' ? undefined : parseMeshConfig(mesh, sources.mesh), sources);
}

function refusal(values = '', mesh = ''): string {
  try {
    configured(values, mesh);
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
}

const probed = (extra: Partial<V1Container> = {}) => appContainer('app', { readinessProbe: { httpGet: { path: '/ready', port: 8080 } }, ...extra });
const inject = (config: InjectorConfig, shape: PodShape = {}): V1Pod => injectPod(pod({ containers: [probed()], ...shape }), config, { namespace: 'shop' });
const proxyOf = (injected: V1Pod) => containerNamed(injected, 'istio-proxy') as V1Container;
const initOf = (injected: V1Pod) => containerNamed(injected, 'istio-init') ?? containerNamed(injected, 'istio-validation');
const argAfter = (container: V1Container | undefined, flag: string) => container?.args?.[(container.args?.indexOf(flag) ?? -2) + 1];
const native = (config: InjectorConfig): InjectorConfig => ({ ...config, nativeSidecars: true });

describe('status ports', () => {
  it('meshConfig.defaultConfig.statusPort: app probes and the metrics merge point where the agent listens', () => {
    const injected = inject(configured('', 'defaultConfig:\n  statusPort: 15030\n'), { annotations: { 'prometheus.io/port': '9102' } });
    expect(injected.spec?.containers[0]?.readinessProbe?.httpGet).toMatchObject({ port: 15030, path: '/app-health/app/readyz' });
    expect(injected.metadata?.annotations?.['prometheus.io/port']).toBe('15030');
    // The template's own uses of the status port follow the values, not the mesh config.
    expect(argAfter(initOf(injected), '-d')).toBe('15090,15021,15020');
    expect(JSON.parse(envValue(proxyOf(injected), 'PROXY_CONFIG') ?? '{}')).toMatchObject({ statusPort: 15030 });
  });

  it('a probe already aimed at the mesh status port is left to the kubelet, not handed to the agent', () => {
    const aimed = probed({ readinessProbe: { httpGet: { path: '/x', port: 15030 } } });
    const injected = inject(configured('', 'defaultConfig:\n  statusPort: 15030\n'), { containers: [aimed] });
    expect(envValue(proxyOf(injected), 'ISTIO_KUBE_APP_PROBERS')).toBeUndefined();
  });

  it('the status port annotation moves the probes too, but not the metrics merge', () => {
    const injected = inject(configured('', 'defaultConfig:\n  statusPort: 15030\n'), { annotations: { 'status.sidecar.istio.io/port': '15040' } });
    expect(injected.spec?.containers[0]?.readinessProbe?.httpGet?.port).toBe(15040);
    expect(injected.metadata?.annotations?.['prometheus.io/port']).toBe('15030');
    expect(argAfter(initOf(injected), '-d')).toBe('15090,15021,15040');
  });

  it('values.global.proxy.statusPort: istio-init, the native preStop and the CNI exclusion use it; 0 drops the proxy probes', () => {
    const moved = native(configured('global:\n  proxy:\n    statusPort: 15030\n'));
    const injected = inject(moved);
    expect(argAfter(initOf(injected), '-d')).toBe('15090,15021,15030');
    expect(proxyOf(injected).lifecycle?.preStop?.exec?.command).toEqual(['pilot-agent', 'request', '--debug-port=15030', 'POST', 'drain']);
    const cni = inject(configured('global:\n  proxy:\n    statusPort: 15030\npilot:\n  cni: {enabled: true}\n'));
    expect(cni.metadata?.annotations?.['traffic.sidecar.istio.io/excludeInboundPorts']).toBe('15030');
    const off = inject(configured('global:\n  proxy:\n    statusPort: 0\n'));
    expect(argAfter(initOf(off), '-d')).toBe('15090,15021');
    expect(proxyOf(off).readinessProbe).toBeUndefined();
    expect(proxyOf(off).startupProbe).toBeUndefined();
  });

  it('meshConfig.defaultConfig.statusPort 0 is refused, as istiod refuses it', () => {
    expect(() => parseMeshConfig('defaultConfig:\n  statusPort: 0\n', 'mesh.yaml')).toThrow('defaultConfig.statusPort: got 0; expected >= 1');
  });
});

describe('listener ports and inbound policy', () => {
  it('meshConfig.proxyListenPort and proxyInboundListenPort: istio-iptables -p and -z; 0 inbound means 15006', () => {
    const init = initOf(inject(configured('', 'proxyListenPort: 15011\nproxyInboundListenPort: 15016\n')));
    expect([argAfter(init, '-p'), argAfter(init, '-z')]).toEqual(['15011', '15016']);
    expect(argAfter(initOf(inject(configured('', 'proxyInboundListenPort: 0\n'))), '-z')).toBe('15006');
    expect(() => parseMeshConfig('proxyListenPort: 0\n', 'mesh.yaml')).toThrow('proxyListenPort: got 0');
  });

  it('meshConfig.inboundTrafficPolicy.mode LOCALHOST: the agent probes the app on localhost too; "localhost" is refused, as istiod refuses it', () => {
    expect(envValue(proxyOf(inject(configured('', 'inboundTrafficPolicy: {mode: LOCALHOST}\n'))), 'REWRITE_PROBE_LEGACY_LOCALHOST_DESTINATION')).toBe('true');
    expect(envValue(proxyOf(inject(configured('', 'inboundTrafficPolicy: {mode: PASSTHROUGH}\n'))), 'REWRITE_PROBE_LEGACY_LOCALHOST_DESTINATION')).toBeUndefined();
    expect(() => parseMeshConfig('inboundTrafficPolicy: {mode: localhost}\n', 'mesh.yaml')).toThrow('inboundTrafficPolicy.mode: got "localhost"');
  });
});

describe('certificates', () => {
  const volume = (injected: V1Pod, name: string) => injected.spec?.volumes?.find((item) => item.name === name);
  const mounts = (injected: V1Pod) => (proxyOf(injected).volumeMounts ?? []).map((mount) => mount.name);

  it('values.global.pilotCertProvider: only istiod mounts its root certificate and CRL; the CRL volume stays declared', () => {
    const injected = inject(configured('global:\n  pilotCertProvider: custom\n'));
    expect(envValue(proxyOf(injected), 'PILOT_CERT_PROVIDER')).toBe('custom');
    expect(volume(injected, 'istiod-ca-cert')).toBeUndefined();
    expect(volume(injected, 'istio-ca-crl')).toBeDefined();
    expect(mounts(injected)).not.toContain('istiod-ca-cert');
    expect(mounts(injected)).not.toContain('istio-ca-crl');
  });

  it('values.global.trustBundleName and pilot.crlConfigMapName name the ConfigMaps', () => {
    const injected = inject(configured('global:\n  trustBundleName: corp-root\npilot:\n  crlConfigMapName: corp-crl\n'));
    expect(volume(injected, 'istiod-ca-cert')?.configMap?.name).toBe('corp-root');
    expect(volume(injected, 'istio-ca-crl')?.configMap).toEqual({ name: 'corp-crl', optional: true });
  });

  it('values.pilot.env.ENABLE_CLUSTER_TRUST_BUNDLE_API: the root certificate comes from a ClusterTrustBundle; a string is refused', () => {
    const injected = inject(configured('global:\n  trustBundleName: corp\npilot:\n  env: {ENABLE_CLUSTER_TRUST_BUNDLE_API: true}\n'));
    expect(volume(injected, 'istiod-ca-cert')?.projected?.sources).toEqual([{ clusterTrustBundle: { name: 'istio.io:istiod-ca:corp', path: 'root-cert.pem' } }]);
    expect(refusal('pilot:\n  env: {ENABLE_CLUSTER_TRUST_BUNDLE_API: "true"}\n')).toContain('pilot.env.ENABLE_CLUSTER_TRUST_BUNDLE_API: got "true"');
  });

  it('values.global.caName GkeWorkloadCertificate: the CSI driver provides the workload certificate, read-only', () => {
    const injected = inject(configured('global:\n  caName: GkeWorkloadCertificate\n'));
    expect(volume(injected, 'gke-workload-certificate')?.csi).toEqual({ driver: 'workloadcertificates.security.cloud.google.com' });
    expect(volume(injected, 'workload-certs')).toBeUndefined();
    const mount = { name: 'gke-workload-certificate', mountPath: '/var/run/secrets/workload-spiffe-credentials', readOnly: true };
    expect(proxyOf(injected).volumeMounts).toContainEqual(mount);
  });

  it("values.global.mountMtlsCerts: the service account's istio.<name> secret at /etc/certs/", () => {
    const config = configured('global:\n  mountMtlsCerts: true\n');
    const named = injectPod({ ...pod(), spec: { serviceAccountName: 'ledger', containers: [appContainer()] } }, config, { namespace: 'shop' });
    expect(volume(named, 'istio-certs')?.secret).toEqual({ optional: true, secretName: 'istio.ledger' });
    expect(volume(inject(config), 'istio-certs')?.secret?.secretName).toBe('istio.default');
    expect(proxyOf(named).volumeMounts).toContainEqual({ mountPath: '/etc/certs/', name: 'istio-certs', readOnly: true });
  });
});

describe('images', () => {
  it('values.global.proxy_init.image runs istio-init; values.global.proxy.image only the proxy', () => {
    const values = 'global:\n  hub: mirror.example/istio\n  tag: 1.28.0\n  proxy: {image: proxyv2-fips}\n  proxy_init: {image: proxyv2-init}\n';
    const injected = inject(configured(values));
    expect(proxyOf(injected).image).toBe('mirror.example/istio/proxyv2-fips:1.28.0');
    expect(initOf(injected)?.image).toBe('mirror.example/istio/proxyv2-init:1.28.0');
    expect(initOf(inject(configured('global:\n  proxy: {image: registry.example/p:1}\n')))?.image).toBe('docker.io/istio/proxyv2:1.27.1');
  });

  it('values.global.variant types both images; the mesh image type, or the pod\'s, types the proxy only', () => {
    const variant = inject(configured('global:\n  variant: distroless\n'));
    expect([proxyOf(variant).image, initOf(variant)?.image]).toEqual(['docker.io/istio/proxyv2:1.27.1-distroless', 'docker.io/istio/proxyv2:1.27.1-distroless']);
    const meshType = configured('global:\n  variant: distroless\n', 'defaultConfig:\n  image: {imageType: debug}\n');
    const images = [proxyOf(inject(meshType)).image, initOf(inject(meshType))?.image];
    expect(images).toEqual(['docker.io/istio/proxyv2:1.27.1-debug', 'docker.io/istio/proxyv2:1.27.1-distroless']);
    const podType = inject(meshType, { annotations: { 'proxy.istio.io/config': '{"image": {"imageType": "default"}}' } });
    expect(proxyOf(podType).image).toBe('docker.io/istio/proxyv2:1.27.1');
    // A type already on the tag is replaced, not doubled.
    expect(proxyOf(inject(configured('global:\n  tag: 1.28.0-distroless\n  variant: debug\n'))).image).toBe('docker.io/istio/proxyv2:1.28.0-debug');
  });
});

describe('the proxy container', () => {
  it('values.global.proxy.lifecycle replaces the proxy hooks, hold and native drain included', () => {
    const lifecycle = { preStop: { exec: { command: ['sleep', '5'] } } };
    const config = native(configured(`global:\n  proxy:\n    lifecycle: ${JSON.stringify(lifecycle)}\n`));
    expect(proxyOf(inject(config)).lifecycle).toEqual(lifecycle);
    const message = 'global.proxy.lifecycle: preStop: got {}; expected exactly one of exec, httpGet, tcpSocket, sleep';
    expect(refusal('global:\n  proxy:\n    lifecycle: {preStop: {}}\n')).toContain(message);
  });

  it('values.global.proxy.seccompProfile: istio-init and istio-proxy get it', () => {
    const injected = inject(configured('global:\n  proxy:\n    seccompProfile: {type: RuntimeDefault}\n'));
    expect(proxyOf(injected).securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(initOf(injected)?.securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(refusal('global:\n  proxy:\n    seccompProfile: {type: Permissive}\n')).toContain('global.proxy.seccompProfile: got {"type":"Permissive"}');
  });

  it('values.global.sts.servicePort, logAsJson and proxy.outlierLogPath become agent flags', () => {
    const injected = inject(configured('global:\n  logAsJson: true\n  sts: {servicePort: 15463}\n  proxy: {outlierLogPath: /dev/stdout}\n'));
    expect(proxyOf(injected).args?.slice(-3)).toEqual(['--stsPort=15463', '--log_as_json', '--outlierLogPath=/dev/stdout']);
    expect(initOf(injected)?.args).toContain('--log_as_json');
  });

  it('readiness period and failure threshold 0 are left out, for the API server to default, not raised to 1', () => {
    const values = 'global:\n  proxy:\n    readinessPeriodSeconds: 0\n    readinessFailureThreshold: 0\n    startupProbe: {failureThreshold: 0}\n';
    const probe = proxyOf(inject(configured(values)));
    expect(probe.readinessProbe).not.toHaveProperty('periodSeconds');
    expect(probe.readinessProbe).not.toHaveProperty('failureThreshold');
    expect(probe.startupProbe).not.toHaveProperty('failureThreshold');
  });

  it("values.pilot.env.COMPLIANCE_POLICY is handed to the proxy; fips-140-3 restricts Go's crypto too", () => {
    const proxy = proxyOf(inject(configured('pilot:\n  env: {COMPLIANCE_POLICY: fips-140-3}\n')));
    expect([envValue(proxy, 'COMPLIANCE_POLICY'), envValue(proxy, 'GODEBUG')]).toEqual(['fips-140-3', 'fips140=only']);
  });

  it('values.pilot.env.ENABLE_NATIVE_SIDECARS is istiod\'s switch, over Switchboard\'s; an unknown value is refused', () => {
    expect(configured('pilot:\n  env: {ENABLE_NATIVE_SIDECARS: "true"}\n').nativeSidecars).toBe(true);
    expect(configured('pilot:\n  env: {ENABLE_NATIVE_SIDECARS: false}\n').nativeSidecars).toBe(false);
    expect(refusal('pilot:\n  env: {ENABLE_NATIVE_SIDECARS: "yes"}\n')).toContain('pilot.env.ENABLE_NATIVE_SIDECARS: got "yes"');
  });

  it("values.global.proxy.tracer datadog: the pod's apm.datadoghq.com/env becomes the proxy's environment", () => {
    const annotations = { 'apm.datadoghq.com/env': '{"DD_ENV": "prod", "DD_RATE": 0.25}' };
    const proxy = proxyOf(inject(configured('global:\n  proxy: {tracer: datadog}\n'), { annotations }));
    expect([envValue(proxy, 'DD_ENV'), envValue(proxy, 'DD_RATE')]).toEqual(['prod', '0.25']);
    const refused = admitPod(admissionInput(pod({ annotations: { 'apm.datadoghq.com/env': 'DD_ENV=prod' } })), configured('global:\n  proxy: {tracer: datadog}\n'));
    expect(refused.allowed).toBe(false);
  });

  it('values.global.proxy.tracer lightstep: the CA named in the tracing TLS settings is mounted', () => {
    const mesh = 'defaultConfig:\n  tracing: {tlsSettings: {caCertificates: /etc/lightstep/ca.pem}}\n';
    const injected = inject(configured('global:\n  proxy: {tracer: lightstep}\n', mesh));
    expect(proxyOf(injected).volumeMounts).toContainEqual({ mountPath: '/etc/lightstep/', name: 'lightstep-certs', readOnly: true });
    expect(injected.spec?.volumes).toContainEqual({ name: 'lightstep-certs', secret: { optional: true, secretName: 'lightstep.cacert' } });
  });

  it('meshConfig.extensionProviders with OTEL semantic conventions: the proxy gets its resource attributes', () => {
    const mesh = 'extensionProviders:\n- name: otel\n  opentelemetry: {service: otel.example, port: 4317, serviceAttributeEnrichment: OTEL_SEMANTIC_CONVENTIONS}\n';
    const proxy = proxyOf(inject(configured('', mesh), { labels: { 'app.kubernetes.io/version': '2.1' } }));
    expect(envValue(proxy, 'OTEL_RESOURCE_ATTRIBUTES')).toBe('service.namespace=shop,service.version=2.1,service.instance.id=shop.$(POD_NAME).app');
  });

  it('meshConfig.defaultConfig durations reach PROXY_CONFIG as istiod writes them; a drain duration below a second is refused', () => {
    const injected = inject(configured('', 'defaultConfig:\n  drainDuration: 1m\n  terminationDrainDuration: 1500ms\n'));
    const proxyConfig = JSON.parse(envValue(proxyOf(injected), 'PROXY_CONFIG') ?? '{}');
    expect(proxyConfig).toMatchObject({ drainDuration: '60s', terminationDrainDuration: '1.500s' });
    expect(refusal('', 'defaultConfig:\n  drainDuration: 1500ms\n')).toContain('defaultConfig.drainDuration: got "1500ms"');
    expect([parseGoDuration('1h2m0.5s'), parseGoDuration('1'), protoDuration(1_000n)]).toEqual([3_720_500_000_000n, undefined, '0.000001s']);
  });
});

describe('istio-iptables flags', () => {
  it('values.global.nativeNftables and proxy_init.forceApplyIptables; CNI validation never forces', () => {
    const args = initOf(inject(configured('global:\n  nativeNftables: true\n  proxy_init: {forceApplyIptables: true}\n')))?.args ?? [];
    expect(args.slice(-2)).toEqual(['--force-apply', '--native-nftables']);
    const cni = initOf(inject(configured('global:\n  proxy_init: {forceApplyIptables: true}\npilot:\n  cni: {enabled: true}\n')))?.args ?? [];
    expect(cni).not.toContain('--force-apply');
  });
});

describe('pod metadata', () => {
  it('values.sidecarInjectorWebhook.injectedAnnotations are set last, over the pod\'s own', () => {
    const values = 'sidecarInjectorWebhook:\n  injectedAnnotations: {example.com/audit: enabled, example.com/n: 3}\n';
    const injected = inject(configured(values), { annotations: { 'example.com/audit': 'off' } });
    expect(injected.metadata?.annotations).toMatchObject({ 'example.com/audit': 'enabled', 'example.com/n': '3' });
  });

  it('values.pilot.cni.provider multus: the pod asks Multus for the istio-cni network', () => {
    const config = configured('pilot:\n  cni: {enabled: true, provider: multus}\n');
    expect(inject(config).metadata?.annotations?.['k8s.v1.cni.cncf.io/networks']).toBe('default/istio-cni');
    const networks = 'k8s.v1.cni.cncf.io/networks';
    expect(inject(config, { annotations: { [networks]: 'macvlan' } }).metadata?.annotations?.[networks]).toBe('macvlan, default/istio-cni');
    expect(appendMultusNetwork('[{"name": "macvlan"}]', 'default/istio-cni')).toBe('[{"name": "macvlan"}, {"name": "istio-cni", "namespace": "default"}]');
    expect(appendMultusNetwork('[{"name": "istio-cni", "namespace": "default"}]', 'default/istio-cni')).toBe('[{"name": "istio-cni", "namespace": "default"}]');
    expect(appendMultusNetwork('[not json]', 'default/istio-cni')).toBe('[not json]');
  });

  it('ISTIO_META_ENABLE_HBONE in proxyMetadata labels the pod for the HBONE tunnel', () => {
    const meshWide = inject(configured('', 'defaultConfig:\n  proxyMetadata: {ISTIO_META_ENABLE_HBONE: "true"}\n'));
    expect(meshWide.metadata?.labels?.['networking.istio.io/tunnel']).toBe('http');
    const annotations = { 'proxy.istio.io/config': '{"proxyMetadata": {"ISTIO_META_ENABLE_HBONE": "true"}}' };
    const annotated = inject(defaultInjectorConfig(), { labels: { 'networking.istio.io/tunnel': 'h2' }, annotations });
    expect(annotated.metadata?.labels?.['networking.istio.io/tunnel']).toBe('h2');
  });
});

describe('templates', () => {
  const gatewayPod: PodShape = {
    containers: [{ name: 'istio-proxy', image: 'auto' }],
    labels: { app: 'ingress' },
    annotations: { 'inject.istio.io/templates': 'gateway' },
  };

  it('values.sidecarInjectorWebhook.defaultTemplates ["gateway"] injects every pod that names no template as a gateway', () => {
    const injected = inject(configured('sidecarInjectorWebhook:\n  defaultTemplates: [gateway]\n'));
    expect(proxyOf(injected).args?.[1]).toBe('router');
    expect(refusal('sidecarInjectorWebhook:\n  defaultTemplates: [sidecar, spire]\n')).toContain('sidecarInjectorWebhook.defaultTemplates: got ["sidecar","spire"]');
  });

  it("values.gateways.securityContext replaces the gateway template's sysctl; the proxy's UID is refused there", () => {
    const injected = inject(configured('gateways:\n  securityContext: {runAsNonRoot: true}\n'), gatewayPod);
    expect(injected.spec?.securityContext).toEqual({ runAsNonRoot: true });
    expect(refusal('gateways:\n  securityContext: {runAsUser: 1337}\n')).toContain('gateways.securityContext.runAsUser: 1337 is the proxy');
  });

  it('the gateway template probes readiness from the values alone, even with status port 0', () => {
    const injected = inject(configured('global:\n  proxy: {statusPort: 0, readinessPeriodSeconds: 7}\n'), gatewayPod);
    expect(proxyOf(injected).readinessProbe).toMatchObject({ periodSeconds: 7, httpGet: { port: 15021 } });
  });
});

describe('keys refused on purpose', () => {
  it.each([
    ['global:\n  proxy:\n    privileged: true\n', '', 'values.yaml: global.proxy.privileged: true would run istio-init and istio-proxy privileged'],
    ['global:\n  proxy:\n    capNetBindService: true\n', '', 'values.yaml: global.proxy.capNetBindService: true would run istio-proxy as root'],
    ['sidecarInjectorWebhook:\n  templates: {custom: "metadata: {labels: {rev: \'{{ .Revision }}\'}}"}\n', '', 'values.yaml: sidecarInjectorWebhook.templates.custom: the custom injection template has Go template actions'],
    [
      '',
      'defaultConfig:\n  proxyMetadata: {IPTABLES_TRACE_LOGGING: "true"}\n',
      'mesh.yaml: defaultConfig.proxyMetadata.IPTABLES_TRACE_LOGGING: "true" would run istio-proxy privileged',
    ],
    ['', 'trustDomain: ""\n', 'mesh.yaml: trustDomain: got ""; istiod refuses an empty trust domain'],
  ])('%j %j: %s', (values, mesh, message) => {
    expect(refusal(values, mesh)).toContain(message);
  });

  it('the values that mean "off" are accepted', () => {
    const proxy = 'global:\n  proxy:\n    privileged: false\n    capNetBindService: false\n    lifecycle: {}\n    seccompProfile: {}\n';
    expect(refusal(`${proxy}sidecarInjectorWebhook:\n  templates: {}\n  defaultTemplates: []\n`)).toBe('accepted');
  });

  it('IPTABLES_TRACE_LOGGING from a pod annotation refuses the pod', () => {
    const annotations = { 'proxy.istio.io/config': '{"proxyMetadata": {"IPTABLES_TRACE_LOGGING": "true"}}' };
    const result = admitPod(admissionInput(pod({ annotations })), defaultInjectorConfig());
    expect(result.allowed).toBe(false);
    expect(result.allowed ? '' : result.message).toContain('IPTABLES_TRACE_LOGGING');
  });

  it("a prometheus.io/port the metrics merge may not scrape refuses the pod, as Istio's webhook does", () => {
    const config = configured('', 'defaultConfig:\n  statusPort: 15030\n');
    const reserved = admitPod(admissionInput(pod({ annotations: { 'prometheus.io/port': '15020' } })), config);
    expect(reserved.allowed ? '' : reserved.message).toContain('15020 is reserved for Istio');
    expect(admitPod(admissionInput(pod({ annotations: { 'prometheus.io/port': '15030' } })), config).allowed).toBe(true);
    expect(admitPod(admissionInput(pod({ annotations: { 'prometheus.io/port': '15020', 'prometheus.io/scrape': 'false' } })), config).allowed).toBe(true);
  });
});
