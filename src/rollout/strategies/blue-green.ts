// Blue-green as the steps it stands for: the new version (the canary track, reached through the
// canary subset: the preview) at full size without production traffic, open to testers through an
// optional header route; promoted automatically (at once, or after autoPromotionSeconds) or by
// `switchboard promote`; then all traffic switched to it in one write, watched alone for
// postPromotionSeconds while the old version keeps every pod, and rolled back at once if the
// analysis fails. The controller walks these steps like any other, so every guarantee of a canary
// (analysis gates, data-plane confirmation, scale-down delays, restarts) holds unchanged.
import type { BlueGreenSpec, RolloutStep } from '../types.ts';

export const DEFAULT_PREVIEW_ROUTE = 'preview';
const FULL_SIZE = { weight: 100 };

/**
 * The steps of a blue-green release, in order. Sizes are shares of spec.replicas, never its value:
 * an autoscaler changing spec.replicas must not change the steps (which would restart them).
 */
export function blueGreenSteps(blueGreen: BlueGreenSpec): RolloutStep[] {
  const preview = blueGreen.previewRoute;
  const count = blueGreen.previewReplicaCount;
  const steps: RolloutStep[] = [{ setCanaryScale: count === undefined ? FULL_SIZE : { replicas: count } }];
  if (preview !== undefined) steps.push({ setHeaderRoute: { name: preview.name ?? DEFAULT_PREVIEW_ROUTE, match: preview.match } });
  if (blueGreen.autoPromotionEnabled === false) steps.push({ pause: {} });
  else if ((blueGreen.autoPromotionSeconds ?? 0) > 0) steps.push({ pause: { duration: `${blueGreen.autoPromotionSeconds}s` } });
  // The switch: at full size first, then every request in one write.
  if (count !== undefined) steps.push({ setCanaryScale: FULL_SIZE });
  steps.push({ setWeight: 100 });
  if ((blueGreen.postPromotionSeconds ?? 0) > 0) steps.push({ pause: { duration: `${blueGreen.postPromotionSeconds}s` } });
  return steps;
}

/** The header route's name, which the managed routes must list. */
export function previewRouteName(blueGreen: BlueGreenSpec | undefined): string | undefined {
  if (blueGreen?.previewRoute === undefined) return undefined;
  return blueGreen.previewRoute.name ?? DEFAULT_PREVIEW_ROUTE;
}
