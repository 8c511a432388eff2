import { defineConfig } from 'vitest/config';

// Integration files share one control plane and run in lanes (`make integration` runs them with
// test/harness/integration-lanes.ts; `vitest run --project 'integration*'` runs them one file at a
// time, cluster-wide ones last):
// - cluster-wide: they change what every namespace depends on (webhook configurations that fail
//   closed, the install's ClusterRoles, CRDs and namespace): one at a time, after the others;
// - lanes `integration` (every file not listed elsewhere) and `integration-b`, one after the
//   other, whose controllers follow istiod's pushes: beside each other their proxies would see
//   each other's changes and fall behind;
// - lane `integration-c` beside those two: the files that start no controller, and controller
//   files whose data plane is the simulator, not istiod's.
// Each lane's controllers reconcile only the Rollouts labelled with its lane
// (test/integration/support/lane.ts), so files of two lanes never touch each other's Rollouts.
const CLUSTER_WIDE = ['test/integration/install*.test.ts', 'test/integration/rbac.test.ts'];
const LANE_C = [
  'test/integration/analysis-client-failures.test.ts', 'test/integration/control-plane.test.ts',
  'test/integration/injector*.test.ts', 'test/integration/istio-crds.test.ts',
  'test/integration/istiod.test.ts', 'test/integration/leader-election.test.ts',
  'test/integration/analyze.test.ts', 'test/integration/cli.test.ts',
  'test/integration/rollout-safety.test.ts',
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
          exclude: [...CLUSTER_WIDE, ...LANE_C, ...CONTROLLERS_B],
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: { ...integration, name: 'integration-b', include: CONTROLLERS_B, sequence: { groupOrder: 1 } },
      },
      {
        test: { ...integration, name: 'integration-c', include: LANE_C, sequence: { groupOrder: 1 } },
      },
      {
        test: { ...integration, name: 'integration-cluster-wide', include: CLUSTER_WIDE, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
