import { describe, expect, it } from 'vitest';
import { resolveSidecarSettings } from '../../../src/injector/annotations.ts';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';

const config = defaultInjectorConfig();
const resolve = (annotations: Record<string, string>) => resolveSidecarSettings(annotations, config);

describe('resolveSidecarSettings: valid annotations', () => {
  it('uses the config when the pod has no annotations', () => {
    const { settings, refusals } = resolveSidecarSettings(undefined, config);
    expect(refusals).toEqual([]);
    expect(settings.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    expect(settings.traffic).toEqual(config.traffic);
    expect(settings).toMatchObject({ interceptionMode: 'REDIRECT', nativeSidecar: false, holdApplicationUntilProxyStarts: false, prometheusMerge: true });
  });

  it.each([
    ['sidecar.istio.io/proxyCPU', '250m', { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } }],
    ['sidecar.istio.io/proxyMemory', '200Mi', { requests: { cpu: '100m', memory: '200Mi' }, limits: { cpu: '500m', memory: '256Mi' } }],
    ['sidecar.istio.io/proxyCPULimit', '2', { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '256Mi' } }],
    ['sidecar.istio.io/proxyMemoryLimit', '1Gi', { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '1Gi' } }],
  ])('%s=%s overrides only its own field', (key, value, expected) => {
    const { settings, refusals } = resolve({ [key]: value });
    expect(refusals).toEqual([]);
    expect(settings.resources).toEqual(expected);
  });

  it.each([
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/8, 172.16.0.0/12', 'includeOutboundIPRanges', '10.0.0.0/8,172.16.0.0/12'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '*', 'includeOutboundIPRanges', '*'],
    ['traffic.sidecar.istio.io/excludeOutboundIPRanges', '169.254.169.254/32,fd00::/8', 'excludeOutboundIPRanges', '169.254.169.254/32,fd00::/8'],
    ['traffic.sidecar.istio.io/includeInboundPorts', '8080,9090', 'includeInboundPorts', '8080,9090'],
    ['traffic.sidecar.istio.io/includeInboundPorts', '', 'includeInboundPorts', ''],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '9901', 'excludeInboundPorts', '9901'],
    ['traffic.sidecar.istio.io/includeOutboundPorts', '443', 'includeOutboundPorts', '443'],
    ['traffic.sidecar.istio.io/excludeOutboundPorts', '5432, 6379', 'excludeOutboundPorts', '5432,6379'],
  ])('%s=%j sets %s to %j', (key, value, field, expected) => {
    const { settings, refusals } = resolve({ [key]: value });
    expect(refusals).toEqual([]);
    expect(settings.traffic[field as keyof typeof settings.traffic]).toBe(expected);
  });

  it('reads the interception mode, native sidecar, metrics merge and proxy config annotations', () => {
    const { settings, refusals } = resolve({
      'sidecar.istio.io/interceptionMode': 'TPROXY',
      'sidecar.istio.io/nativeSidecar': 'true',
      'prometheus.istio.io/merge-metrics': 'False',
      'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true\nconcurrency: 2\n',
    });
    expect(refusals).toEqual([]);
    expect(settings).toMatchObject({ interceptionMode: 'TPROXY', nativeSidecar: true, prometheusMerge: false, holdApplicationUntilProxyStarts: true });
    expect(settings.proxyConfig).toEqual({ holdApplicationUntilProxyStarts: true, concurrency: 2 });
  });
});

