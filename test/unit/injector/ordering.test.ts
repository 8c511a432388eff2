// Container order and native sidecar mode, as a table: Istio's reorderPod and its
// ENABLE_NATIVE_SIDECARS / sidecar.istio.io/nativeSidecar rules.
import { describe, expect, it } from 'vitest';
import { admitPod } from '../../../src/injector/admit.ts';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { clusterSupportsNativeSidecars, kubeletSupportsNativeSidecars, usesNativeSidecar } from '../../../src/injector/native-sidecars.ts';
import { staticNativeSidecarSupport } from '../../../src/webhook/native-sidecar-support.ts';
import { admissionInput, appContainer, containerNamed, pod } from './pods.ts';

const names = (containers: Array<{ name: string }> | undefined) => (containers ?? []).map((container) => container.name);

describe('container order', () => {
  const twoInits = { initContainers: [appContainer('fetch-secrets'), appContainer('migrate')], containers: [appContainer('app'), appContainer('worker')] };
  it.each<[string, Partial<InjectorConfig>, Record<string, string>, string[], string[]]>([
    ['classic', {}, {}, ['fetch-secrets', 'migrate', 'istio-init'], ['app', 'worker', 'istio-proxy']],
    ['classic, hold', { holdApplicationUntilProxyStarts: true }, {}, ['fetch-secrets', 'migrate', 'istio-init'], ['istio-proxy', 'app', 'worker']],
    ['classic, hold from proxy.istio.io/config', {}, { 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}' }, ['fetch-secrets', 'migrate', 'istio-init'], ['istio-proxy', 'app', 'worker']],
    ['classic, interception NONE', {}, { 'sidecar.istio.io/interceptionMode': 'NONE' }, ['fetch-secrets', 'migrate'], ['app', 'worker', 'istio-proxy']],
    ['native', { nativeSidecars: true }, {}, ['istio-init', 'istio-proxy', 'fetch-secrets', 'migrate'], ['app', 'worker']],
    ['native, hold', { nativeSidecars: true, holdApplicationUntilProxyStarts: true }, {}, ['istio-init', 'istio-proxy', 'fetch-secrets', 'migrate'], ['app', 'worker']],
    ['native, interception NONE', { nativeSidecars: true }, { 'sidecar.istio.io/interceptionMode': 'NONE' }, ['istio-proxy', 'fetch-secrets', 'migrate'], ['app', 'worker']],
    ['native by annotation', { nativeSidecars: false }, { 'sidecar.istio.io/nativeSidecar': 'true' }, ['istio-init', 'istio-proxy', 'fetch-secrets', 'migrate'], ['app', 'worker']],
    ['classic by annotation', { nativeSidecars: true }, { 'sidecar.istio.io/nativeSidecar': 'false' }, ['fetch-secrets', 'migrate', 'istio-init'], ['app', 'worker', 'istio-proxy']],
  ])('%s', (_case, config, annotations, initContainers, containers) => {
    const injected = injectPod(pod({ ...twoInits, annotations }), { ...defaultInjectorConfig(), ...config });
    expect(names(injected.spec?.initContainers)).toEqual(initContainers);
    expect(names(injected.spec?.containers)).toEqual(containers);
  });

  it.each<[string, Partial<InjectorConfig>, string[] | undefined, string[] | undefined]>([
    ['classic: the app waits for pilot-agent wait', { holdApplicationUntilProxyStarts: true }, ['pilot-agent', 'wait'], undefined],
    ['native: the kubelet already starts the proxy first; it only drains on stop', { nativeSidecars: true, holdApplicationUntilProxyStarts: true }, undefined, ['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain']],
  ])('hold, %s', (_case, config, postStart, preStop) => {
    const proxy = containerNamed(injectPod(pod(), { ...defaultInjectorConfig(), ...config }), 'istio-proxy');
    expect(proxy?.lifecycle?.postStart?.exec?.command).toEqual(postStart);
    expect(proxy?.lifecycle?.preStop?.exec?.command).toEqual(preStop);
  });
});

describe('native sidecar mode', () => {
  it.each([
    ['v1.33.0', true],
    ['v1.34.2-eks-abc', true],
    ['1.33', true],
    ['v1.32.9', false],
    ['v1.29.0', false],
    ['v2.0.0', true],
    ['', false],
    ['unknown', false],
  ])('kubelet %j supports native sidecars: %s', (version, expected) => {
    expect(kubeletSupportsNativeSidecars(version)).toBe(expected);
  });

  const cluster = new Map([['node-new', 'v1.33.1'], ['node-old', 'v1.31.4']]);
  it.each<[string, ReadonlyMap<string, string>, string | undefined, boolean]>([
    ['unscheduled pod in a mixed cluster: every node must support it', cluster, undefined, false],
    ['pod bound to a new node', cluster, 'node-new', true],
    ['pod bound to an old node', cluster, 'node-old', false],
    ['pod bound to an unknown node falls back to every node', new Map([['a', 'v1.33.0']]), 'gone', true],
    ['no nodes at all', new Map(), undefined, false],
  ])('%s', (_case, versions, nodeName, expected) => {
    expect(clusterSupportsNativeSidecars(versions, nodeName)).toBe(expected);
  });

  it.each<[string | undefined, boolean | 'auto', boolean | undefined, boolean]>([
    [undefined, 'auto', true, true],
    [undefined, 'auto', false, false],
    [undefined, 'auto', undefined, false],
    [undefined, true, false, true],
    [undefined, false, true, false],
    ['', true, undefined, true],
    ['true', false, false, true],
    ['false', true, true, false],
    // Istio's template only compares with "false": any other value turns native sidecars on.
    ['yes', false, false, true],
  ])('annotation %j, setting %j, cluster %j: native %s', (annotation, setting, support, expected) => {
    const annotations: Record<string, string> = annotation === undefined ? {} : { 'sidecar.istio.io/nativeSidecar': annotation };
    expect(usesNativeSidecar(annotations, setting, support)).toBe(expected);
  });

  it('the webhook turns auto on only when the cluster supports it', () => {
    const config = defaultInjectorConfig();
    const initContainersAdded = (supported: boolean) => {
      const result = admitPod(admissionInput(pod(), { nativeSidecarsSupported: supported }), config);
      const operation = result.allowed ? result.patch.find((candidate) => candidate.path === '/spec/initContainers') : undefined;
      return operation && 'value' in operation ? names(operation.value as Array<{ name: string }>) : [];
    };
    expect(initContainersAdded(true)).toEqual(['istio-init', 'istio-proxy']);
    expect(initContainersAdded(false)).toEqual(['istio-init']);
  });

  it('the node source answers for the pod\'s node, or for every node', () => {
    const nodes = staticNativeSidecarSupport({ a: 'v1.33.0', b: 'v1.30.0' });
    expect(nodes.supports('a')).toBe(true);
    expect(nodes.supports(undefined)).toBe(false);
  });
});
