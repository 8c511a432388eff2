import { describe, expect, it } from 'vitest';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { InjectionRefusedError } from '../../../src/injector/refusals.ts';
import { containerNamed, envValue, pod, type PodShape } from './pods.ts';

const defaults = defaultInjectorConfig();
const inject = (shape: PodShape = {}, config: Partial<InjectorConfig> = {}) => injectPod(pod(shape), { ...defaults, ...config }, { namespace: 'production' });
const initArgs = (annotations: Record<string, string>) => containerNamed(inject({ annotations }), 'istio-init')?.args;

describe('injectPod: resources', () => {
  const resources = (annotations: Record<string, string>) => containerNamed(inject({ annotations }), 'istio-proxy')?.resources;

  it('uses the config defaults', () => {
    expect(resources({})).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
  });

  it.each([
    ['sidecar.istio.io/proxyCPU', '200m', { requests: { cpu: '200m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } }],
    ['sidecar.istio.io/proxyMemory', '64Mi', { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } }],
    ['sidecar.istio.io/proxyCPULimit', '1', { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } }],
    ['sidecar.istio.io/proxyMemoryLimit', '512Mi', { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } }],
  ])('%s changes only its own field', (key, value, expected) => {
    expect(resources({ [key]: value })).toEqual(expected);
  });

  it('combines all four annotations', () => {
    expect(
      resources({ 'sidecar.istio.io/proxyCPU': '50m', 'sidecar.istio.io/proxyMemory': '40Mi', 'sidecar.istio.io/proxyCPULimit': '2', 'sidecar.istio.io/proxyMemoryLimit': '1Gi' }),
    ).toEqual({ requests: { cpu: '50m', memory: '40Mi' }, limits: { cpu: '2', memory: '1Gi' } });
  });

  it('leaves out limits the config leaves empty', () => {
    const injected = inject({}, { resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '', memory: '' } } });
    expect(containerNamed(injected, 'istio-proxy')?.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' } });
  });

  it('throws the refusals when annotations are invalid and no settings were given', () => {
    expect(() => inject({ annotations: { 'sidecar.istio.io/proxyCPU': 'lots' } })).toThrow(InjectionRefusedError);
  });
});

describe('injectPod: traffic annotations shape istio-iptables', () => {
  it.each([
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/8', '-i', '10.0.0.0/8'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '', '-i', ''],
    ['traffic.sidecar.istio.io/excludeOutboundIPRanges', '169.254.169.254/32', '-x', '169.254.169.254/32'],
    ['traffic.sidecar.istio.io/includeInboundPorts', '8080', '-b', '8080'],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '9000,15020', '-d', '15090,15021,9000,15020'],
    // Istio appends the status port after the pod's own exclusions.
    ['traffic.sidecar.istio.io/excludeInboundPorts', '9000', '-d', '15090,15021,9000,15020'],
    ['traffic.sidecar.istio.io/includeOutboundPorts', '443', '-q', '443'],
    ['traffic.sidecar.istio.io/excludeOutboundPorts', '5432', '-o', '5432'],
  ])('%s=%j sets %s %j', (key, value, flag, expected) => {
    const args = initArgs({ [key]: value }) ?? [];
    expect(args[args.indexOf(flag) + 1]).toBe(expected);
  });

  it('leaves out -q and -o when no outbound ports are set', () => {
    expect(initArgs({})).not.toContain('-q');
    expect(initArgs({})).not.toContain('-o');
  });

  it('uses the interception mode annotation', () => {
    const injected = inject({ annotations: { 'sidecar.istio.io/interceptionMode': 'TPROXY' } });
    const args = containerNamed(injected, 'istio-init')?.args ?? [];
    expect(args[args.indexOf('-m') + 1]).toBe('TPROXY');
    expect(containerNamed(injected, 'istio-proxy')?.securityContext).toMatchObject({ runAsUser: 0, runAsGroup: 1337, capabilities: { add: ['NET_ADMIN'] } });
    expect(envValue(containerNamed(injected, 'istio-proxy'), 'ISTIO_META_INTERCEPTION_MODE')).toBe('TPROXY');
  });

  it('adds no istio-init when interception is NONE', () => {
    const injected = inject({ annotations: { 'sidecar.istio.io/interceptionMode': 'NONE' } });
    expect(injected.spec?.initContainers).toBeUndefined();
    expect(JSON.parse(injected.metadata?.annotations?.['sidecar.istio.io/status'] ?? '').initContainers).toBeNull();
  });
});
