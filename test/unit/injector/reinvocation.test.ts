// A second call for a pod the injector already injected, as the API server makes under
// reinvocationPolicy IfNeeded after a later webhook changed the pod: the later containers' probes go
// through the agent, the metrics merge starts over, and the proxy is never doubled.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { admitPod } from '../../../src/injector/admit.ts';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { admissionInput, appContainer, envValue, pod } from './pods.ts';

const classic: InjectorConfig = { ...defaultInjectorConfig(), nativeSidecars: false };
const native: InjectorConfig = { ...defaultInjectorConfig(), nativeSidecars: true };

function call(subject: V1Pod, config: InjectorConfig): V1Pod {
  const result = admitPod(admissionInput(subject), config);
  if (!result.allowed) throw new Error(result.message);
  const next = structuredClone(subject);
  applyPatch(next, result.patch);
  return next;
}

function addedByLaterWebhook(subject: V1Pod, ...containers: V1Container[]): V1Pod {
  const next = structuredClone(subject);
  next.spec!.containers.push(...containers);
  return next;
}

const late = (extra: Partial<V1Container>): V1Container => ({ name: 'late-agent', image: 'agent:1', ...extra });
const all = (subject: V1Pod) => [...(subject.spec?.containers ?? []), ...(subject.spec?.initContainers ?? [])];
const proxyOf = (subject: V1Pod) => all(subject).find((container) => container.name === 'istio-proxy');
const probers = (subject: V1Pod) => JSON.parse(envValue(proxyOf(subject), 'ISTIO_KUBE_APP_PROBERS') ?? '{}') as Record<string, unknown>;

interface ReinvocationCase {
  name: string;
  first: V1Pod;
  later: V1Container;
  probe: 'readinessProbe' | 'livenessProbe' | 'startupProbe';
  expectedProbe: unknown;
  expectedProbers: Record<string, unknown>;
}

const withHttpProbe = () => pod({ containers: [appContainer('app', { readinessProbe: { httpGet: { path: '/ready', port: 8080 } } })] });
const cases: ReinvocationCase[] = [
  {
    name: 'an HTTP probe, beside the app\'s own rewritten one',
    first: withHttpProbe(), later: late({ readinessProbe: { httpGet: { path: '/healthz', port: 8181 } } }), probe: 'readinessProbe',
    expectedProbe: { httpGet: { path: '/app-health/late-agent/readyz', port: 15020 } },
    expectedProbers: { '/app-health/app/readyz': { httpGet: { path: '/ready', port: 8080 } }, '/app-health/late-agent/readyz': { httpGet: { path: '/healthz', port: 8181 } } },
  },
  {
    // istio/istio#56102: the first call had nothing to rewrite, so the proxy has no ISTIO_KUBE_APP_PROBERS to merge into.
    name: 'an HTTP probe in a pod whose first call rewrote nothing',
    first: pod(), later: late({ livenessProbe: { httpGet: { path: '/live', port: 8181 } } }), probe: 'livenessProbe',
    expectedProbe: { httpGet: { path: '/app-health/late-agent/livez', port: 15020 } },
    expectedProbers: { '/app-health/late-agent/livez': { httpGet: { path: '/live', port: 8181 } } },
  },
  {
    name: 'a named port, resolved from the later container\'s own ports',
    first: withHttpProbe(), later: late({ ports: [{ name: 'health', containerPort: 9901 }], startupProbe: { httpGet: { path: '/started', port: 'health' as never } } }), probe: 'startupProbe',
    expectedProbe: { httpGet: { path: '/app-health/late-agent/startupz', port: 15020 } },
    expectedProbers: { '/app-health/app/readyz': { httpGet: { path: '/ready', port: 8080 } }, '/app-health/late-agent/startupz': { httpGet: { path: '/started', port: 9901 } } },
  },
  {
    name: 'a gRPC probe',
    first: withHttpProbe(), later: late({ readinessProbe: { grpc: { port: 9902 } } }), probe: 'readinessProbe',
    expectedProbe: { httpGet: { path: '/app-health/late-agent/readyz', port: 15020 } },
    expectedProbers: { '/app-health/app/readyz': { httpGet: { path: '/ready', port: 8080 } }, '/app-health/late-agent/readyz': { grpc: { port: 9902, service: null } } },
  },
];

