// Two replicas, one Lease: only one acts at a time, and the other takes over when it goes.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { startLeaderElection, type LeaderElector } from '../../src/controller/leader-election.ts';
import { createNamespace, deleteNamespace, eventually, testCluster } from './support/cluster.ts';

const cluster = testCluster();
let namespace: string;
const electors: LeaderElector[] = [];

beforeAll(async () => { namespace = await createNamespace(cluster, 'leases'); });
afterAll(async () => {
  for (const elector of electors) await elector.stop();
  await deleteNamespace(cluster, namespace);
});

function candidate(identity: string, log: string[], lease = 'switchboard-controller'): LeaderElector {
  const elector = startLeaderElection({
    kubeConfig: cluster.kubeConfig, namespace, name: lease, identity, logger: pino({ level: 'silent' }),
    leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300,
    onStartedLeading: () => log.push(`${identity} leads`),
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });
  electors.push(elector);
  return elector;
}

describe('leader election on a Lease', () => {
  it('lets exactly one replica lead, and hands over when the leader steps down', async () => {
    const log: string[] = [];
    const first = candidate('replica-a', log);
    const second = candidate('replica-b', log);
    await eventually('a leader', async () => first.isLeader() || second.isLeader());
    await new Promise((r) => setTimeout(r, 1_500));
    expect([first.isLeader(), second.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = first.isLeader() ? [first, second] : [second, first];
    const lease = await cluster.kubeConfig.makeApiClient((await import('@kubernetes/client-node')).CoordinationV1Api)
      .readNamespacedLease({ namespace, name: 'switchboard-controller' });
    expect(lease.spec?.holderIdentity).toBe(first.isLeader() ? 'replica-a' : 'replica-b');

    await leader.stop();
    await eventually('the follower takes over', async () => follower.isLeader(), 10_000);
    expect(log.filter((line) => line.endsWith('leads'))).toHaveLength(2);
  });

  it("judges expiry by when it saw the lease change, not by the holder's clock", async () => {
    const leases = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
    const hourMs = 3_600_000;
    // A holder whose clock is an hour behind, renewing every 300 ms: by renewTime, long expired.
    await leases.createNamespacedLease({ namespace, body: { metadata: { name: 'skewed' }, spec: { holderIdentity: 'behind', leaseDurationSeconds: 3, renewTime: new V1MicroTime(Date.now() - hourMs) } } });
    let renewing = true;
    const renewals = (async () => {
      while (renewing) {
        const lease = await leases.readNamespacedLease({ namespace, name: 'skewed' });
        if (lease.spec?.holderIdentity !== 'behind') return;
        lease.spec.renewTime = new V1MicroTime(Date.now() - hourMs);
        await leases.replaceNamespacedLease({ namespace, name: 'skewed', body: lease }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const log: string[] = [];
    const standby = candidate('replica-c', log, 'skewed');
    await new Promise((r) => setTimeout(r, 4_500));
    expect(standby.isLeader()).toBe(false);
    renewing = false;
    await renewals;
    await eventually('the standby takes the lease once renewals stop', async () => standby.isLeader(), 15_000);

    // A holder whose clock runs an hour ahead and then dies: taken after the lease duration, not in an hour.
    await leases.createNamespacedLease({ namespace, body: { metadata: { name: 'ahead' }, spec: { holderIdentity: 'ahead', leaseDurationSeconds: 3, renewTime: new V1MicroTime(Date.now() + hourMs) } } });
    const successor = candidate('replica-d', log, 'ahead');
    await eventually('the successor takes the abandoned lease', async () => successor.isLeader(), 15_000);
  });
});
