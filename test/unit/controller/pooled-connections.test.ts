// The controller's API clients reuse TLS connections: a burst of requests over a kubeconfig with a
// client certificate opens a handful of connections, not one per request as client-node's own
// clients do.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeControllerApiClient, TokenBucket } from '../../../src/controller/api-rate-limiter.ts';
import { PooledKubeConfigAuth } from '../../../src/controller/pooled-connections.ts';
import { RolloutClient } from '../../../src/controller/rollout-client.ts';
import { createCertificateAuthority, issueCertificate } from '../../harness/certs.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-pooled-connections-'));
let server: Server;
let kubeConfig: KubeConfig;
let connections = 0;
const clientNames = new Set<string>();

beforeAll(async () => {
  const ca = createCertificateAuthority(join(dir, 'ca'), 'pool-test-ca');
  const serving = issueCertificate(ca, 'apiserver', { commonName: 'apiserver', ipAddresses: ['127.0.0.1'] });
  const client = issueCertificate(ca, 'controller', { commonName: 'switchboard-controller', client: true });
  server = createServer({ cert: readFileSync(serving.certFile), key: readFileSync(serving.keyFile), ca: readFileSync(ca.certFile), requestCert: true, rejectUnauthorized: true }, (request, response) => {
    const peer = (request.socket as import('node:tls').TLSSocket).getPeerCertificate();
    clientNames.add(String(peer.subject?.CN));
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', resourceVersion: '1' } }));
  });
  server.on('secureConnection', () => { connections += 1; });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'local', server: `https://127.0.0.1:${port}`, caFile: ca.certFile, skipTLSVerify: false }],
    users: [{ name: 'controller', certFile: client.certFile, keyFile: client.keyFile }],
    contexts: [{ name: 'local', cluster: 'local', user: 'controller' }],
    currentContext: 'local',
  });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function burst(api: CoreV1Api, requests: number, atOnce: number): Promise<void> {
  for (let sent = 0; sent < requests; sent += atOnce) {
    await Promise.all(Array.from({ length: atOnce }, () => api.readNamespace({ name: 'default' })));
  }
}

describe('pooled connections', () => {
  it('client-node alone opens a TLS connection per request (why the pool exists)', async () => {
    connections = 0;
    await burst(kubeConfig.makeApiClient(CoreV1Api), 20, 4);
    expect(connections).toBe(20);
  });

  it('the controller clients reuse a few connections, authenticated with the kubeconfig certificate, rate limited or not', async () => {
    const auth = new PooledKubeConfigAuth(kubeConfig);
    connections = 0;
    await burst(makeControllerApiClient(kubeConfig, CoreV1Api, auth, undefined), 20, 4);
    await burst(makeControllerApiClient(kubeConfig, CoreV1Api, auth, new TokenBucket({ qps: 1000, burst: 10 })), 20, 4);
    // 40 requests, 4 at a time: a connection is opened only when every pooled one is busy.
    expect(connections).toBeLessThan(20);
    expect(clientNames).toEqual(new Set(['switchboard-controller']));
    await auth.close();
  });
});

describe('the rollout controller\'s rate limits', () => {
  it('are one per API, as a clientset each: Kubernetes\' APIs used up do not hold a read of Istio\'s or of a Rollout', async () => {
    const client = new RolloutClient(kubeConfig, { qps: 1, burst: 2 });
    // The Kubernetes bucket's two tokens, then a third request that waits a second for the next.
    await client.core.readNamespace({ name: 'default' });
    await client.core.readNamespace({ name: 'default' });
    const waiting = client.core.readNamespace({ name: 'default' });
    const started = performance.now();
    await client.readVirtualService('default', 'payments');
    await client.readRollout('default', 'payments');
    expect(performance.now() - started).toBeLessThan(500);
    await waiting;
    expect(performance.now() - started).toBeGreaterThan(500);
    await client.close();
  });
});
