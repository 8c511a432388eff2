// App probe rewriting: the rewritten probes, ISTIO_KUBE_APP_PROBERS, the switches, the re-injection
// merge, and which probes reach the app under STRICT mTLS before and after.
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { injectPod } from '../../../src/injector/inject.ts';
import { rewriteAppProbes, rewritesAppProbes } from '../../../src/injector/proxy/probes.ts';
import { appContainer, containerNamed, envValue, pod } from './pods.ts';

const inject = (subject: V1Pod, config: Partial<InjectorConfig> = {}) => injectPod(subject, { ...defaultInjectorConfig(), ...config });
const probers = (injected: V1Pod) => JSON.parse(envValue(containerNamed(injected, 'istio-proxy'), 'ISTIO_KUBE_APP_PROBERS') ?? '{}') as Record<string, unknown>;

describe('rewriteAppProbes', () => {
  it.each<[string, V1Probe, V1Probe, unknown]>([
    ['HTTP keeps its timings', { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 3, timeoutSeconds: 2 }, { httpGet: { path: '/app-health/app/readyz', port: 15020 }, periodSeconds: 3, timeoutSeconds: 2 }, { httpGet: { path: '/ready', port: 8080 }, timeoutSeconds: 2 }],
    ['HTTPS becomes HTTP to the agent', { httpGet: { path: '/ready', port: 8443, scheme: 'HTTPS' } }, { httpGet: { path: '/app-health/app/readyz', port: 15020, scheme: 'HTTP' } }, { httpGet: { path: '/ready', port: 8443, scheme: 'HTTPS' } }],
    ['a named port is resolved', { httpGet: { path: '/ready', port: 'http' } }, { httpGet: { path: '/app-health/app/readyz', port: 15020 } }, { httpGet: { path: '/ready', port: 8080 } }],
    ['TCP becomes HTTP', { tcpSocket: { port: 'http' }, failureThreshold: 5 }, { httpGet: { path: '/app-health/app/readyz', port: 15020 }, failureThreshold: 5 }, { tcpSocket: { port: 8080 } }],
    ['gRPC becomes HTTP', { grpc: { port: 9090, service: 'health' } }, { httpGet: { path: '/app-health/app/readyz', port: 15020 } }, { grpc: { port: 9090, service: 'health' } }],
  ])('%s', (_case, probe, rewritten, prober) => {
    const result = rewriteAppProbes([appContainer('app', { readinessProbe: probe })], undefined, 15020);
    expect(result.containers[0]?.readinessProbe).toEqual(rewritten);
    expect(JSON.parse(result.appProbersEnv?.value ?? '{}')).toEqual({ '/app-health/app/readyz': prober });
  });

  it('leaves exec probes and containers without probes as they were (the same objects)', () => {
    const exec = appContainer('batch', { livenessProbe: { exec: { command: ['true'] } } });
    const bare = appContainer('bare');
    const result = rewriteAppProbes([exec, bare], undefined, 15020);
    expect(result.containers[0]).toBe(exec);
    expect(result.containers[1]).toBe(bare);
    expect(result.appProbersEnv).toBeUndefined();
  });

  it('rewrites the probes of native-sidecar init containers too', () => {
    const logShipper: V1Container = { name: 'log-shipper', image: 'example/shipper', restartPolicy: 'Always', readinessProbe: { httpGet: { path: '/up', port: 2020 } } };
    const result = rewriteAppProbes([appContainer()], [logShipper], 15020);
    expect(result.initContainers?.[0]?.readinessProbe?.httpGet).toEqual({ path: '/app-health/log-shipper/readyz', port: 15020 });
  });

  it('on re-injection keeps the previous originals, which the already rewritten probes no longer show', () => {
    const previous = '{"/app-health/app/readyz":{"httpGet":{"path":"/ready","port":8080}}}';
    const app = appContainer('app', { readinessProbe: { httpGet: { path: '/app-health/app/readyz', port: 15020 } } });
    const added = appContainer('sidecar-cache', { livenessProbe: { tcpSocket: { port: 6379 } } });
    const result = rewriteAppProbes([app, added], undefined, 15020, previous);
    expect(result.appProbersEnv?.value).toBe(
      '{"/app-health/app/readyz":{"httpGet":{"path":"/ready","port":8080}},"/app-health/sidecar-cache/livez":{"tcpSocket":{"port":6379}}}',
    );
  });

  it('writes the JSON as Go does: sorted keys, < > & escaped', () => {
    const result = rewriteAppProbes([appContainer('b', { readinessProbe: { httpGet: { path: '/a?x=1&y=<2>', port: 80 } } }), appContainer('a', { livenessProbe: { httpGet: { port: 81 } } })], undefined, 15020);
    expect(result.appProbersEnv?.value).toBe('{"/app-health/a/livez":{"httpGet":{"port":81}},"/app-health/b/readyz":{"httpGet":{"path":"/a?x=1\\u0026y=\\u003c2\\u003e","port":80}}}');
  });
});

