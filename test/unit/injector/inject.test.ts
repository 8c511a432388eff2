import { describe, expect, it } from 'vitest';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { appContainer, containerNamed, envValue, pod, type PodShape } from './pods.ts';

const defaults = defaultInjectorConfig();
const inject = (shape: PodShape = {}, config: Partial<InjectorConfig> = {}) => injectPod(pod(shape), { ...defaults, ...config }, { namespace: 'production' });
const initArgs = (annotations: Record<string, string>) => containerNamed(inject({ annotations }), 'istio-init')?.args;

describe('injectPod: containers', () => {
  it('appends istio-proxy after the app and runs istio-init after the app init containers, so they keep their network', () => {
    const injected = inject({ initContainers: [appContainer('migrate')] });
    expect(injected.spec?.containers.map((container) => container.name)).toEqual(['app', 'istio-proxy']);
    expect(injected.spec?.initContainers?.map((container) => container.name)).toEqual(['migrate', 'istio-init']);
  });

  it("writes istio-iptables' default arguments", () => {
    expect(initArgs({})).toEqual([
      'istio-iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT',
      '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020', '--log_output_level=default:info',
    ]);
  });

  it('gives istio-init exactly the network capabilities it needs, as root without escalation', () => {
    expect(containerNamed(inject(), 'istio-init')?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    });
  });

  it('runs the proxy as 1337 with a read-only root and no capabilities', () => {
    const proxy = containerNamed(inject(), 'istio-proxy');
    expect(proxy?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: 1337,
      runAsNonRoot: true,
      runAsUser: 1337,
    });
    expect(proxy?.image).toBe('docker.io/istio/proxyv2:1.27.1');
    expect(proxy?.ports).toEqual([{ containerPort: 15090, protocol: 'TCP', name: 'http-envoy-prom' }]);
    expect(proxy?.readinessProbe).toEqual({ httpGet: { path: '/healthz/ready', port: 15021 }, initialDelaySeconds: 0, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 });
    expect(proxy?.args).toEqual([
      'proxy', 'sidecar', '--domain', '$(POD_NAMESPACE).svc.cluster.local',
      '--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error', '--log_output_level=default:info',
    ]);
  });

  it('uses a full image reference from the config as is', () => {
    expect(containerNamed(inject({}, { proxyImage: 'registry.example/mesh/proxy@sha256:abc' }), 'istio-proxy')?.image).toBe('registry.example/mesh/proxy@sha256:abc');
  });

  it('mounts every proxy volume and adds the matching pod volumes', () => {
    const injected = inject();
    const names = ['workload-socket', 'credential-socket', 'workload-certs', 'istio-envoy', 'istio-data', 'istio-podinfo', 'istio-token', 'istiod-ca-cert', 'istio-ca-crl'];
    // Istio's template mounts them in its own order.
    const mounts = ['workload-socket', 'credential-socket', 'workload-certs', 'istiod-ca-cert', 'istio-ca-crl', 'istio-data', 'istio-envoy', 'istio-token', 'istio-podinfo'];
    expect(containerNamed(injected, 'istio-proxy')?.volumeMounts?.map((mount) => mount.name)).toEqual(mounts);
    expect(injected.spec?.volumes?.map((volume) => volume.name)).toEqual(names);
    expect(injected.spec?.volumes?.find((candidate) => candidate.name === 'istio-ca-crl')?.configMap).toEqual({ name: 'istio-ca-crl', optional: true });
    const volume = (name: string) => injected.spec?.volumes?.find((candidate) => candidate.name === name);
    expect(volume('istio-envoy')?.emptyDir).toEqual({ medium: 'Memory' });
    expect(volume('istio-token')?.projected?.sources).toEqual([{ serviceAccountToken: { path: 'istio-token', expirationSeconds: 43200, audience: 'istio-ca' } }]);
    expect(volume('istiod-ca-cert')?.configMap).toEqual({ name: 'istio-ca-root-cert' });
    expect(volume('istio-podinfo')?.downwardAPI?.items?.map((item) => item.fieldRef?.fieldPath)).toEqual(['metadata.labels', 'metadata.annotations']);
  });

  it('describes the app to the proxy through its environment', () => {
    const proxy = containerNamed(inject({ containers: [appContainer('app'), appContainer('metrics', { ports: [{ containerPort: 9102, name: 'metrics' }] })] }), 'istio-proxy');
    expect(envValue(proxy, 'ISTIO_META_APP_CONTAINERS')).toBe('app,metrics');
    expect(JSON.parse(envValue(proxy, 'ISTIO_META_POD_PORTS') ?? '')).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9102 },
    ]);
    expect(envValue(proxy, 'CA_ADDR')).toBe('istiod.istio-system.svc:15012');
    // Istio leaves ProxyConfig fields at their defaults (the default istiod address among them) out.
    expect(JSON.parse(envValue(proxy, 'PROXY_CONFIG') ?? '')).toEqual({});
    expect(JSON.parse(envValue(containerNamed(inject({}, { revision: 'canary' }), 'istio-proxy'), 'PROXY_CONFIG') ?? '')).toEqual({ discoveryAddress: 'istiod-canary.istio-system.svc:15012' });
    expect(envValue(proxy, 'ISTIO_META_OWNER')).toBe('kubernetes://apis/v1/namespaces/production/pods/payment-service-7d9f8b-xkp2q');
    const fieldPath = (name: string) => proxy?.env?.find((variable) => variable.name === name)?.valueFrom?.fieldRef?.fieldPath;
    expect(fieldPath('POD_NAME')).toBe('metadata.name');
    expect(fieldPath('ISTIO_META_NODE_NAME')).toBe('spec.nodeName');
    expect(proxy?.env?.find((variable) => variable.name === 'ISTIO_CPU_LIMIT')?.valueFrom?.resourceFieldRef?.resource).toBe('limits.cpu');
  });

  it('names the Deployment behind a ReplicaSet-owned pod whose name was generated', () => {
    const subject = pod({ labels: { 'pod-template-hash': '7d9f8b' } });
    subject.metadata!.generateName = 'payment-service-7d9f8b-';
    subject.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'payment-service-7d9f8b', uid: 'u', controller: true }];
    const proxy = containerNamed(injectPod(subject, defaults, { namespace: 'production' }), 'istio-proxy');
    expect(envValue(proxy, 'ISTIO_META_WORKLOAD_NAME')).toBe('payment-service');
    expect(envValue(proxy, 'ISTIO_META_OWNER')).toBe('kubernetes://apis/apps/v1/namespaces/production/deployments/payment-service');
    // A pod with its own name is its own workload, as in Istio.
    delete subject.metadata!.generateName;
    const named = containerNamed(injectPod(subject, defaults, { namespace: 'production' }), 'istio-proxy');
    expect(envValue(named, 'ISTIO_META_OWNER')).toBe('kubernetes://apis/v1/namespaces/production/pods/payment-service-7d9f8b-xkp2q');
  });

  it('uses the revision for istiod and the status', () => {
    const injected = inject({}, { revision: 'canary' });
    expect(envValue(containerNamed(injected, 'istio-proxy'), 'CA_ADDR')).toBe('istiod-canary.istio-system.svc:15012');
    expect(JSON.parse(injected.metadata?.annotations?.['sidecar.istio.io/status'] ?? '')).toMatchObject({ revision: 'canary' });
    expect(injected.metadata?.annotations?.['istio.io/rev']).toBe('canary');
  });

  it('adds configured image pull secrets once', () => {
    const subject = pod();
    subject.spec!.imagePullSecrets = [{ name: 'mirror' }];
    const injected = injectPod(subject, { ...defaults, imagePullSecrets: ['mirror', 'istio-pull'] });
    expect(injected.spec?.imagePullSecrets).toEqual([{ name: 'mirror' }, { name: 'istio-pull' }]);
    expect(JSON.parse(injected.metadata?.annotations?.['sidecar.istio.io/status'] ?? '').imagePullSecrets).toEqual(['mirror', 'istio-pull']);
  });
});

