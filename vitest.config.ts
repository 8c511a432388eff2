import { defineConfig } from 'vitest/config';

// Integration files share one control plane and run in lanes (`make integration` runs them with
// test/harness/integration-lanes.ts; `vitest run --project 'integration*'` runs them one file at a
// time, cluster-wide ones last):
// - cluster-wide: they change what every namespace depends on (webhook configurations that fail
//   closed, the install's ClusterRoles, CRDs and namespace): one at a time, after the others;
// - two controller lanes, `integration` (every file not listed elsewhere) and `integration-b`,
//   each one file at a time, one lane after the other: a lane's controllers reconcile only the
//   Rollouts labelled with its lane (test/integration/support/lane.ts);
// - without controllers: they start no controller (their Rollouts, unlabelled, are left alone by
//   the lanes' controllers), beside the others.
const CLUSTER_WIDE = ['test/integration/install*.test.ts', 'test/integration/rbac.test.ts'];
const WITHOUT_CONTROLLERS = [
  'test/integration/analysis-client-failures.test.ts', 'test/integration/control-plane.test.ts',
  'test/integration/injector*.test.ts', 'test/integration/istio-crds.test.ts',
  'test/integration/istiod.test.ts', 'test/integration/leader-election.test.ts',
  'test/integration/analyze.test.ts', 'test/integration/cli.test.ts',
];
/** The second controller lane: about half of the controller files' time. */
const CONTROLLERS_B = [
  'test/integration/traffic-strategies.test.ts', 'test/integration/ha.test.ts', 'test/integration/analysis-job.test.ts',
  'test/integration/gates.test.ts', 'test/integration/notifications.test.ts', 'test/integration/rollout-conflicts.test.ts',
  'test/integration/dashboard.test.ts', 'test/integration/shard.test.ts',
];

const integration = {
  environment: 'node' as const,
  // One control plane for every lane: global-setup.ts shares it.
  globalSetup: ['test/harness/global-setup.ts'],
  testTimeout: 180_000,
  hookTimeout: 600_000,
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          ...integration,
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: [...CLUSTER_WIDE, ...WITHOUT_CONTROLLERS, ...CONTROLLERS_B],
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: { ...integration, name: 'integration-b', include: CONTROLLERS_B, sequence: { groupOrder: 1 } },
      },
      {
        test: { ...integration, name: 'integration-without-controllers', include: WITHOUT_CONTROLLERS, sequence: { groupOrder: 1 } },
      },
      {
        test: { ...integration, name: 'integration-cluster-wide', include: CLUSTER_WIDE, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
