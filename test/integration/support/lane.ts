// The controller lanes of `make integration` (test/harness/integration-lanes.ts) run side by side
// on one control plane. Each lane's controllers reconcile only the Rollouts labelled with that
// lane (a shard selector), so two test files in two lanes never touch each other's Rollouts.
// Outside the lanes (one file run by hand) nothing is labelled and controllers take every Rollout.
export const TEST_LANE_LABEL = 'switchboard.dev/test-lane';

const lane = process.env.SWITCHBOARD_TEST_LANE;

/** The labels a Rollout made by a test carries. */
export function laneLabels(): Record<string, string> {
  return lane === undefined || lane === '' ? {} : { [TEST_LANE_LABEL]: lane };
}

/** A controller's --shard-selector: the test's own requirements (if any) and the lane's. */
export function laneSelector(selector?: string): string | undefined {
  const parts = [selector, lane === undefined || lane === '' ? undefined : `${TEST_LANE_LABEL}=${lane}`]
    .filter((part): part is string => part !== undefined && part !== '');
  return parts.length === 0 ? undefined : parts.join(',');
}
