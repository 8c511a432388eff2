// Two replicas, one Lease: only one acts at a time, and the other takes over when it goes.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

function candidate(identity: string, log: string[]): LeaderElector {
  const elector = startLeaderElection({
    kubeConfig: cluster.kubeConfig, namespace, name: 'switchboard-controller', identity, logger: pino({ level: 'silent' }),
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
});
