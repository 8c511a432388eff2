// The DestinationRule half of "DestinationRule before VirtualService": the stable and canary
// subsets must exist and select exactly the pods of each track before any weight points at them
// (Istio answers 503 for a subset that does not exist). The patch adds or repairs only those two
// subsets; other subsets, and the trafficPolicy of ours, are kept.
import type { Operation } from 'rfc6902';
import type { ResolvedTrafficRouting } from '../defaults.ts';
import type { DestinationRule, DestinationRuleSubset, Track } from '../types.ts';

export interface DesiredSubset {
  name: string;
  labels: Record<string, string>;
}

/** The labels each subset selects: those of its role's pods (deployments/deployments.ts podSelector). */
export type SubsetLabels = Record<Track, Record<string, string>>;

export function desiredSubsets(routing: ResolvedTrafficRouting, labels: SubsetLabels): DesiredSubset[] {
  return [
    { name: routing.destinationRule.stableSubset, labels: labels.stable },
    { name: routing.destinationRule.canarySubset, labels: labels.canary },
  ];
}

/** The subset selects every pod of a template with these labels. */
export function selects(subset: DestinationRuleSubset, podLabels: Record<string, string>): boolean {
  return Object.entries(subset.labels ?? {}).every(([key, value]) => podLabels[key] === value);
}

export function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const entries = Object.entries(a ?? {});
  return entries.length === Object.keys(b).length && entries.every(([key, value]) => b[key] === value);
}

export interface SubsetPlan {
  /** Ops that add missing subsets and re-point those that may be re-pointed now; [] when nothing to write. */
  patch: Operation[];
  /** Tracks whose subset selects other pods and must wait for this track's pods before it is re-pointed. */
  pending: Track[];
}

/**
 * Adds missing subsets (a missing subset selects nothing, so adding one cannot take pods away)
 * and re-points subsets whose labels are not their role's, but only where `mayRepoint(track)`:
 * a subset that takes traffic (a live service's `version: v1`, or stable at promotion) is moved
 * only once the pods it will then select are available, so it never selects zero ready pods.
 */
export function planSubsets(
  dr: DestinationRule,
  routing: ResolvedTrafficRouting,
  labels: SubsetLabels,
  mayRepoint: (track: Track) => boolean = () => true,
): SubsetPlan {
  const wanted = desiredSubsets(routing, labels);
  const existing: DestinationRuleSubset[] | undefined = dr.spec?.subsets;
  if (existing === undefined) {
    // Nothing to test field by field: an `add` would replace subsets someone wrote meanwhile,
    // so guard the whole object's version instead.
    const version = dr.metadata.resourceVersion;
    const guard: Operation[] = version === undefined ? [] : [{ op: 'test', path: '/metadata/resourceVersion', value: version }];
    return { patch: [...guard, { op: 'add', path: '/spec/subsets', value: wanted }], pending: [] };
  }
  const repairs: Operation[] = [];
  const missing: DesiredSubset[] = [];
  const pending: Track[] = [];
  for (const [position, subset] of wanted.entries()) {
    const track: Track = position === 0 ? 'stable' : 'canary';
    const index = existing.findIndex((candidate) => candidate.name === subset.name);
    const current = existing[index];
    if (current === undefined) missing.push(subset);
    else if (!sameLabels(current.labels, subset.labels)) {
      if (!mayRepoint(track)) {
        pending.push(track);
        continue;
      }
      repairs.push(
        { op: 'test', path: `/spec/subsets/${index}/name`, value: subset.name },
        { op: 'add', path: `/spec/subsets/${index}/labels`, value: subset.labels },
      );
    }
  }
  const appends = missing.map((value): Operation => ({ op: 'add', path: '/spec/subsets/-', value }));
  const listGuard: Operation[] = missing.length === 0 ? [] : [{ op: 'test', path: '/spec/subsets', value: existing }];
  return { patch: [...listGuard, ...repairs, ...appends], pending };
}

/** Ops that add missing subsets and replace wrong labels; [] when the DestinationRule is already right. */
export function buildSubsetPatch(dr: DestinationRule, routing: ResolvedTrafficRouting, labels: SubsetLabels): Operation[] {
  return planSubsets(dr, routing, labels).patch;
}
