// A rolling update of the webhook must not fail pod creations: close() lets reviews in flight finish.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import type { NamespaceLabelSource } from '../../../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../../../src/observability/metrics.ts';
import { createWebhookServer } from '../../../src/webhook/server.ts';

describe('graceful shutdown', () => {
  it('finishes a review in flight and refuses new connections after close()', async () => {
    let release: () => void = () => {};
    let arrived: () => void = () => {};
    const reviewArrived = new Promise<void>((resolve) => { arrived = resolve; });
    const slowNamespaces: NamespaceLabelSource = {
      labelsOf: () => new Promise((resolve) => {
        release = () => resolve({ 'istio-injection': 'enabled' });
        arrived();
      }),
      stop: async () => {},
    };
    const server = createWebhookServer({ config: defaultInjectorConfig(), namespaces: slowNamespaces, metrics: createWebhookMetrics(), logger: pino({ level: 'silent' }) });
    const port = await server.listen('127.0.0.1', 0);
    const review = {
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: { uid: 'in-flight', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'mesh', operation: 'CREATE',
        object: { metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
    };
    const inFlight = fetch(`http://127.0.0.1:${port}/inject`, { method: 'POST', body: JSON.stringify(review), headers: { 'content-type': 'application/json' } });
    // Close only once the review is being handled, however slowly the request got there.
    await reviewArrived;
    const closed = server.close();
    release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { response: unknown }).response).toMatchObject({ uid: 'in-flight', allowed: true, patchType: 'JSONPatch' });
    await closed;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
