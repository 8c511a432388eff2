// Reinvocation through the real API server: another mutating webhook, ordered after the injector,
// adds a container with an HTTP probe. With reinvocationPolicy IfNeeded the API server calls the
// injector again and the added container's probe goes through the agent, as istiod does it
// (istio/istio#53786); with Never, as config/webhook ships, it does not. Then the same two calls
// through Istio's own handler and ours, side by side, for a few pods, in both native-sidecar modes.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { applyPatch } from 'rfc6902';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitPod } from '../../src/injector/admit.ts';
import { defaultInjectorConfig, type InjectorConfig } from '../../src/injector/config.ts';
import { loadIstioConfigurationFiles } from '../../src/injector/istio/istio-values.ts';
import { watchNamespaceLabels } from '../../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../../src/observability/metrics.ts';
import { createWebhookServer, type WebhookServer } from '../../src/webhook/server.ts';
import { createCertificateAuthority, issueCertificate } from '../harness/certs.ts';
import { PROJECT_ROOT } from '../harness/binaries.ts';
import { renderKustomization } from '../harness/kustomize.ts';
import { istioReferenceBinaries, renderedIstioConfiguration, startIstioWebhook } from '../harness/istio-reference.ts';
import { containerAddingRegistration, startContainerAddingWebhook, type ContainerAddingWebhook } from '../harness/container-adding-webhook.ts';
import { webhookConfigurations } from '../harness/webhook-registration.ts';
import { createNamespace, deleteNamespace, testCluster } from './support/cluster.ts';

const cluster = testCluster();
const runLabel = `reinvoke-${process.pid}`;
// The API server calls the configurations in the order of their names: the injector's come first.
const names = { ifNeeded: `a-${runLabel}-ifneeded`, never: `a-${runLabel}-never`, other: `z-${runLabel}-other` };
const lateAgent = { name: 'late-agent', image: 'agent:1', readinessProbe: { httpGet: { path: '/healthz', port: 8181 } } };
let certDir: string;
let server: WebhookServer;
let other: ContainerAddingWebhook;
let namespaces: ReturnType<typeof watchNamespaceLabels>;
const namespaceOf: Record<'IfNeeded' | 'Never', string> = { IfNeeded: '', Never: '' };

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'switchboard-reinvoke-'));
  const ca = createCertificateAuthority(certDir, 'webhooks-ca');
  const serving = issueCertificate(ca, 'serving', { commonName: 'webhooks', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  copyFileSync(serving.certFile, join(certDir, 'tls.crt'));
  copyFileSync(serving.keyFile, join(certDir, 'tls.key'));
  for (const policy of ['IfNeeded', 'Never'] as const) {
    namespaceOf[policy] = await createNamespace(cluster, `reinvoke-${policy.toLowerCase()}`, { 'istio-injection': 'enabled', [runLabel]: policy });
  }
  namespaces = watchNamespaceLabels(cluster.webhookClient);
  await namespaces.synced;
  server = createWebhookServer({
    config: { ...defaultInjectorConfig(), nativeSidecars: false }, namespaces, metrics: createWebhookMetrics(), logger: pino({ level: 'warn' }),
    tls: { certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key') },
  });
  const port = await server.listen('127.0.0.1', 0);
  other = await startContainerAddingWebhook({ certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key'), container: lateAgent });
  for (const policy of ['IfNeeded', 'Never'] as const) {
    const { mutating } = webhookConfigurations({
      name: policy === 'IfNeeded' ? names.ifNeeded : names.never, url: `https://127.0.0.1:${port}`, caFile: ca.certFile, reinvocationPolicy: policy,
      namespaceSelector: { matchExpressions: [{ key: runLabel, operator: 'In', values: [policy] }] },
    });
    await cluster.objects.create(mutating);
  }
  await cluster.objects.create(containerAddingRegistration({
    name: names.other, url: other.url, caFile: ca.certFile, namespaceSelector: { matchExpressions: [{ key: runLabel, operator: 'Exists' }] },
  }));
});

afterAll(async () => {
  for (const name of Object.values(names)) {
    await cluster.objects.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name } }).catch(() => undefined);
  }
  await server?.close();
  await other?.close();
  await namespaces?.stop();
  for (const namespace of Object.values(namespaceOf)) if (namespace) await deleteNamespace(cluster, namespace);
  rmSync(certDir, { recursive: true, force: true });
});

