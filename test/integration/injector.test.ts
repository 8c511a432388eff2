// The webhook, registered with the real API server through webhook configurations that call
// https://127.0.0.1:PORT, exactly as a cluster calls the in-cluster Service.
import type { V1Pod } from '@kubernetes/client-node';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultInjectorConfig } from '../../src/injector/config.ts';
import { watchNamespaceLabels } from '../../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../../src/observability/metrics.ts';
import { createWebhookServer, type WebhookServer } from '../../src/webhook/server.ts';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from '../harness/certs.ts';
import { webhookConfigurations } from '../harness/webhook-registration.ts';
import { createNamespace, deleteNamespace, eventually, kubectl, testCluster } from './support/cluster.ts';

const cluster = testCluster();
const runLabel = `injector-${process.pid}`;
let certDir: string;
let ca: CertificateAuthority;
let server: WebhookServer;
let port: number;
let namespaces: ReturnType<typeof watchNamespaceLabels>;
let meshNamespace: string;
let plainNamespace: string;

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'switchboard-webhook-'));
  ca = createCertificateAuthority(certDir, 'switchboard-webhook-ca');
  const serving = issueCertificate(ca, 'serving-1', { commonName: 'switchboard-webhook', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  copyFileSync(serving.certFile, join(certDir, 'tls.crt'));
  copyFileSync(serving.keyFile, join(certDir, 'tls.key'));
  namespaces = watchNamespaceLabels(cluster.webhookClient);
  await namespaces.synced;
  server = createWebhookServer({
    config: defaultInjectorConfig(), namespaces, metrics: createWebhookMetrics(), logger: pino({ level: 'warn' }),
    tls: { certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key'), reloadIntervalMs: 200 },
  });
  port = await server.listen('127.0.0.1', 0);
  const { mutating, validating } = webhookConfigurations({
    name: runLabel, url: `https://127.0.0.1:${port}`, caFile: ca.certFile,
    namespaceSelector: { matchExpressions: [{ key: runLabel, operator: 'Exists' }] },
  });
  await cluster.objects.create(mutating);
  await cluster.objects.create(validating);
  meshNamespace = await createNamespace(cluster, 'mesh', { 'istio-injection': 'enabled', [runLabel]: 'yes' });
  plainNamespace = await createNamespace(cluster, 'plain', { [runLabel]: 'yes' });
});

afterAll(async () => {
  // The configurations go first: with failurePolicy Fail they would block pods once we stop serving.
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    await cluster.objects.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name: runLabel } }).catch(() => undefined);
  }
  await deleteNamespace(cluster, meshNamespace);
  await deleteNamespace(cluster, plainNamespace);
  await server?.close();
  await namespaces?.stop();
  rmSync(certDir, { recursive: true, force: true });
});

const labels = { app: 'payments' };
function deployment(name: string, podLabels: Record<string, string> = {}) {
  return {
    metadata: { name },
    spec: {
      replicas: 2, selector: { matchLabels: labels },
      template: { metadata: { labels: { ...labels, ...podLabels } }, spec: { containers: [{ name: 'payments', image: 'payments:1.4.2', ports: [{ containerPort: 8080 }] }] } },
    },
  };
}

async function podsOf(namespace: string): Promise<V1Pod[]> {
  let pods: V1Pod[] = [];
  await eventually(`two pods in ${namespace}`, async () => {
    pods = (await cluster.core.listNamespacedPod({ namespace, labelSelector: 'app=payments' })).items;
    return pods.length === 2;
  });
  return pods;
}

const containerNames = (pod: V1Pod) => (pod.spec?.containers ?? []).map((c) => c.name);

