// The Istio objects a Rollout names, as the controller resolves them (src/rollout/defaults.ts).
import { resolveTrafficRouting, virtualServiceNamespace, type ResolvedTrafficRouting } from '../rollout/defaults.ts';
import { ROLLOUT_GROUP, type TrafficRouting } from '../rollout/types.ts';
import { isRecord, type MeshObject, type ObjectSet } from './objects.ts';

export function isSwitchboardRollout(object: MeshObject): boolean {
  return object.kind === 'Rollout' && object.apiVersion.startsWith(`${ROLLOUT_GROUP}/`);
}

/** The Rollout's traffic routing with the CRD's defaults, or undefined when it is not written. */
export function rolloutRouting(rollout: MeshObject): ResolvedTrafficRouting | undefined {
  const routing = rollout.spec?.trafficRouting;
  if (!isRecord(routing) || typeof routing.host !== 'string' || !isRecord(routing.destinationRule) || typeof routing.destinationRule.name !== 'string') return undefined;
  const refs = Array.isArray(routing.virtualServices) ? routing.virtualServices : [routing.virtualService];
  if (refs.length === 0 || !refs.every((ref) => isRecord(ref) && typeof ref.name === 'string')) return undefined;
  return resolveTrafficRouting(routing as unknown as TrafficRouting);
}

const canarySubsetIndex = new WeakMap<ObjectSet, Map<string, Set<string>>>();

/**
 * "namespace/VirtualService name" → the canary subsets of the Rollouts that route through it,
 * built once per object set: every VirtualService asks.
 */
export function canarySubsetsByVirtualService(objects: ObjectSet): Map<string, Set<string>> {
  let index = canarySubsetIndex.get(objects);
  if (index !== undefined) return index;
  index = new Map();
  for (const rollout of objects.ofKind('Rollout').filter(isSwitchboardRollout)) {
    const routing = rolloutRouting(rollout);
    if (routing === undefined) continue;
    for (const ref of routing.virtualServices) {
      const key = `${virtualServiceNamespace(ref, rollout.metadata.namespace)}/${ref.name}`;
      index.set(key, (index.get(key) ?? new Set()).add(routing.destinationRule.canarySubset));
    }
  }
  canarySubsetIndex.set(objects, index);
  return index;
}

/** "namespace/DestinationRule name" → the subsets a Rollout's controller adds to it. */
export function managedSubsets(objects: ObjectSet): Map<string, string[]> {
  const subsets = new Map<string, string[]>();
  for (const rollout of objects.ofKind('Rollout').filter(isSwitchboardRollout)) {
    const routing = rolloutRouting(rollout);
    if (routing === undefined) continue;
    const key = `${rollout.metadata.namespace}/${routing.destinationRule.name}`;
    subsets.set(key, [...(subsets.get(key) ?? []), routing.destinationRule.stableSubset, routing.destinationRule.canarySubset]);
  }
  return subsets;
}