describe('a second call after a later webhook added a container', () => {
  for (const [mode, config] of [['classic sidecar', classic], ['native sidecar', native]] as const) {
    describe(mode, () => {
      it.each(cases)('rewrites $name', ({ first, later, probe, expectedProbe, expectedProbers }) => {
        const reinvoked = call(addedByLaterWebhook(call(first, config), later), config);
        expect(reinvoked.spec?.containers.find((container) => container.name === 'late-agent')?.[probe]).toEqual(expectedProbe);
        expect(probers(reinvoked)).toEqual(expectedProbers);
        expect(all(reinvoked).filter((container) => container.name === 'istio-proxy')).toHaveLength(1);
        expect(all(reinvoked).filter((container) => container.name === 'istio-init')).toHaveLength(1);
        expect(envValue(proxyOf(reinvoked), 'ISTIO_META_APP_CONTAINERS')).toBe('app,late-agent');
      });

      it('gives the same pod as one injection of the pod with every container', () => {
        const later = late({ readinessProbe: { httpGet: { path: '/healthz', port: 8181 } } });
        const reinvoked = call(addedByLaterWebhook(call(withHttpProbe(), config), later), config);
        expect(reinvoked).toEqual(call(addedByLaterWebhook(withHttpProbe(), later), config));
      });

      it('changes nothing on a third call', () => {
        const reinvoked = call(addedByLaterWebhook(call(withHttpProbe(), config), late({ readinessProbe: { httpGet: { path: '/h', port: 8181 } } })), config);
        const third = admitPod(admissionInput(reinvoked), config);
        expect(third).toMatchObject({ allowed: true, injected: false, skipCode: 'already-injected', patch: [] });
      });
    });
  }

  it('starts the metrics merge over from the app\'s own annotations', () => {
    const annotated = pod({ annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'prometheus.io/path': '/metrics' } });
    const reinvoked = call(addedByLaterWebhook(call(annotated, classic), late({})), classic);
    expect(reinvoked.metadata?.annotations).toMatchObject({ 'prometheus.io/port': '15020', 'prometheus.io/path': '/stats/prometheus' });
    expect(JSON.parse(envValue(proxyOf(reinvoked), 'ISTIO_PROMETHEUS_ANNOTATIONS') ?? '{}')).toEqual({ scrape: 'true', port: '9090', path: '/metrics' });
  });

  it('records the status of this injection only', () => {
    const reinvoked = call(addedByLaterWebhook(call(pod(), classic), late({})), classic);
    const status = JSON.parse(reinvoked.metadata?.annotations?.['sidecar.istio.io/status'] ?? '{}') as Record<string, unknown>;
    expect(status).toMatchObject({ initContainers: ['istio-init'], containers: ['istio-proxy'] });
  });

  it('rebuilds istio-proxy, so a later webhook\'s change to the proxy itself does not survive, as in istiod', () => {
    const injected = call(pod(), classic);
    const proxy = injected.spec!.containers.find((container) => container.name === 'istio-proxy')!;
    proxy.env = [...(proxy.env ?? []), { name: 'ADDED_LATER', value: 'x' }];
    const reinvoked = call(addedByLaterWebhook(injected, late({})), classic);
    expect(envValue(proxyOf(reinvoked), 'ADDED_LATER')).toBeUndefined();
  });

  it('keeps the pod\'s own istio-proxy, which the first call recorded in proxy.istio.io/overrides', () => {
    const own = { name: 'istio-proxy', image: 'auto', args: ['proxy', 'sidecar', '--concurrency', '4'], env: [{ name: 'OWN_SETTING', value: 'kept' }] };
    for (const config of [classic, native]) {
      const first = call(pod({ containers: [appContainer('app'), own] }), config);
      const reinvoked = call(addedByLaterWebhook(first, late({})), config);
      expect(proxyOf(reinvoked)?.args).toEqual(own.args);
      expect(envValue(proxyOf(reinvoked), 'OWN_SETTING')).toBe('kept');
      expect(reinvoked.metadata?.annotations?.['proxy.istio.io/overrides']).toBe(first.metadata?.annotations?.['proxy.istio.io/overrides']);
      expect(all(reinvoked).filter((container) => container.name === 'istio-proxy')).toHaveLength(1);
    }
  });

  it('keeps the override\'s UID as the exempt one: istio-init\'s -u and the policy follow it on the second call', () => {
    const own = { name: 'istio-proxy', image: 'auto', securityContext: { runAsUser: 2000 } };
    const first = call(pod({ containers: [appContainer('app'), own] }), classic);
    const reinvoked = call(addedByLaterWebhook(first, late({})), classic);
    const init = all(reinvoked).find((container) => container.name === 'istio-init');
    expect(init?.args?.join(' ')).toContain('-u 2000');
    expect(admitPod(admissionInput(addedByLaterWebhook(first, late({ securityContext: { runAsUser: 2000 } }))), classic)).toMatchObject({ allowed: false, reason: 'ContainerRunsAsProxyUID' });
  });

  it('refuses a later container that runs as the proxy UID', () => {
    const result = admitPod(admissionInput(addedByLaterWebhook(call(pod(), classic), late({ securityContext: { runAsUser: 1337 } }))), classic);
    expect(result).toMatchObject({ allowed: false, reason: 'ContainerRunsAsProxyUID' });
  });
});
