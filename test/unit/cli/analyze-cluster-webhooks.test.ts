// analyze --cluster reads the cluster's MutatingWebhookConfigurations whatever -n says (SB1901); a
// user who may not list them still gets the rest of the analysis, and a note. Against a small fake
// API server: every Istio and Switchboard resource type is "not served".
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { readClusterObjects } from '../../../src/cli/analyze/analyze-cluster.ts';

const webhooks = {
  apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfigurationList',
  items: [{ metadata: { name: 'istio-sidecar-injector' }, webhooks: [{ name: 'namespace.sidecar-injector.istio.io', clientConfig: { service: { name: 'istiod', namespace: 'istio-system' } } }] }],
};

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function fakeApiServer(webhookStatus: number): Promise<KubeConfig> {
  server = createServer((request, response) => {
    const send = (status: number, body: object) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const path = request.url?.split('?')[0] ?? '';
    if (path === '/api/v1/namespaces/shop') return send(200, { metadata: { name: 'shop', uid: 'u1' } });
    if (path === '/api/v1/namespaces/shop/pods' || path === '/api/v1/namespaces/shop/services') return send(200, { items: [] });
    if (path === '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations') {
      return webhookStatus === 200 ? send(200, webhooks) : send(webhookStatus, { kind: 'Status', code: webhookStatus, reason: 'Forbidden', message: 'forbidden' });
    }
    return send(404, { kind: 'Status', code: 404, reason: 'NotFound' });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'user' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'user', namespace: 'shop' }],
    currentContext: 'fake',
  });
  return kubeConfig;
}

describe('readClusterObjects and the injection webhooks', () => {
  it('reads them as cluster-wide objects, with -n too', async () => {
    const read = await readClusterObjects(await fakeApiServer(200), { namespace: 'shop' }, 'istio-system');
    const found = read.objects.filter((object) => object.kind === 'MutatingWebhookConfiguration');
    expect(found.map((object) => `${object.apiVersion} ${object.metadata.namespace}/${object.metadata.name}`)).toEqual(['admissionregistration.k8s.io/v1 /istio-sidecar-injector']);
    expect(read.forbidden).toEqual([]);
  });

  it('goes on without them when RBAC forbids listing them, and says so', async () => {
    const read = await readClusterObjects(await fakeApiServer(403), { namespace: 'shop' }, 'istio-system');
    expect(read.objects.map((object) => object.kind)).toEqual(['Namespace']);
    expect(read.forbidden).toEqual(['mutatingwebhookconfigurations.admissionregistration.k8s.io']);
  });

  it('fails on another error, naming the resource', async () => {
    await expect(readClusterObjects(await fakeApiServer(500), { namespace: 'shop' }, 'istio-system'))
      .rejects.toThrow(/mutatingwebhookconfigurations\.admissionregistration\.k8s\.io/);
  });
});