describe('resolveSidecarSettings: invalid annotations', () => {
  it.each([
    ['sidecar.istio.io/proxyCPU', 'lots', 'Kubernetes quantity'],
    ['sidecar.istio.io/proxyCPU', '-100m', 'non-negative'],
    ['sidecar.istio.io/proxyMemory', '128 Mi', 'Kubernetes quantity'],
    ['sidecar.istio.io/proxyCPULimit', '', 'Kubernetes quantity'],
    ['sidecar.istio.io/proxyMemoryLimit', '1GB', 'Kubernetes quantity'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0', 'CIDRs'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/33', 'CIDRs'],
    ['traffic.sidecar.istio.io/excludeOutboundIPRanges', '*', "'*' is not allowed here"],
    ['traffic.sidecar.istio.io/excludeOutboundIPRanges', 'fe80::1%eth0/64', 'CIDRs'],
    ['traffic.sidecar.istio.io/includeInboundPorts', '8080,http', 'ports from 0 to 65535'],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '65536', 'ports from 0 to 65535'],
    ['traffic.sidecar.istio.io/excludeOutboundPorts', '80,,443', 'ports from 0 to 65535'],
    ['sidecar.istio.io/interceptionMode', 'redirect', 'REDIRECT, TPROXY, NONE'],
    ['prometheus.istio.io/merge-metrics', 'maybe', '"true" or "false"'],
    ['proxy.istio.io/config', '[1, 2]', 'YAML or JSON mapping'],
    ['proxy.istio.io/config', '{holdApplicationUntilProxyStarts: sure}', 'holdApplicationUntilProxyStarts to be true or false'],
  ])('%s=%j is refused naming the annotation, the value and the expectation', (key, value, expected) => {
    const { refusals } = resolve({ [key]: value });
    expect(refusals).toHaveLength(1);
    const [refusal] = refusals;
    expect(refusal?.code).toBe('InvalidSidecarAnnotation');
    expect(refusal?.field).toBe(`metadata.annotations[${JSON.stringify(key)}]`);
    expect(refusal?.message).toContain(key);
    expect(refusal?.message).toContain(JSON.stringify(value));
    expect(refusal?.message).toContain(expected);
  });

  it('reports every invalid annotation, not just the first', () => {
    const { refusals } = resolve({ 'sidecar.istio.io/proxyCPU': 'x', 'traffic.sidecar.istio.io/includeInboundPorts': 'y' });
    expect(refusals.map((refusal) => refusal.field)).toEqual([
      'metadata.annotations["sidecar.istio.io/proxyCPU"]',
      'metadata.annotations["traffic.sidecar.istio.io/includeInboundPorts"]',
    ]);
  });

  it('passes an includeOutboundPorts Istio would not check either, with a warning', () => {
    const { settings, refusals, warnings } = resolve({ 'traffic.sidecar.istio.io/includeOutboundPorts': '65536' });
    expect(refusals).toEqual([]);
    expect(settings.traffic.includeOutboundPorts).toBe('65536');
    expect(warnings[0]).toContain('istio-iptables is given it as written');
  });

  it('accepts port 0, as Istio does', () => {
    expect(resolve({ 'traffic.sidecar.istio.io/excludeInboundPorts': '0' }).refusals).toEqual([]);
  });

  it.each<[string, Record<string, string>, object, string]>([
    ['a request above the default limit lifts the limit', { 'sidecar.istio.io/proxyCPU': '1' }, { requests: { cpu: '1', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } }, 'sidecar.istio.io/proxyCPU "1" is above the default proxy cpu limit "500m"; the limit was raised to "1"'],
    ['a limit below the default request lowers the request', { 'sidecar.istio.io/proxyMemoryLimit': '64Mi' }, { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '64Mi' } }, 'sidecar.istio.io/proxyMemoryLimit "64Mi" is below the default proxy memory request "128Mi"; the request was lowered to "64Mi"'],
  ])('%s, with a warning instead of a refusal', (_case, annotations, resources, warning) => {
    const { settings, refusals, warnings } = resolve(annotations);
    expect(refusals).toEqual([]);
    expect(settings.resources).toEqual(resources);
    expect(warnings).toEqual([warning]);
  });

  it('refuses two annotations that contradict each other, naming both (Kubernetes would refuse the pod Istio makes of them)', () => {
    const { refusals } = resolve({ 'sidecar.istio.io/proxyCPU': '2', 'sidecar.istio.io/proxyCPULimit': '1' });
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ code: 'ProxyRequestAboveLimit', field: 'metadata.annotations["sidecar.istio.io/proxyCPU"]' });
    expect(refusals[0]?.message).toContain('sidecar.istio.io/proxyCPULimit');
  });

  it('accepts a raised request together with a raised limit', () => {
    expect(resolve({ 'sidecar.istio.io/proxyCPU': '1', 'sidecar.istio.io/proxyCPULimit': '2000m' }).refusals).toEqual([]);
  });
});