function appPod(name: string): V1Pod {
  return {
    metadata: { name, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' } },
    spec: { containers: [{ name: 'app', image: 'app:1', readinessProbe: { httpGet: { path: '/ready', port: 8080 } } }] },
  };
}

const named = (pod: V1Pod, name: string): V1Container | undefined => pod.spec?.containers.find((container) => container.name === name);
const env = (container: V1Container | undefined, name: string) => container?.env?.find((variable) => variable.name === name)?.value;

describe('a container added by a later mutating webhook', () => {
  it('has its probe rewritten when the injector is registered with reinvocationPolicy IfNeeded', async () => {
    const callsBefore = other.calls.length;
    const pod = await cluster.core.createNamespacedPod({ namespace: namespaceOf.IfNeeded, body: appPod('reinvoked') });
    // The other webhook ran once, after the injector.
    expect(other.calls.slice(callsBefore)).toEqual([{ hadProxy: true }]);
    expect(pod.spec?.containers.map((container) => container.name).sort()).toEqual(['app', 'istio-proxy', 'late-agent']);
    expect(named(pod, 'late-agent')?.readinessProbe?.httpGet).toEqual({ path: '/app-health/late-agent/readyz', port: 15020, scheme: 'HTTP' });
    expect(named(pod, 'app')?.readinessProbe?.httpGet).toEqual({ path: '/app-health/app/readyz', port: 15020, scheme: 'HTTP' });
    const proxy = named(pod, 'istio-proxy');
    // The API server defaulted both probes (scheme, timeout) before the injector saw them.
    expect(JSON.parse(env(proxy, 'ISTIO_KUBE_APP_PROBERS') ?? '{}')).toEqual({
      '/app-health/app/readyz': { httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' }, timeoutSeconds: 1 },
      '/app-health/late-agent/readyz': { httpGet: { path: '/healthz', port: 8181, scheme: 'HTTP' }, timeoutSeconds: 1 },
    });
    expect(env(proxy, 'ISTIO_META_APP_CONTAINERS')).toBe('app,late-agent');
    // The metrics merge starts over from the app's own annotations, not from its first pass.
    expect(JSON.parse(env(proxy, 'ISTIO_PROMETHEUS_ANNOTATIONS') ?? '{}')).toMatchObject({ scrape: 'true', port: '9090' });
    expect(pod.metadata?.annotations?.['prometheus.io/port']).toBe('15020');
    expect(JSON.parse(pod.metadata?.annotations?.['sidecar.istio.io/status'] ?? '{}')).toMatchObject({ containers: ['istio-proxy'], initContainers: ['istio-init'] });
    expect(pod.spec?.initContainers?.map((container) => container.name)).toEqual(['istio-init']);
  });

  it('keeps its own probe, which the kubelet would send past the proxy, under reinvocationPolicy Never', async () => {
    const pod = await cluster.core.createNamespacedPod({ namespace: namespaceOf.Never, body: appPod('not-reinvoked') });
    expect(named(pod, 'late-agent')?.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 8181, scheme: 'HTTP' });
    expect(Object.keys(JSON.parse(env(named(pod, 'istio-proxy'), 'ISTIO_KUBE_APP_PROBERS') ?? '{}'))).toEqual(['/app-health/app/readyz']);
  });
});

type Json = Record<string, unknown>;

describe('the shipped registration', () => {
  const policies = (objects: Json[]) => objects.filter((object) => object.kind === 'MutatingWebhookConfiguration')
    .flatMap((object) => (object.webhooks as Json[]).map((webhook) => webhook.reinvocationPolicy));

  it('is Never, as istiod\'s chart ships it; config/webhook-reinvocation turns every entry to IfNeeded and changes nothing else', () => {
    const shipped = renderKustomization('config/webhook') as unknown as Json[];
    expect(policies(shipped)).toEqual(['Never', 'Never', 'Never', 'Never']);
    const overlay = mkdtempSync(join(tmpdir(), 'reinvocation-overlay-'));
    const config = relative(overlay, join(PROJECT_ROOT, 'config'));
    writeFileSync(join(overlay, 'kustomization.yaml'), `resources: [${config}/webhook]\ncomponents: [${config}/webhook-reinvocation]\n`);
    try {
      const patched = renderKustomization(relative(PROJECT_ROOT, overlay)) as unknown as Json[];
      expect(policies(patched)).toEqual(['IfNeeded', 'IfNeeded', 'IfNeeded', 'IfNeeded']);
      const asShipped = structuredClone(patched);
      for (const object of asShipped) if (object.kind === 'MutatingWebhookConfiguration') for (const webhook of object.webhooks as Json[]) webhook.reinvocationPolicy = 'Never';
      expect(asShipped).toEqual(shipped);
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
  });
});

const later: V1Container[] = [
  { name: 'late-agent', image: 'agent:1', readinessProbe: { httpGet: { path: '/healthz', port: 8181 } } },
  { name: 'late-named', image: 'agent:1', ports: [{ name: 'health', containerPort: 9901 }],
    livenessProbe: { httpGet: { path: '/live', port: 'health' as never } }, startupProbe: { tcpSocket: { port: 9901 as never } } },
  { name: 'late-grpc', image: 'agent:1', readinessProbe: { grpc: { port: 9902 } } },
];
const firstPods: Array<{ name: string; pod: Json }> = [
  { name: 'an app with an HTTP probe and scrape annotations', pod: appPod('with-probe') as Json },
  // istio/istio#56102: nothing to rewrite on the first call, so no ISTIO_KUBE_APP_PROBERS yet.
  { name: 'an app without probes', pod: { metadata: { name: 'no-probe' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } } },
  // The pod's own istio-proxy: istiod puts it back from proxy.istio.io/overrides before injecting again.
  { name: 'an app with its own istio-proxy', pod: { metadata: { name: 'override' }, spec: { containers: [
    { name: 'app', image: 'app:1' },
    { name: 'istio-proxy', image: 'auto', env: [{ name: 'OWN_SETTING', value: 'kept' }], args: ['proxy', 'sidecar', '--concurrency', '4'],
      readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 }, periodSeconds: 5 } },
  ] } } },
  { name: 'an app with a gRPC probe', pod: { metadata: { name: 'grpc' }, spec: { containers: [{ name: 'app', image: 'app:1', livenessProbe: { grpc: { port: 7000 } } }] } } },
];

