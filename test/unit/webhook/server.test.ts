import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultInjectorConfig } from '../../../src/injector/config.ts';
import { staticNamespaceLabels } from '../../../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../../../src/observability/metrics.ts';
import { createWebhookServer, type WebhookServer } from '../../../src/webhook/server.ts';

const server: WebhookServer = createWebhookServer({
  config: defaultInjectorConfig(),
  namespaces: staticNamespaceLabels({ mesh: { 'istio-injection': 'enabled' }, plain: {} }),
  metrics: createWebhookMetrics(),
  logger: pino({ level: 'silent' }),
});
beforeAll(async () => { await server.app.ready(); });
afterAll(async () => { await server.close(); });

function review(pod: unknown, overrides: Record<string, unknown> = {}) {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: 'b6a1-4f', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'mesh', operation: 'CREATE', object: pod, ...overrides,
    },
  };
}

const pod = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'nginx', ...extra }] },
});

async function post(url: string, payload: unknown) {
  return server.app.inject({ method: 'POST', url, payload: payload as object });
}

describe('POST /inject', () => {
  it('answers with the request uid and a base64 JSON patch that adds the sidecar', async () => {
    const response = await post('/inject', review(pod()));
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.response.uid).toBe('b6a1-4f');
    expect(body.response.allowed).toBe(true);
    expect(body.response.patchType).toBe('JSONPatch');
    const patch = JSON.parse(Buffer.from(body.response.patch, 'base64').toString()) as { op: string; path: string; value?: unknown }[];
    expect(JSON.stringify(patch)).toContain('istio-proxy');
    expect(patch.some((op) => op.path.startsWith('/metadata/annotations/sidecar.istio.io~1status')
      || (op.path === '/metadata/annotations' && JSON.stringify(op.value).includes('sidecar.istio.io/status')))).toBe(true);
  });

  it('leaves pods in unlabelled namespaces alone', async () => {
    const body = (await post('/inject', review(pod(), { namespace: 'plain' }))).json();
    expect(body.response).toEqual({ uid: 'b6a1-4f', allowed: true });
  });

  it('refuses a pod whose container runs as the proxy UID, naming container and field', async () => {
    const body = (await post('/inject', review(pod({ securityContext: { runAsUser: 1337 } })))).json();
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.code).toBeGreaterThanOrEqual(400);
    expect(body.response.status.message).toContain('web');
    expect(body.response.status.message).toContain('runAsUser');
  });

  it('allows objects that are not pods without a patch', async () => {
    const body = (await post('/inject', review({ kind: 'Service' }, { kind: { group: '', version: 'v1', kind: 'Service' } }))).json();
    expect(body.response).toEqual({ uid: 'b6a1-4f', allowed: true });
  });
});

describe('POST /validate', () => {
  it('refuses runAsGroup 1337 set on the pod security context', async () => {
    const refused = { ...pod(), spec: { securityContext: { runAsGroup: 1337 }, containers: [{ name: 'web', image: 'nginx' }] } };
    const body = (await post('/validate', review(refused))).json();
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.message).toContain('runAsGroup');
    expect(body.response.patch).toBeUndefined();
  });
});

describe('malformed requests', () => {
  const cases: [string, unknown, string][] = [
    ['a JSON array', [], 'JSON object'],
    ['a wrong apiVersion', { ...review(pod()), apiVersion: 'admission.k8s.io/v1beta1' }, 'apiVersion'],
    ['a wrong kind', { ...review(pod()), kind: 'Pod' }, 'kind must be AdmissionReview'],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request is missing'],
    ['no uid', review(pod(), { uid: undefined }), 'uid'],
    ['an object that is a string', review('pod'), 'request.object'],
  ];
  it.each(cases)('answers 400 to %s', async (_name, payload, reason) => {
    const response = await post('/inject', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toContain(reason);
  });

  it('answers 400 to invalid JSON', async () => {
    const response = await server.app.inject({ method: 'POST', url: '/inject', payload: '{"apiVersion": ', headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(400);
  });

  it('answers 413 to a body over the limit', async () => {
    const huge = JSON.stringify(review({ ...pod(), metadata: { name: 'x', annotations: { big: 'x'.repeat(9 * 1024 * 1024) } } }));
    const response = await server.app.inject({ method: 'POST', url: '/inject', payload: huge, headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(413);
  });

  it('never answers 5xx to thousands of generated bodies', async () => {
    const podLike = fc.record({
      metadata: fc.option(fc.record({ name: fc.string(), labels: fc.option(fc.dictionary(fc.string(), fc.anything())), annotations: fc.option(fc.dictionary(fc.string(), fc.anything())) })),
      spec: fc.option(fc.record({ containers: fc.oneof(fc.anything(), fc.array(fc.record({ name: fc.anything(), securityContext: fc.anything(), env: fc.anything(), ports: fc.anything() }))), securityContext: fc.anything(), initContainers: fc.anything(), hostNetwork: fc.anything() })),
    });
    const body = fc.oneof(
      fc.anything(),
      podLike.map((p) => review(p)),
      fc.record({ apiVersion: fc.constantFrom('admission.k8s.io/v1', 'v1'), kind: fc.constantFrom('AdmissionReview', 'x'), request: fc.anything() }),
      podLike.chain((p) => fc.record({ uid: fc.anything(), operation: fc.anything(), namespace: fc.anything(), subResource: fc.anything(), kind: fc.anything() }).map((o) => review(p, o))),
    );
    await fc.assert(fc.asyncProperty(body, async (payload) => {
      const response = await server.app.inject({ method: 'POST', url: '/inject', payload: JSON.stringify(payload) ?? 'null', headers: { 'content-type': 'application/json' } });
      expect(response.statusCode).toBeLessThan(500);
    }), { numRuns: 3000 });
    // 3,000 requests take 2-3 s alone; the budget covers a machine shared with other builds.
  }, 60_000);
});

describe('health and metrics', () => {
  it('serves /healthz, /readyz and Prometheus metrics', async () => {
    expect((await server.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await server.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const metrics = await server.app.inject({ url: '/metrics' });
    expect(metrics.body).toContain('switchboard_webhook_requests_total');
    expect(metrics.body).toContain('switchboard_webhook_duration_seconds_bucket');
    expect(metrics.body).toContain('switchboard_injections_total');
  });
});