describe('injectPod: modes', () => {
  it('native sidecars: the proxy is an init container after istio-init, restartPolicy Always, with the startup probe the values enable', () => {
    const injected = inject({ initContainers: [appContainer('migrate')] }, { nativeSidecars: true });
    expect(injected.spec?.initContainers?.map((container) => container.name)).toEqual(['istio-init', 'istio-proxy', 'migrate']);
    expect(injected.spec?.containers.map((container) => container.name)).toEqual(['app']);
    const proxy = containerNamed(injected, 'istio-proxy');
    expect(proxy?.restartPolicy).toBe('Always');
    expect(proxy?.startupProbe?.httpGet).toEqual({ path: '/healthz/ready', port: 15021 });
    expect(proxy?.lifecycle?.preStop?.exec?.command).toEqual(['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain']);
    const withoutStartupProbe = inject({}, { nativeSidecars: true, startupProbe: { enabled: false, failureThreshold: 600 } });
    expect(containerNamed(withoutStartupProbe, 'istio-proxy')?.startupProbe).toBeUndefined();
    expect(JSON.parse(injected.metadata?.annotations?.['sidecar.istio.io/status'] ?? '')).toMatchObject({ initContainers: ['istio-init', 'istio-proxy'], containers: null });
  });

  it('native sidecars per pod with sidecar.istio.io/nativeSidecar', () => {
    expect(inject({ annotations: { 'sidecar.istio.io/nativeSidecar': 'true' } }).spec?.containers.map((container) => container.name)).toEqual(['app']);
  });

  it('holdApplicationUntilProxyStarts: the proxy first, held by pilot-agent wait', () => {
    const injected = inject({}, { holdApplicationUntilProxyStarts: true });
    expect(injected.spec?.containers.map((container) => container.name)).toEqual(['istio-proxy', 'app']);
    const proxy = containerNamed(injected, 'istio-proxy');
    expect(proxy?.lifecycle?.postStart?.exec?.command).toEqual(['pilot-agent', 'wait']);
    // The values' hold is not part of the ProxyConfig; the mesh's or the annotation's is.
    expect(JSON.parse(envValue(proxy, 'PROXY_CONFIG') ?? '')).toEqual({});
    const annotated = inject({ annotations: { 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}' } });
    expect(JSON.parse(envValue(containerNamed(annotated, 'istio-proxy'), 'PROXY_CONFIG') ?? '')).toEqual({ holdApplicationUntilProxyStarts: true });
    expect(injected.metadata?.annotations?.['kubectl.kubernetes.io/default-container']).toBe('app');
  });

  it('holdApplicationUntilProxyStarts per pod through proxy.istio.io/config', () => {
    const injected = inject({ annotations: { 'proxy.istio.io/config': '{ "holdApplicationUntilProxyStarts": true }' } });
    expect(injected.spec?.containers[0]?.name).toBe('istio-proxy');
  });

  it('native sidecars already order the start: no postStart hook', () => {
    const injected = inject({}, { nativeSidecars: true, holdApplicationUntilProxyStarts: true });
    expect(containerNamed(injected, 'istio-proxy')?.lifecycle?.postStart).toBeUndefined();
  });
});

describe('injectPod: metadata', () => {
  it('sets the status, default containers, tlsMode and canonical labels', () => {
    const injected = inject({ labels: { app: 'payment-service', version: 'v2' } });
    expect(injected.metadata?.labels).toEqual({
      app: 'payment-service',
      version: 'v2',
      'security.istio.io/tlsMode': 'istio',
      'service.istio.io/canonical-name': 'payment-service',
      'service.istio.io/canonical-revision': 'v2',
    });
    expect(injected.metadata?.annotations?.['kubectl.kubernetes.io/default-container']).toBe('app');
    expect(injected.metadata?.annotations?.['kubectl.kubernetes.io/default-logs-container']).toBe('app');
    expect(JSON.parse(injected.metadata?.annotations?.['sidecar.istio.io/status'] ?? '')).toEqual({
      initContainers: ['istio-init'],
      containers: ['istio-proxy'],
      volumes: ['workload-socket', 'credential-socket', 'workload-certs', 'istio-envoy', 'istio-data', 'istio-podinfo', 'istio-token', 'istiod-ca-cert', 'istio-ca-crl'],
      imagePullSecrets: null,
      revision: 'default',
    });
  });

  it('keeps existing default-container annotations and canonical labels', () => {
    const injected = inject({
      labels: { 'service.istio.io/canonical-name': 'payments', 'app.kubernetes.io/version': '3' },
      annotations: { 'kubectl.kubernetes.io/default-container': 'worker' },
      containers: [appContainer('app'), appContainer('worker')],
    });
    expect(injected.metadata?.labels?.['service.istio.io/canonical-name']).toBe('payments');
    expect(injected.metadata?.labels?.['service.istio.io/canonical-revision']).toBe('3');
    expect(injected.metadata?.annotations?.['kubectl.kubernetes.io/default-container']).toBe('worker');
    expect(injected.metadata?.annotations?.['kubectl.kubernetes.io/default-logs-container']).toBe('app');
  });

  it('falls back to the workload name and "latest"', () => {
    const labels = inject({ name: 'standalone' }).metadata?.labels;
    expect(labels?.['service.istio.io/canonical-name']).toBe('standalone');
    expect(labels?.['service.istio.io/canonical-revision']).toBe('latest');
  });
});

describe('injectPod: Prometheus merge', () => {
  it('points the prometheus.io annotations at the agent and hands the app ones to it', () => {
    const injected = inject({ annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102', 'prometheus.io/path': '/metrics' } });
    expect(injected.metadata?.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '15020', 'prometheus.io/path': '/stats/prometheus' });
    expect(JSON.parse(envValue(containerNamed(injected, 'istio-proxy'), 'ISTIO_PROMETHEUS_ANNOTATIONS') ?? '')).toEqual({ scrape: 'true', path: '/metrics', port: '9102' });
  });

  it('adds the agent annotations to a pod without any, with no scrape env', () => {
    const injected = inject();
    expect(injected.metadata?.annotations?.['prometheus.io/port']).toBe('15020');
    expect(envValue(containerNamed(injected, 'istio-proxy'), 'ISTIO_PROMETHEUS_ANNOTATIONS')).toBeUndefined();
  });

  it('replaces spelling variants that Prometheus treats as the same annotation', () => {
    const annotations = inject({ annotations: { 'prometheus.io.port': '9102' } }).metadata?.annotations ?? {};
    expect(annotations['prometheus.io.port']).toBeUndefined();
    expect(annotations['prometheus.io/port']).toBe('15020');
  });

  it('leaves a pod that must not be scraped alone', () => {
    expect(inject({ annotations: { 'prometheus.io/scrape': 'false' } }).metadata?.annotations?.['prometheus.io/port']).toBeUndefined();
  });

  it('is off when the config or the pod says so', () => {
    expect(inject({}, { prometheusMerge: false }).metadata?.annotations?.['prometheus.io/port']).toBeUndefined();
    expect(inject({ annotations: { 'prometheus.istio.io/merge-metrics': 'false' } }).metadata?.annotations?.['prometheus.io/port']).toBeUndefined();
  });
});

describe('injectPod: purity', () => {
  it('never modifies its input', () => {
    const subject = pod({ labels: { app: 'x' }, annotations: { 'prometheus.io/port': '9102' }, initContainers: [appContainer('migrate')] });
    const before = structuredClone(subject);
    injectPod(subject, defaults);
    expect(subject).toEqual(before);
  });

  it('injects an injected pod again into the same pod (a new object)', () => {
    const once = inject({ labels: { app: 'x' } });
    expect(injectPod(once, defaults, { namespace: 'production' })).toEqual(once);
    expect(injectPod(once, defaults, { namespace: 'production' })).not.toBe(once);
  });

  it('refuses to read a malformed pod', () => {
    expect(() => injectPod({ spec: {} } as never, defaults)).toThrow(/spec.containers must be a list/);
  });
});
