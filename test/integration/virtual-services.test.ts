// Several VirtualServices against the real API server: the Rollout's own (an http route named
// primary) and one in another namespace that sends a tcp port to the Rollout's host. Each weight
// step reaches both, the cross-namespace claim names the Rollout as namespace/name, and
// promotion leaves both at 100% stable.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, eventually, kubectl, testCluster } from './support/cluster.ts';
import { deployPaymentsRouting, startController } from './support/rollout-env.ts';
import { canaryWeightOf, rolloutSuite, type RouteView } from './support/rollout-scenario.ts';

const cluster = testCluster();
const { readRollout, readVirtualService, createRollout, changeImage, waitForPhase, prometheus, cleanups } = rolloutSuite(cluster);

const TCP_PORT = 9000;

interface TcpVirtualService { metadata: { annotations?: Record<string, string> }; spec: { tcp: RouteView[] } }

async function deployTcpRouting(namespace: string, rolloutNamespace: string): Promise<void> {
  const host = `payments.${rolloutNamespace}.svc.cluster.local`;
  const destination = (subset: string) => ({ host, subset, port: { number: TCP_PORT } });
  await kubectl(['apply', '-f', '-'], stringify({
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'payments-tcp', namespace },
    spec: {
      hosts: [host],
      tcp: [
        // Another port's route, which must be left alone.
        { match: [{ port: 9001 }], route: [{ destination: destination('stable'), weight: 100 }] },
        { match: [{ port: TCP_PORT }], route: [{ destination: destination('stable'), weight: 100 }, { destination: destination('canary'), weight: 0 }] },
      ],
    },
  }));
}

describe('several VirtualServices', () => {
  it('moves an http route and a tcp route of another namespace in the same steps, and promotion leaves both at 100% stable', async () => {
    const namespace = await createNamespace(cluster, 'multi-vs');
    const edge = await createNamespace(cluster, 'multi-vs-edge');
    await deployPaymentsRouting(namespace, { withCanarySubset: true, namedRoutes: true });
    await deployTcpRouting(edge, namespace);
    const controller = startController(prometheus().url, 'multi-vs');
    cleanups.push(async () => {
      await controller.kill('SIGKILL');
      await deleteNamespace(cluster, namespace);
      await deleteNamespace(cluster, edge);
    });
    const readTcp = async () => cluster.custom.getNamespacedCustomObject({
      group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', namespace: edge, name: 'payments-tcp',
    }) as Promise<TcpVirtualService>;
    await createRollout(namespace, 'payments:1.0', {
      trafficRouting: {
        host: 'payments',
        virtualServices: [{ name: 'payments-routing', routes: ['primary'] }, { name: 'payments-tcp', namespace: edge, tcpRoutes: [{ port: TCP_PORT }] }],
        destinationRule: { name: 'payments-destination' },
      },
      steps: [{ setWeight: 30 }, { pause: { duration: '8s' } }],
      analysis: undefined,
    });
    await waitForPhase(namespace, 'Healthy');

    await changeImage(namespace, 'payments:1.1');
    await eventually(`${namespace}: both VirtualServices at 30% canary during the pause`, async () => {
      const [rollout, http, tcp] = await Promise.all([readRollout(namespace), readVirtualService(namespace), readTcp()]);
      return rollout.status?.currentStepIndex === 1 && canaryWeightOf(http.spec.http[1]) === 30 && canaryWeightOf(tcp.spec.tcp[1]) === 30;
    }, 60_000);
    const canaryRevision = (await readRollout(namespace)).status?.canaryRevision;
    expect(canaryRevision).toBeDefined();
    const tcp = await readTcp();
    expect(tcp.spec.tcp[0]!.route.map((d) => [d.destination.subset, d.weight])).toEqual([['stable', 100]]);
    expect(JSON.parse(tcp.metadata.annotations?.['switchboard.dev/managed-by-rollouts'] ?? '{}')).toEqual({ 'tcp/#1': `${namespace}/payments` });

    const promoted = await waitForPhase(namespace, 'Healthy', 90_000);
    expect(promoted.status?.stableRevision).toBe(canaryRevision);
    const [http, tcpAfter] = await Promise.all([readVirtualService(namespace), readTcp()]);
    expect(http.spec.http[1]!.route.map((d) => [d.destination.subset, d.weight])).toEqual([['stable', 100], ['canary', 0]]);
    expect(tcpAfter.spec.tcp[1]!.route.map((d) => [d.destination.subset, d.weight])).toEqual([['stable', 100], ['canary', 0]]);
    expect((await readRollout(namespace)).status?.canaryRevision).toBeUndefined();
  });
});
