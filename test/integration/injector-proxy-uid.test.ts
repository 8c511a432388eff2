// The UID 1337 init-container opt-in through the real API server: refused by default, allowed in a
// namespace the injector config lists (with one admission warning and one Event on the Namespace),
// and an app container as 1337 refused even there. With Istio CNI, the setup the opt-in is for:
// istio-validation, which itself runs as the proxy, passes the guard as the injector's own.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultInjectorConfig } from '../../src/injector/config.ts';
import { watchNamespaceLabels } from '../../src/kube/namespace-labels.ts';
import { createWebhookMetrics } from '../../src/observability/metrics.ts';
import { eventsThrough, proxyIdentityEventReason, proxyIdentityEvents, type ProxyIdentityAudit } from '../../src/webhook/proxy-identity-events.ts';
import { createWebhookServer, type WebhookServer } from '../../src/webhook/server.ts';
import { createCertificateAuthority, issueCertificate } from '../harness/certs.ts';
import { webhookConfigurations } from '../harness/webhook-registration.ts';
import { createNamespace, deleteNamespace, eventually, kubectl, podRefusal, testCluster } from './support/cluster.ts';

const cluster = testCluster();
const runLabel = `proxy-uid-${process.pid}`;
let certDir: string;
let server: WebhookServer;
let audit: ProxyIdentityAudit;
let namespaces: ReturnType<typeof watchNamespaceLabels>;
let optedIn: string;
let notListed: string;

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'switchboard-proxy-uid-'));
  const ca = createCertificateAuthority(certDir, 'switchboard-webhook-ca');
  const serving = issueCertificate(ca, 'serving', { commonName: 'switchboard-webhook', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  copyFileSync(serving.certFile, join(certDir, 'tls.crt'));
  copyFileSync(serving.keyFile, join(certDir, 'tls.key'));
  optedIn = await createNamespace(cluster, 'uid-opted', { 'istio-injection': 'enabled', [runLabel]: 'yes' });
  notListed = await createNamespace(cluster, 'uid-plain', { 'istio-injection': 'enabled', [runLabel]: 'yes' });
  namespaces = watchNamespaceLabels(cluster.webhookClient);
  await namespaces.synced;
  audit = proxyIdentityEvents(eventsThrough(cluster.webhookClient), pino({ level: 'warn' }));
  server = createWebhookServer({
    config: { ...defaultInjectorConfig(), cniEnabled: true, nativeSidecars: false, proxyUidInitContainerNamespaces: [optedIn] },
    namespaces, metrics: createWebhookMetrics(), logger: pino({ level: 'warn' }), proxyIdentityAudit: audit,
    tls: { certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key') },
  });
  const port = await server.listen('127.0.0.1', 0);
  const { mutating, validating } = webhookConfigurations({
    name: runLabel, url: `https://127.0.0.1:${port}`, caFile: ca.certFile,
    namespaceSelector: { matchExpressions: [{ key: runLabel, operator: 'Exists' }] },
  });
  await cluster.objects.create(mutating);
  await cluster.objects.create(validating);
});

afterAll(async () => {
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    await cluster.objects.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name: runLabel } }).catch(() => undefined);
  }
  await audit?.flush();
  await server?.close();
  await namespaces?.stop();
  for (const namespace of [optedIn, notListed]) if (namespace) await deleteNamespace(cluster, namespace);
  rmSync(certDir, { recursive: true, force: true });
});

function fetcher(name: string, appUid?: number): V1Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: {
      initContainers: [{ name: 'fetch-config', image: 'fetch:1', securityContext: { runAsUser: 1337 } }],
      containers: [{ name: 'app', image: 'app:1', ...(appUid === undefined ? {} : { securityContext: { runAsUser: appUid } }) }],
    },
  };
}

async function allowanceEvents(namespace: string): Promise<CoreV1Event[]> {
  const list = await cluster.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Namespace,reason=${proxyIdentityEventReason}` });
  return list.items;
}

const warningLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('Warning: '));

describe('init containers as the proxy UID', () => {
  it('are refused in a namespace the injector config does not list', async () => {
    const refusal = await podRefusal(cluster, notListed, fetcher('refused'));
    expect(refusal).toContain('denied the request');
    expect(refusal).toContain('spec.initContainers[0].securityContext.runAsUser');
  });

  it('are allowed in a listed namespace, with one warning and one Event on the Namespace', async () => {
    // A server-side dry run first: warned, admitted, and no Event, since nothing was stored.
    const dry = await kubectl(['create', '-n', optedIn, '--dry-run=server', '-f', '-'], stringify(fetcher('dry-run')));
    expect(warningLines(dry.stderr)).toHaveLength(1);
    const { stderr } = await kubectl(['create', '-n', optedIn, '-f', '-'], stringify(fetcher('allowed')));
    // The injector and the guard both warn in the same words; the API server passes it on once.
    expect(warningLines(stderr)).toEqual([expect.stringMatching(/^Warning: init container "fetch-config": securityContext\.runAsUser is 1337, the proxy's UID, allowed .*proxyUidInitContainerNamespaces/)]);
    const pod = await cluster.core.readNamespacedPod({ namespace: optedIn, name: 'allowed' });
    expect(pod.spec?.containers.map((container) => container.name)).toContain('istio-proxy');
    expect(pod.spec?.initContainers?.map((container) => [container.name, container.securityContext?.runAsUser])).toEqual([['istio-validation', 1337], ['fetch-config', 1337]]);
    let events: CoreV1Event[] = [];
    await eventually('the allowance Event', async () => (events = await allowanceEvents(optedIn)).length > 0, 20_000);
    await audit.flush();
    events = await allowanceEvents(optedIn);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Namespace', name: optedIn } });
    expect(events[0]?.message).toMatch(/^pod allowed: init container "fetch-config": securityContext\.runAsUser is 1337/);
    expect(await allowanceEvents(notListed)).toEqual([]);
  });

  it('do not open the way for an app container as 1337 in the listed namespace', async () => {
    const refusal = await podRefusal(cluster, optedIn, fetcher('app-too', 1337));
    expect(refusal).toContain('denied the request');
    expect(refusal).toContain('spec.containers[0].securityContext.runAsUser');
    expect(refusal).not.toContain('spec.initContainers[0]');
  });
});