/** What a reinvocation must get right: the probes of every container, the agent's records, one proxy, the merge. */
function reinvocationFacets(pod: Json): Json {
  const spec = pod.spec as { containers: V1Container[]; initContainers?: V1Container[] };
  const all = [...spec.containers, ...(spec.initContainers ?? [])];
  const proxy = all.find((container) => container.name === 'istio-proxy');
  const json = (name: string) => JSON.parse(env(proxy, name) ?? 'null') as unknown;
  const annotations = ((pod.metadata as Json).annotations ?? {}) as Record<string, string>;
  return {
    proxies: all.filter((container) => container.name === 'istio-proxy').length,
    probes: Object.fromEntries(all.filter((container) => !container.name.startsWith('istio-'))
      .map((container) => [container.name, { readiness: container.readinessProbe, liveness: container.livenessProbe, startup: container.startupProbe }])),
    appProbers: json('ISTIO_KUBE_APP_PROBERS'),
    prometheusAnnotations: json('ISTIO_PROMETHEUS_ANNOTATIONS'),
    appContainers: env(proxy, 'ISTIO_META_APP_CONTAINERS'),
    scrape: Object.fromEntries(Object.entries(annotations).filter(([key]) => key.startsWith('prometheus.io/'))),
    status: JSON.parse(annotations['sidecar.istio.io/status'] ?? 'null') as unknown,
    overrides: JSON.parse(annotations['proxy.istio.io/overrides'] ?? 'null') as unknown,
    ownSetting: env(proxy, 'OWN_SETTING'),
  };
}

