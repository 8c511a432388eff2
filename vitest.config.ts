import { defineConfig } from 'vitest/config';

// Integration files share one control plane and run in three lanes (`make integration` runs them
// with test/harness/integration-lanes.ts; `vitest run --project 'integration*'` runs them one file
// at a time, cluster-wide ones last):
// - cluster-wide: they change what every namespace depends on (webhook configurations that fail
//   closed, the install's ClusterRoles, CRDs and namespace): one at a time, after the others;
// - without controllers: they create no Rollout and start no controller, so they can run beside
//   the controller files, whose controllers reconcile every Rollout they see (a vitest process of
//   their own);
// - the rest, one at a time: two controllers from two files would reconcile each other's Rollouts.
const CLUSTER_WIDE = ['test/integration/install*.test.ts', 'test/integration/rbac.test.ts', 'test/integration/dashboard.test.ts'];
const WITHOUT_CONTROLLERS = [
  'test/integration/analysis-client-failures.test.ts', 'test/integration/control-plane.test.ts',
  'test/integration/injector*.test.ts', 'test/integration/istio-crds.test.ts',
  'test/integration/istiod.test.ts', 'test/integration/leader-election.test.ts',
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
          exclude: [...CLUSTER_WIDE, ...WITHOUT_CONTROLLERS],
          sequence: { groupOrder: 1 },
        },
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