describe('switching rewriting off', () => {
  it.each<[string | undefined, boolean, boolean]>([
    [undefined, true, true],
    [undefined, false, false],
    ['false', true, false],
    ['true', false, true],
    ['0', true, false],
    ['T', false, true],
    // Not a Go boolean: Istio ignores the annotation and the values decide.
    ['nope', true, true],
    ['nope', false, false],
  ])('annotation %j with rewriteAppHTTPProbe %s: rewrite %s', (annotation, configured, expected) => {
    const annotations: Record<string, string> = annotation === undefined ? {} : { 'sidecar.istio.io/rewriteAppHTTPProbers': annotation };
    expect(rewritesAppProbes(annotations, configured)).toBe(expected);
    const injected = inject(pod({ annotations, containers: [appContainer('app', { readinessProbe: { httpGet: { path: '/r', port: 8080 } } })] }), { rewriteAppHTTPProbe: configured });
    expect(containerNamed(injected, 'app')?.readinessProbe?.httpGet?.port).toBe(expected ? 15020 : 8080);
    expect(Object.keys(probers(injected))).toEqual(expected ? ['/app-health/app/readyz'] : []);
  });
});

// Under STRICT mTLS the proxy accepts only mTLS on redirected inbound ports, and the kubelet probes in
// plaintext. A probe reaches the app when it runs inside the container (exec), when its port is not
// redirected (excluded, or not included), or when it targets the agent's status port (never
// redirected) and the agent knows the original probe. Judged from the injected pod alone.
function reachesApp(injected: V1Pod, container: V1Container, probe: V1Probe): boolean {
  if (probe.exec) return true;
  const rawPort = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
  const port = typeof rawPort === 'string' ? container.ports?.find((candidate) => candidate.name === rawPort)?.containerPort : rawPort;
  const args = containerNamed(injected, 'istio-init')?.args ?? [];
  const flag = (name: string) => args[args.indexOf(name) + 1] ?? '';
  const included = flag('-b') === '*' || flag('-b').split(',').includes(String(port));
  const redirected = included && !flag('-d').split(',').includes(String(port));
  if (redirected) return false;
  if (port !== 15020) return true;
  return Object.hasOwn(probers(injected), probe.httpGet?.path ?? '');
}

describe('probes under STRICT mTLS, before and after rewriting', () => {
  const strictPod = (annotations: Record<string, string>) =>
    pod({
      annotations: { 'traffic.sidecar.istio.io/excludeInboundPorts': '9901', ...annotations },
      containers: [
        appContainer('web', {
          ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9090, name: 'grpc' }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
          livenessProbe: { tcpSocket: { port: 8080 } },
          startupProbe: { grpc: { port: 9090 } },
        }),
        appContainer('admin', { ports: [{ containerPort: 9901 }], readinessProbe: { httpGet: { path: '/stats', port: 9901 } } }),
        appContainer('batch', { livenessProbe: { exec: { command: ['/bin/alive'] } } }),
      ],
    });

  it('shows every HTTP, TCP and gRPC probe reaching the app only after rewriting', () => {
    const before = inject(strictPod({ 'sidecar.istio.io/rewriteAppHTTPProbers': 'false' }));
    const after = inject(strictPod({}));
    const rows: string[] = [];
    for (const name of ['web', 'admin', 'batch']) {
      for (const field of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
        const original = containerNamed(before, name)?.[field];
        const rewritten = containerNamed(after, name)?.[field];
        if (!original || !rewritten) continue;
        const verdict = (subject: V1Pod, probe: V1Probe) => (reachesApp(subject, containerNamed(subject, name) as V1Container, probe) ? 'reaches the app' : 'refused by mTLS');
        rows.push(`${name} ${field}: before ${verdict(before, original)}, after ${verdict(after, rewritten)}`);
      }
    }
    expect(rows).toEqual([
      'web readinessProbe: before refused by mTLS, after reaches the app',
      'web livenessProbe: before refused by mTLS, after reaches the app',
      'web startupProbe: before refused by mTLS, after reaches the app',
      'admin readinessProbe: before reaches the app, after reaches the app',
      'batch livenessProbe: before reaches the app, after reaches the app',
    ]);
  });
});
