// The pod's own istio-proxy as an override, the gateway template, and re-injection.
import type { V1Container } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { admitPod } from '../../../src/injector/admit.ts';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { mergeProxyOverride } from '../../../src/injector/proxy/proxy-override.ts';
import { admissionInput, appContainer, containerNamed, pod } from './pods.ts';

const config = defaultInjectorConfig();
const template: V1Container = {
  name: 'istio-proxy',
  image: 'docker.io/istio/proxyv2:1.27.1',
  args: ['proxy', 'sidecar'],
  env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
  ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m' } },
  securityContext: { runAsUser: 1337, runAsGroup: 1337, capabilities: { drop: ['ALL'] } },
};

describe('mergeProxyOverride', () => {
  it.each<[string, Partial<V1Container>, Partial<V1Container>]>([
    ['image auto keeps the template image', { image: 'auto' }, { image: 'docker.io/istio/proxyv2:1.27.1' }],
    ['args are replaced as a whole', { args: ['proxy', 'sidecar', '--concurrency', '2'] }, { args: ['proxy', 'sidecar', '--concurrency', '2'] }],
    ['env merges by name, new names last', { env: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }] }, { env: [{ name: 'A', value: '1' }, { name: 'B', value: 'two' }, { name: 'C', value: '3' }] }],
    ['resources merge field by field', { resources: { limits: { memory: '1Gi' } } }, { resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '1Gi' } } }],
    ['the security context merges, lists inside it are replaced', { securityContext: { runAsUser: 1500, capabilities: { add: ['NET_BIND_SERVICE'] } } }, { securityContext: { runAsUser: 1500, runAsGroup: 1337, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }],
    ['ports merge by containerPort', { ports: [{ containerPort: 15090, name: 'metrics' }, { containerPort: 15443 }] }, { ports: [{ containerPort: 15090, name: 'metrics', protocol: 'TCP' }, { containerPort: 15443 }] }],
  ])('%s', (_case, override, expected) => {
    expect(mergeProxyOverride(template, { name: 'istio-proxy', ...override })).toMatchObject(expected);
  });
});

describe('admission with an istio-proxy override', () => {
  const withOverride = (proxy: Partial<V1Container>, app: Partial<V1Container> = {}) =>
    admitPod(admissionInput(pod({ containers: [appContainer('app', app), { name: 'istio-proxy', ...proxy } as V1Container] })), config);

  it.each<[string, Partial<V1Container>, boolean, string | undefined]>([
    ['image auto', { image: 'auto' }, true, undefined],
    ["the injector's own image", { image: 'docker.io/istio/proxyv2:1.27.1' }, true, undefined],
    ['another image runs as the exempt UID', { image: 'example/envoy:patched' }, false, 'spec.containers[1].image'],
    ['a command replaces pilot-agent', { image: 'auto', command: ['/bin/sh'] }, false, 'spec.containers[1].command'],
  ])('%s: allowed %s', (_case, proxy, allowed, field) => {
    const result = withOverride(proxy);
    expect(result.allowed).toBe(allowed);
    if (!result.allowed) expect(result.refusals[0]).toMatchObject({ code: 'ProxyOverrideRunsOtherProgram', field });
  });

  it('istio-init exempts the UID the override runs the proxy as, and the policy guards that UID', () => {
    const injected = injectPod(pod({ containers: [appContainer(), { name: 'istio-proxy', securityContext: { runAsUser: 1500 } } as V1Container] }), config);
    const args = containerNamed(injected, 'istio-init')?.args ?? [];
    expect(args[args.indexOf('-u') + 1]).toBe('1500');
    const refused = withOverride({ securityContext: { runAsUser: 1500 } }, { securityContext: { runAsUser: 1500 } });
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.refusals[0]).toMatchObject({ code: 'ContainerRunsAsProxyUID', field: 'spec.containers[0].securityContext.runAsUser' });
    // 1337 is an ordinary UID again once the proxy runs as another one.
    expect(withOverride({ securityContext: { runAsUser: 1500 } }, { securityContext: { runAsUser: 1337 } }).allowed).toBe(true);
  });

  it('keeps -u 1337 for a root override, which iptables cannot exempt, and runs TPROXY proxies as root', () => {
    const rootOverride = injectPod(pod({ containers: [appContainer(), { name: 'istio-proxy', securityContext: { runAsUser: 0 } } as V1Container] }), config);
    const args = containerNamed(rootOverride, 'istio-init')?.args ?? [];
    expect(args[args.indexOf('-u') + 1]).toBe('1337');
    const tproxy = injectPod(
      pod({ annotations: { 'sidecar.istio.io/interceptionMode': 'TPROXY' }, containers: [appContainer(), { name: 'istio-proxy', securityContext: { runAsUser: 1500 } } as V1Container] }),
      config,
    );
    expect(containerNamed(tproxy, 'istio-proxy')?.securityContext?.runAsUser).toBe(0);
    const tproxyArgs = containerNamed(tproxy, 'istio-init')?.args ?? [];
    expect(tproxyArgs[tproxyArgs.indexOf('-u') + 1]).toBe('1337');
  });

  it('a pod with only an istio-proxy container is injected, not skipped', () => {
    const result = admitPod(admissionInput(pod({ containers: [{ name: 'istio-proxy', image: 'auto' }] })), config);
    expect(result).toMatchObject({ allowed: true, injected: true });
  });

  it('native sidecars move the override into the init containers', () => {
    const injected = injectPod(pod({ containers: [appContainer(), { name: 'istio-proxy', image: 'auto', args: ['proxy', 'sidecar', '--concurrency', '1'] } as V1Container] }), { ...config, nativeSidecars: true });
    expect(injected.spec?.containers.map((container) => container.name)).toEqual(['app']);
    expect(injected.spec?.initContainers?.map((container) => container.name)).toEqual(['istio-init', 'istio-proxy']);
    expect(containerNamed(injected, 'istio-proxy')).toMatchObject({ restartPolicy: 'Always', args: ['proxy', 'sidecar', '--concurrency', '1'] });
  });
});

describe('inject.istio.io/templates', () => {
  it('gateway: a router proxy without istio-init or the tlsMode label', () => {
    const injected = injectPod(pod({ annotations: { 'inject.istio.io/templates': 'gateway' }, containers: [{ name: 'istio-proxy', image: 'auto' }] }), config);
    expect(injected.spec?.initContainers).toBeUndefined();
    expect(containerNamed(injected, 'istio-proxy')?.args?.slice(0, 2)).toEqual(['proxy', 'router']);
    expect(injected.metadata?.labels?.['security.istio.io/tlsMode']).toBeUndefined();
    expect(injected.spec?.securityContext?.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]);
  });

  it.each([' sidecar ', 'gateway', 'grpc-simple', 'grpc-agent', 'sidecar,sidecar', 'gateway, sidecar'])('%j names known templates', (value) => {
    expect(admitPod(admissionInput(pod({ annotations: { 'inject.istio.io/templates': value } })), config).allowed).toBe(true);
  });

  it.each(['spire', 'sidecar,spire', '', 'sidecar,', 'waypoint', 'Sidecar'])('%j is refused naming the annotation', (value) => {
    const result = admitPod(admissionInput(pod({ annotations: { 'inject.istio.io/templates': value } })), config);
    expect(result.allowed).toBe(false);
    if (!result.allowed) expect(result.refusals[0]?.code).toBe('UnknownInjectionTemplate');
  });
});
