// The per-pod proxy knobs, CNI mode and the network, as Istio's template applies them.
import { describe, expect, it } from 'vitest';
import { resolveSidecarSettings } from '../../../src/injector/annotations.ts';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { excludedInboundPorts } from '../../../src/injector/proxy/proxy-annotations.ts';
import { appContainer, containerNamed, envValue, pod } from './pods.ts';

const config = defaultInjectorConfig();
const resolve = (annotations: Record<string, string>) => resolveSidecarSettings(annotations, config);

describe('excludedInboundPorts (-d)', () => {
  it.each<[string, number, string]>([
    ['', 15020, '15090,15021,15020'],
    ['9000', 15020, '15090,15021,9000,15020'],
    ['15020,9000', 15020, '15090,15021,15020,9000'],
    ['', 0, '15090,15021'],
    ['8080', 15030, '15090,15021,8080,15030'],
  ])('exclusions %j with status port %s', (excluded, port, expected) => {
    expect(excludedInboundPorts(excluded, port)).toBe(expected);
  });
});

describe('proxy annotations', () => {
  it.each([
    ['status.sidecar.istio.io/port', 'http'],
    ['status.sidecar.istio.io/port', '65536'],
    ['readiness.status.sidecar.istio.io/initialDelaySeconds', '-1'],
    ['readiness.status.sidecar.istio.io/periodSeconds', '1.5'],
    ['readiness.status.sidecar.istio.io/failureThreshold', 'many'],
    ['sidecar.istio.io/userVolume', '[1]'],
    ['sidecar.istio.io/userVolumeMount', '{"a": 1}'],
    ['traffic.sidecar.istio.io/excludeInterfaces', 'eth0/1'],
    ['istio.io/reroute-virtual-interfaces', 'a-very-long-interface-name'],
  ])('%s=%j is refused naming it, as istiod refuses it', (key, value) => {
    const { refusals } = resolve({ [key]: value });
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ code: 'InvalidSidecarAnnotation', field: `metadata.annotations[${JSON.stringify(key)}]` });
  });

  it('status port 0 drops the proxy probes and the -d status entry', () => {
    const injected = injectPod(pod({ annotations: { 'status.sidecar.istio.io/port': '0' } }), config);
    const proxy = containerNamed(injected, 'istio-proxy');
    expect(proxy?.readinessProbe).toBeUndefined();
    expect(proxy?.startupProbe).toBeUndefined();
    const args = containerNamed(injected, 'istio-init')?.args ?? [];
    expect(args[args.indexOf('-d') + 1]).toBe('15090,15021');
  });

  it('proxy.istio.io/config proxyMetadata merges with the mesh default, key by key', () => {
    const meshDefault = { ...config, proxyConfig: { proxyMetadata: { A: 'mesh', B: 'mesh' }, concurrency: 2 } };
    const { settings } = resolveSidecarSettings({ 'proxy.istio.io/config': 'proxyMetadata: {B: pod, C: pod}' }, meshDefault);
    expect(settings.proxyMetadata).toEqual({ A: 'mesh', B: 'pod', C: 'pod' });
    const injected = injectPod(pod({ annotations: { 'proxy.istio.io/config': 'proxyMetadata: {B: pod, C: pod}' } }), meshDefault);
    for (const name of ['istio-init', 'istio-proxy']) {
      expect(envValue(containerNamed(injected, name), 'A')).toBe('mesh');
      expect(envValue(containerNamed(injected, name), 'B')).toBe('pod');
    }
    expect(JSON.parse(envValue(containerNamed(injected, 'istio-proxy'), 'PROXY_CONFIG') ?? '{}')).toMatchObject({ concurrency: 2 });
  });

  it('log levels from annotations reach the proxy args and istio-init', () => {
    const injected = injectPod(pod({ annotations: { 'sidecar.istio.io/logLevel': 'trace', 'sidecar.istio.io/agentLogLevel': 'default:warn' } }), config);
    expect(containerNamed(injected, 'istio-proxy')?.args).toEqual(expect.arrayContaining(['--proxyLogLevel=trace', '--log_output_level=default:warn']));
    expect(containerNamed(injected, 'istio-init')?.args).toContain('--log_output_level=default:warn');
  });
});

describe('CNI mode and the network', () => {
  const cni = { ...config, cniEnabled: true, network: 'net-a' };
  it('istio-validation runs first, validates only, and holds no network capability', () => {
    const injected = injectPod(pod({ initContainers: [appContainer('migrate')] }), cni);
    expect(injected.spec?.initContainers?.map((container) => container.name)).toEqual(['istio-validation', 'migrate']);
    const validation = containerNamed(injected, 'istio-validation');
    expect(validation?.args).toEqual(expect.arrayContaining(['--run-validation', '--skip-rule-apply']));
    expect(validation?.securityContext).toMatchObject({ capabilities: { drop: ['ALL'] }, runAsUser: 1337, runAsNonRoot: true, readOnlyRootFilesystem: true });
    expect(validation?.securityContext?.capabilities?.add).toBeUndefined();
  });

  it('native sidecars keep istio-validation first, then the proxy', () => {
    const injected = injectPod(pod({ initContainers: [appContainer('migrate')] }), { ...cni, nativeSidecars: true });
    expect(injected.spec?.initContainers?.map((container) => container.name)).toEqual(['istio-validation', 'istio-proxy', 'migrate']);
  });

  it('global.network becomes ISTIO_META_NETWORK and the topology label', () => {
    const injected = injectPod(pod(), cni);
    expect(envValue(containerNamed(injected, 'istio-proxy'), 'ISTIO_META_NETWORK')).toBe('net-a');
    expect(injected.metadata?.labels?.['topology.istio.io/network']).toBe('net-a');
  });
});