/** Where the pod's own istio-proxy and the template both set a field, which one the pod ends with. */
function contested(pod: Json): Json {
  const spec = pod.spec as { containers: V1Container[]; initContainers?: V1Container[] };
  const proxy = [...spec.containers, ...(spec.initContainers ?? [])].find((container) => container.name === 'istio-proxy');
  return { args: proxy?.args, readinessPeriod: proxy?.readinessProbe?.periodSeconds };
}

function withLaterContainers(pod: Json): Json {
  const copy = structuredClone(pod);
  const spec = copy.spec as { containers: V1Container[] };
  spec.containers.push(...structuredClone(later));
  return asDecodedByTheApiServer(copy);
}

/** Every container with a resources object, as the API server hands pods to webhooks (Go writes empty structs). */
function asDecodedByTheApiServer(pod: Json): Json {
  const spec = pod.spec as { containers: V1Container[]; initContainers?: V1Container[] };
  for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) container.resources ??= {};
  return pod;
}

function ours(pod: Json, config: InjectorConfig): Json {
  const result = admitPod({ pod: pod as V1Pod, namespace: 'shop', namespaceLabels: undefined, operation: 'CREATE', subResource: '' }, config);
  if (!result.allowed) throw new Error(result.message);
  const injected = structuredClone(pod);
  applyPatch(injected, result.patch);
  return injected;
}

describe("reinvocation against Istio's injection handler", () => {
  it.each([false, true])('native sidecars %s: the second call gives what istiod gives, the override aside', async (native) => {
    const binaries = istioReferenceBinaries();
    const rendered = renderedIstioConfiguration();
    const istio = await startIstioWebhook({ binary: binaries['istio-webhook'], files: rendered, tls: { certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key') }, nativeSidecars: native });
    try {
      const config = loadIstioConfigurationFiles({ ...defaultInjectorConfig(), nativeSidecars: native }, { valuesFile: rendered.values, meshConfigFile: rendered.mesh });
      for (const { name, pod: given } of firstPods) {
        const pod = asDecodedByTheApiServer(structuredClone(given));
        // Each side's own first injection, then the later webhook's containers, then each side again.
        const theirFirst = (await istio.inject(pod, 'shop')).pod;
        const theirs = await istio.inject(withLaterContainers(theirFirst), 'shop');
        const myFirst = ours(pod, config);
        const mine = ours(withLaterContainers(myFirst), config);
        expect(theirs.allowed, name).toBe(true);
        expect(reinvocationFacets(mine), name).toEqual(reinvocationFacets(theirs.pod));
        expect(reinvocationFacets(mine).proxies, name).toBe(1);
        // A deliberate difference: istiod's second call merges its template over the pod's own
        // istio-proxy, so the override loses every field the template also sets (its args, its probe
        // timings); the injector merges the override last on every call, so a later webhook cannot
        // undo what the pod asked for.
        expect(contested(mine), name).toEqual(contested(myFirst));
        if (name.includes('own istio-proxy')) {
          expect(contested(mine), name).toEqual({ args: ['proxy', 'sidecar', '--concurrency', '4'], readinessPeriod: 5 });
          expect(contested(theirs.pod), name).not.toEqual(contested(theirFirst));
        } else {
          expect(contested(mine), name).toEqual(contested(theirs.pod));
        }
        expect(Object.keys(reinvocationFacets(mine).appProbers as Json), name).toEqual(expect.arrayContaining(['/app-health/late-agent/readyz', '/app-health/late-named/livez', '/app-health/late-named/startupz', '/app-health/late-grpc/readyz']));
      }
    } finally {
      await istio.stop();
    }
  }, 600_000);
});
