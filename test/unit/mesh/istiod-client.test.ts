// How the controller reaches istiod: replicas from the Service's EndpointSlices (ready pods, the
// http-monitoring port), the token file read for every request, and flags that name istiod twice.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { istiodAccess } from '../../../src/cli/run/istiod-options.ts';
import { fetchSyncz, IstiodRefusedError, serviceReplicas } from '../../../src/mesh/istiod-client.ts';

const scratch = mkdtempSync(join(tmpdir(), 'istiod-client-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('serviceReplicas', () => {
  it('asks every ready pod behind the Service on its http-monitoring port, and lists again only after 5 s', async () => {
    const asked: string[] = [];
    const api = {
      listNamespacedEndpointSlice: (request: { namespace: string; labelSelector: string }) => {
        asked.push(`${request.namespace} ${request.labelSelector}`);
        return Promise.resolve({
          items: [{
            addressType: 'IPv4', ports: [{ name: 'grpc-xds', port: 15010 }, { name: 'http-monitoring', port: 15014 }],
            endpoints: [
              { addresses: ['10.0.0.7'], conditions: { ready: true }, targetRef: { name: 'istiod-a' } },
              { addresses: ['10.0.0.8'], conditions: { ready: false }, targetRef: { name: 'istiod-b' } },
            ],
          }],
        });
      },
    } as unknown as DiscoveryV1Api;
    let now = 0;
    const replicas = serviceReplicas(api, 'istio-system', 'istiod', () => now);
    expect(await replicas.list()).toEqual([{ name: 'istiod-a', url: 'http://10.0.0.7:15014' }]);
    now = 4_000;
    await replicas.list();
    now = 5_000;
    await replicas.list();
    expect(asked).toEqual(['istio-system kubernetes.io/service-name=istiod', 'istio-system kubernetes.io/service-name=istiod']);
  });
});

describe('fetchSyncz', () => {
  it('sends the token file, read for every request (the kubelet rotates it), and tells a refusal apart', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      const allowed = req.headers.authorization === 'Bearer second';
      res.writeHead(allowed ? 200 : 403).end(allowed ? '[]' : 'not in DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      const replica = { name: 'istiod-a', url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
      const token = join(scratch, 'token');
      writeFileSync(token, 'first\n');
      await expect(fetchSyncz(replica, token)).rejects.toBeInstanceOf(IstiodRefusedError);
      writeFileSync(token, 'second\n');
      await expect(fetchSyncz(replica, token)).resolves.toEqual([]);
      expect(seen).toEqual(['Bearer first', 'Bearer second']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('istiodAccess', () => {
  const kubeConfig = { makeApiClient: () => ({}) } as unknown as KubeConfig;
  it('is absent without --istiod-url or --istiod-service, and refuses both at once', async () => {
    expect(await istiodAccess({ istiodSettle: 11_000 }, kubeConfig)).toBeUndefined();
    await expect(istiodAccess({ istiodUrl: ['http://istiod:15014'], istiodService: 'istio-system/istiod', istiodSettle: 11_000 }, kubeConfig))
      .rejects.toThrow(/--istiod-url and --istiod-service name istiod twice/);
  });

  it('carries the token file and the settle time to the replicas named', async () => {
    const access = await istiodAccess({ istiodUrl: ['http://istiod-a:15014/'], istiodTokenFile: '/var/run/token', istiodSettle: 4_000 }, kubeConfig);
    expect(access).toMatchObject({ tokenFile: '/var/run/token', settleMs: 4_000 });
    expect(await access?.replicas.list()).toEqual([{ name: 'http://istiod-a:15014/', url: 'http://istiod-a:15014' }]);
    expect((await istiodAccess({ istiodService: 'istio-system/istiod', istiodSettle: 11_000 }, kubeConfig))?.replicas.description).toBe('Service istio-system/istiod');
  });
});