describe('sidecar injection through the API server', () => {
  it('injects the pods of a Deployment in a labelled namespace, and they become Ready', async () => {
    await cluster.apps.createNamespacedDeployment({ namespace: meshNamespace, body: deployment('payments') });
    const pods = await podsOf(meshNamespace);
    for (const pod of pods) {
      expect(containerNames(pod)).toContain('istio-proxy');
      expect((pod.spec?.initContainers ?? []).map((c) => c.name)).toContain('istio-init');
      const proxy = pod.spec!.containers.find((c) => c.name === 'istio-proxy')!;
      expect(proxy.resources?.requests).toEqual({ cpu: '100m', memory: '128Mi' });
      expect(proxy.resources?.limits).toEqual({ cpu: '500m', memory: '256Mi' });
      expect(proxy.securityContext?.runAsUser).toBe(1337);
      expect(pod.metadata?.annotations?.['sidecar.istio.io/status']).toBeDefined();
    }
    await eventually('injected Deployment Available', async () => {
      const d = await cluster.apps.readNamespacedDeployment({ name: 'payments', namespace: meshNamespace });
      return d.status?.readyReplicas === 2;
    });
  });

  it('leaves an unlabelled namespace alone', async () => {
    await cluster.apps.createNamespacedDeployment({ namespace: plainNamespace, body: deployment('payments') });
    for (const pod of await podsOf(plainNamespace)) expect(containerNames(pod)).toEqual(['payments']);
  });

  it('honours a pod that opts out with sidecar.istio.io/inject=false', async () => {
    const pod = await cluster.core.createNamespacedPod({
      namespace: meshNamespace,
      body: { metadata: { name: 'debug', labels: { 'sidecar.istio.io/inject': 'false' } }, spec: { containers: [{ name: 'curl', image: 'curlimages/curl:8.5.0' }] } },
    });
    expect(containerNames(pod)).toEqual(['curl']);
  });

  it('has the API server refuse a pod that runs as UID 1337, with our message', async () => {
    const error = await cluster.core.createNamespacedPod({
      namespace: meshNamespace,
      body: { metadata: { name: 'sneaky' }, spec: { containers: [{ name: 'app', image: 'app:1', securityContext: { runAsUser: 1337 } }] } },
    }).then(() => undefined, (e: unknown) => e as Error);
    expect(error).toBeDefined();
    expect(String(error?.message)).toContain('denied the request');
    expect(String(error?.message)).toContain('spec.containers[0].securityContext.runAsUser');
  });

  it('refuses an ephemeral container that runs as UID 1337 (kubectl debug)', async () => {
    await cluster.core.createNamespacedPod({
      namespace: plainNamespace, body: { metadata: { name: 'target' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    });
    // What `kubectl debug --profile=...` sends, with a security context that takes the proxy's UID.
    const custom = join(certDir, 'debug-profile.json');
    writeFileSync(custom, JSON.stringify({ securityContext: { runAsUser: 1337 } }));
    const error = await kubectl(['debug', '-n', plainNamespace, 'target', '--image=busybox', '--container=debugger', `--custom=${custom}`, '--', 'sh'])
      .then(() => undefined, (e: unknown) => e as Error);
    expect(String(error?.message)).toContain('debugger');
    expect(String(error?.message)).toContain('runAsUser');
  });

  it('serves a certificate rotated on disk without a restart', async () => {
    const before = await servedCertificate();
    const next = issueCertificate(ca, 'serving-2', { commonName: 'switchboard-webhook', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
    copyFileSync(next.keyFile, join(certDir, 'tls.key'));
    copyFileSync(next.certFile, join(certDir, 'tls.crt'));
    const expected = new X509Certificate(readFileSync(next.certFile)).serialNumber;
    await eventually('the rotated certificate served', async () => (await servedCertificate()) === expected, 20_000);
    expect(before).not.toBe(expected);
    const pod = await cluster.core.createNamespacedPod({
      namespace: meshNamespace, body: { metadata: { name: 'after-rotation' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    });
    expect(containerNames(pod)).toContain('istio-proxy');
  });
});

function servedCertificate(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(ca.certFile), servername: 'localhost' }, () => {
      resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
      socket.end();
    });
    socket.on('error', reject);
  });
}
