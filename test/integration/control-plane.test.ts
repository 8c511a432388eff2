import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually, testCluster } from './support/cluster.ts';

const cluster = testCluster();

describe('the local control plane', () => {
  let namespace: string;
  beforeAll(async () => { namespace = await createNamespace(cluster, 'cp'); });
  afterAll(async () => { await deleteNamespace(cluster, namespace); });

  it('has a Ready node that accepts pods', async () => {
    const nodes = await cluster.core.listNode();
    const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    expect(ready.length).toBeGreaterThanOrEqual(1);
    expect(ready.every((n) => (n.spec?.taints ?? []).length === 0)).toBe(true);
  });

  it('runs a Deployment to Available with Running and Ready pods on a kwok node', async () => {
    const labels = { app: 'web' };
    await cluster.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } },
        },
      },
    });
    await eventually('deployment web Available with 3 ready replicas', async () => {
      const deployment = await cluster.apps.readNamespacedDeployment({ name: 'web', namespace });
      return deployment.status?.readyReplicas === 3
        && (deployment.status.conditions ?? []).some((c) => c.type === 'Available' && c.status === 'True');
    });
    const pods = await cluster.core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
    expect(pods.items).toHaveLength(3);
    for (const pod of pods.items) {
      expect(pod.status?.phase).toBe('Running');
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-/);
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      // Outside the service range (10.0.0.0/24): istiod keys proxies and endpoints by IP.
      expect(pod.status?.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    }
  });
});
