// istiod in the local control plane: it validates Istio objects through its own webhook, and
// simulated sidecars connected to its xDS port route only by what it has pushed and they have
// applied, late when they are slow, into a "no healthy upstream" when a subset has no pods.
import { AdmissionregistrationV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { routeRequest } from '../harness/envoy-routing.ts';
import { ISTIO_VALIDATOR_NAME, getJson, httpStatus } from '../harness/istiod.ts';
import { sidecarIdentity, startSidecar, type AppliedRoutes, type SimulatedSidecar } from '../harness/sidecar.ts';
import { TrafficSimulator } from '../harness/traffic-simulator.ts';
import { createNamespace, deleteNamespace, eventually, installCrds, kubectl, testCluster } from './support/cluster.ts';

const cluster = testCluster();
const istiod = inject('istiod');

interface SyncStatus { proxy?: string; route_sent?: string; route_acked?: string }
interface ConfigDump { kind: string; metadata: { name: string; namespace: string; resourceVersion: string } }

async function apply(documents: object[]): Promise<void> {
  await kubectl(['apply', '-f', '-'], documents.map((d) => stringify(d)).join('---\n'));
}

function virtualService(namespace: string, http: object[]): object {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web', namespace }, spec: { hosts: ['web'], http } };
}

const to = (subset: string, weight: number) => ({ destination: { host: 'web', subset }, weight });

describe.skipIf(!istiod)('istiod in the local control plane', () => {
  const addresses = istiod!;
  let namespace: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    // Installed after istiod started (on a fresh cluster): it must pick them up when they appear.
    await installCrds(cluster, ['crds/istio/networking.istio.io_virtualservices.yaml', 'crds/istio/networking.istio.io_destinationrules.yaml', 'crds/istio/networking.istio.io_sidecars.yaml']);
    namespace = await createNamespace(cluster, 'istiod');
    // The proxies here see this namespace only, as in a cluster that scopes them: the rollouts of
    // the tests beside this file change routes all the time, and istiod would push each change to
    // them (a slow sidecar would never be done applying).
    await apply([{ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace }, spec: { egress: [{ hosts: ['./*'] }] } }]);
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await deleteNamespace(cluster, namespace);
  });

  it('is ready, and has taken over Istio\'s validating webhook', async () => {
    expect(await httpStatus(`${addresses.httpUrl}/ready`)).toBe(200);
    const admission = cluster.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const webhook = (await admission.readValidatingWebhookConfiguration({ name: ISTIO_VALIDATOR_NAME })).webhooks?.[0];
    expect(webhook?.clientConfig.url).toBe(addresses.validationUrl);
    expect(webhook?.clientConfig.caBundle).toBeTruthy();
    expect(webhook?.failurePolicy).toBe('Fail');
  });

  it('refuses an object the CRD schema accepts but Istio does not, with istiod\'s message', async () => {
    const bad = virtualService(namespace, [{ route: [to('v1_bad!', 100)] }]);
    await expect(apply([bad])).rejects.toThrow(
      'admission webhook "rev.validation.istio.io" denied the request: configuration is invalid: subset name is invalid: v1_bad!');
  });

  it('accepts a valid VirtualService and sees it, though its CRD came after istiod', async () => {
    await apply([{ ...virtualService(namespace, [{ route: [to('v1', 100)] }]), metadata: { name: 'accepted', namespace } }]);
    const stored = await cluster.custom.getNamespacedCustomObject({
      group: 'networking.istio.io', version: 'v1', namespace, plural: 'virtualservices', name: 'accepted',
    }) as { metadata: { resourceVersion: string } };
    await eventually('istiod\'s /debug/configz to show VirtualService accepted', async () => {
      const configs = await getJson<ConfigDump[]>(`${addresses.httpUrl}/debug/configz`);
      return configs.some((c) => c.kind === 'VirtualService' && c.metadata.namespace === namespace
        && c.metadata.name === 'accepted' && c.metadata.resourceVersion === stored.metadata.resourceVersion);
    });
    await kubectl(['delete', 'virtualservice', 'accepted', '-n', namespace]);
  });

  describe('simulated sidecars', () => {
    const host = () => `web.${namespace}.svc.cluster.local`;
    const cluster80 = (subset: string) => `outbound|80|${subset}|${host()}`;
    let callers: V1Pod[];
    let prompt: SimulatedSidecar;
    let slow: SimulatedSidecar;
    let byPrompt: TrafficSimulator;
    let bySlow: TrafficSimulator;

    /** Requests the simulator counted from the caller's side that reached the subset's pods. */
    async function sent(simulator: TrafficSimulator, subset: string): Promise<number> {
      const metric = await simulator.registry.getSingleMetric('istio_requests_total')!.get();
      return metric.values
        .filter((v) => v.labels.reporter === 'source' && v.labels.response_flags === '-' && v.labels.destination_version === subset)
        .reduce((sum, v) => sum + v.value, 0);
    }

    /** The weight of each cluster of the catch-all route (the last one), by subset. */
    function catchAll(applied: AppliedRoutes | undefined): Record<string, number> {
      return Object.fromEntries((applied?.routes.at(-1)?.clusters ?? []).map((c) => [c.name.split('|')[2] || 'default', c.weight]));
    }

    async function proxyStatus(proxyId: string): Promise<SyncStatus | undefined> {
      const statuses = await getJson<SyncStatus[]>(`${addresses.httpUrl}/debug/syncz?namespace=${namespace}`);
      return statuses.find((s) => s.proxy === proxyId);
    }

    beforeAll(async () => {
      const labelsOf = (app: string, version?: string) => ({ app, ...(version ? { version } : {}) });
      const deployment = (name: string, labels: Record<string, string>, replicas: number, port: number) => ({
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
        spec: {
          replicas, selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: labels.app, image: `${labels.app}:1.0`, ports: [{ containerPort: port }] }] } },
        },
      });
      const service = (name: string, port: number, targetPort: number) => ({
        apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
        spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort }] },
      });
      await apply([
        service('web', 80, 8080), service('checkout', 8080, 8080),
        deployment('web-v1', labelsOf('web', 'v1'), 2, 8080), deployment('web-v2', labelsOf('web', 'v2'), 1, 8080),
        deployment('checkout', labelsOf('checkout'), 2, 8080),
        {
          apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web', namespace },
          spec: { host: 'web', subsets: ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })) },
        },
      ]);
      await eventually('checkout and web pods Running with IPs', async () => {
        const pods = (await cluster.core.listNamespacedPod({ namespace })).items;
        const ready = pods.filter((p) => p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        callers = ready.filter((p) => p.metadata?.labels?.app === 'checkout');
        return callers.length === 2 && ready.length === 5;
      }, 120_000);
      const start = (pod: V1Pod, applyDelaySeconds: number) => startSidecar({
        xdsAddress: addresses.xdsAddress, pod: sidecarIdentity(pod), host: host(), port: 80, applyDelaySeconds, logDir: cluster.logDir,
      });
      prompt = await start(callers[0]!, 0);
      cleanups.push(() => prompt.stop());
      slow = await start(callers[1]!, 10);
      cleanups.push(() => slow.stop());
      const simulator = (sidecar: SimulatedSidecar) => new TrafficSimulator({
        namespace, host: 'web', routeBy: { sidecar }, requestsPerSecond: 500,
        requestHeaders: [{ share: 0.1, headers: { 'X-Beta-User': 'true' } }],
        workloads: { v1: 'web-v1', v2: 'web-v2', v3: 'web-v3' },
        behaviour: { v1: { errorRate: 0, latencyMs: 10 }, v2: { errorRate: 0, latencyMs: 10 } },
      });
      byPrompt = simulator(prompt);
      bySlow = simulator(slow);
      await byPrompt.start();
      cleanups.push(() => byPrompt.stop());
      await bySlow.start();
      cleanups.push(() => bySlow.stop());
    });

    it('learn the host\'s clusters and their endpoints from istiod, before any VirtualService', async () => {
      await eventually('the sidecar to have applied the web Service\'s route and endpoints', async () => {
        const applied = prompt.applied();
        return catchAll(applied).default === 100 && applied?.clusters[cluster80('v1')]?.endpoints.length === 2
          && applied.clusters[cluster80('v2')]?.endpoints.length === 1 && applied.clusters[cluster80('')]?.endpoints.length === 3;
      });
      const applied = prompt.applied()!;
      expect(applied.clusters[cluster80('v3')]).toEqual({ known: true, endpoints: [] });
      expect(applied.clusters[cluster80('v1')]!.endpoints.every((e) => e.healthy && e.address.startsWith('10.244.'))).toBe(true);
    });

    it('routes 80/20 and by header once istiod has pushed the VirtualService, and the simulator follows', async () => {
      await apply([virtualService(namespace, [
        { match: [{ headers: { 'x-beta-user': { exact: 'true' } } }], route: [to('v2', 100)] },
        { route: [to('v1', 80), to('v2', 20)] },
      ])]);
      await eventually('the sidecar to have applied the 80/20 split', async () => {
        const weights = catchAll(prompt.applied());
        return weights.v1 === 80 && weights.v2 === 20;
      });
      const applied = prompt.applied()!;
      expect(applied.routes).toHaveLength(2);
      expect(applied.routes[0]!.match.headers).toEqual([{ name: 'x-beta-user', exact: 'true' }]);
      for (let i = 0; i < 50; i++) {
        expect(routeRequest(applied, { path: '/', headers: { 'x-beta-user': 'true' } })).toMatchObject({ kind: 'upstream', subset: 'v2' });
      }
      // What the sidecar reports applied is what istiod saw it ACK.
      await eventually('istiod to see the sidecar\'s ACK of that route', async () => {
        const status = await proxyStatus(prompt.proxyId);
        return status?.route_acked === prompt.applied()!.acked.rds.nonce && status.route_sent === status.route_acked;
      });

      const [v1, v2] = [await sent(byPrompt, 'v1'), await sent(byPrompt, 'v2')];
      await eventually('2000 more requests routed by those routes', async () => await sent(byPrompt, 'v1') + await sent(byPrompt, 'v2') - v1 - v2 >= 2000);
      const share = (await sent(byPrompt, 'v2') - v2) / (await sent(byPrompt, 'v1') + await sent(byPrompt, 'v2') - v1 - v2);
      // The 10% of beta users all go to v2, 20% of the others too: 28%. Over at least 2000
      // requests the standard deviation is about one point.
      expect(share).toBeGreaterThan(0.24);
      expect(share).toBeLessThan(0.32);
      expect(byPrompt.currentWeights()).toEqual({ v1: 80, v2: 20 });
    });

    it('a slow sidecar keeps routing by the old weights until it has applied the push', async () => {
      await eventually('the slow sidecar to have applied the 80/20 split (10 s late)', async () => {
        const weights = catchAll(slow.applied());
        return weights.v1 === 80 && weights.v2 === 20;
      }, 90_000);
      await eventually('the slow sidecar to have nothing pending', async () => slow.pendingPushes() === 0, 90_000);
      const oldNonce = slow.applied()!.acked.rds.nonce;

      await apply([virtualService(namespace, [{ route: [to('v1', 0), to('v2', 100)] }])]);
      await eventually('the prompt sidecar to have applied v2=100', async () => catchAll(prompt.applied()).v2 === 100);
      await eventually('istiod to have pushed the new route to the slow sidecar, not yet ACKed', async () => {
        const status = await proxyStatus(slow.proxyId);
        return slow.pendingPushes() > 0 && status?.route_acked === oldNonce && status.route_sent !== oldNonce;
      });
      // Pushed and received, not applied: the slow sidecar still sends four requests in five to v1.
      const v1 = await sent(bySlow, 'v1');
      await eventually('100 more requests to v1 through the slow sidecar', async () => await sent(bySlow, 'v1') - v1 >= 100);
      expect(slow.applied()!.acked.rds.nonce).toBe(oldNonce);
      expect(catchAll(slow.applied())).toEqual({ v1: 80, v2: 20 });

      await eventually('the slow sidecar to have applied v2=100', async () => catchAll(slow.applied()).v2 === 100, 60_000);
      await eventually('istiod to see the slow sidecar\'s ACK', async () => {
        const status = await proxyStatus(slow.proxyId);
        return status?.route_acked === slow.applied()!.acked.rds.nonce && status.route_sent === status.route_acked;
      });
      // From then on, nothing more to v1 (each tick routes by the config applied when it runs).
      const [after1, after2] = [await sent(bySlow, 'v1'), await sent(bySlow, 'v2')];
      await eventually('500 more requests to v2 through the slow sidecar', async () => await sent(bySlow, 'v2') - after2 >= 500);
      expect(await sent(bySlow, 'v1')).toBe(after1);
    });

    it('a subset without endpoints gives 503 with flag UH, reported by the caller\'s proxy only', async () => {
      await apply([virtualService(namespace, [{ route: [to('v2', 50), to('v3', 50)] }])]);
      await eventually('the sidecar to have applied v2/v3', async () => catchAll(prompt.applied()).v3 === 50);
      expect(prompt.applied()!.clusters[cluster80('v3')]).toEqual({ known: true, endpoints: [] });
      const metric = () => byPrompt.registry.getSingleMetric('istio_requests_total')!.get();
      const uh = async () => (await metric()).values
        .filter((v) => v.labels.response_code === '503' && v.labels.response_flags === 'UH')
        .reduce((sum, v) => sum + v.value, 0);
      const before = await uh();
      await eventually('200 more UH 503s', async () => await uh() - before >= 200);
      const values = (await metric()).values.filter((v) => v.labels.response_flags === 'UH');
      expect(values.every((v) => v.labels.reporter === 'source' && v.labels.destination_workload === 'unknown')).toBe(true);
      expect((await metric()).values.some((v) => v.labels.reporter === 'destination' && v.labels.destination_version === 'v3')).toBe(false);
    });
  });
});
