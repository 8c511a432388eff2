// The review path's inputs besides the pod: the node versions (nativeSidecars: auto), the admission
// warnings the injector produces, and a configuration that changes between reviews.
import type { V1Container } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { defaultInjectorConfig, type InjectorConfig } from '../../../src/injector/config.ts';
import { staticNamespaceLabels } from '../../../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../../../src/observability/metrics.ts';
import { staticNativeSidecarSupport } from '../../../src/webhook/native-sidecar-support.ts';
import { reviewAdmission, type ReviewContext } from '../../../src/webhook/review.ts';

const namespaces = staticNamespaceLabels({ mesh: { 'istio-injection': 'enabled' } });
const request = (annotations: Record<string, string> = {}, nodeName?: string) => ({
  uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'mesh', operation: 'CREATE' as const, subResource: '',
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', annotations }, spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'web', image: 'nginx' }] } },
  oldObject: undefined, userInfo: undefined, dryRun: false,
});

function patchOf(review: Awaited<ReturnType<typeof reviewAdmission>>): Array<{ path: string; value?: unknown }> {
  return JSON.parse(Buffer.from(review.response.patch ?? '', 'base64').toString('utf8')) as Array<{ path: string; value?: unknown }>;
}

describe('reviewAdmission', () => {
  it.each<[Record<string, string>, string | undefined, string[]]>([
    [{ a: 'v1.33.0', b: 'v1.34.1' }, undefined, ['istio-init', 'istio-proxy']],
    [{ a: 'v1.33.0', b: 'v1.31.0' }, undefined, ['istio-init']],
    [{ a: 'v1.33.0', b: 'v1.31.0' }, 'a', ['istio-init', 'istio-proxy']],
  ])('nodes %j, pod on %s: init containers %j', async (nodes, nodeName, initContainers) => {
    const context: ReviewContext = { config: defaultInjectorConfig(), namespaces, metrics: createWebhookMetrics(), nativeSidecarSupport: staticNativeSidecarSupport(nodes) };
    const review = await reviewAdmission('inject', request({}, nodeName) as never, context);
    const added = patchOf(review).find((operation) => operation.path === '/spec/initContainers')?.value as V1Container[];
    expect(added.map((container) => container.name)).toEqual(initContainers);
  });

  it('sends the adjustments as admission warnings', async () => {
    const context: ReviewContext = { config: defaultInjectorConfig(), namespaces, metrics: createWebhookMetrics() };
    const review = await reviewAdmission('inject', request({ 'sidecar.istio.io/proxyCPU': '2' }) as never, context);
    expect(review.response.allowed).toBe(true);
    expect(review.response.warnings).toEqual(['sidecar.istio.io/proxyCPU "2" is above the default proxy cpu limit "500m"; the limit was raised to "2"']);
  });

  it('reads the configuration at each review, so a live update applies to the next pod', async () => {
    let current: InjectorConfig = defaultInjectorConfig();
    const context = { get config() { return current; }, namespaces, metrics: createWebhookMetrics() } satisfies ReviewContext;
    const image = async () => (patchOf(await reviewAdmission('inject', request() as never, context)).find((operation) => operation.path === '/spec/containers/-')?.value as V1Container).image;
    expect(await image()).toBe('docker.io/istio/proxyv2:1.27.1');
    current = { ...current, tag: '1.28.0' };
    expect(await image()).toBe('docker.io/istio/proxyv2:1.28.0');
  });
});
