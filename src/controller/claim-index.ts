// Which VirtualServices and DestinationRules carry each Rollout's claims (rollout/routing/claims.ts), kept
// from the informers' events. A Rollout whose spec moved to another VirtualService still holds
// its claims on the old one; this index is how its next pass finds them to let them go, without
// scanning every object of the namespace on every pass.
import type { KubernetesObject } from '@kubernetes/client-node';
import { ownerRef, readClaims, type RoutingObject, type RoutingPlural } from '../rollout/routing/claims.ts';

export interface ClaimedObject {
  plural: RoutingPlural;
  namespace: string;
  name: string;
}

export class ClaimIndex {
  /** "namespace/rollout" → "plural/name" of the objects it claims. */
  private readonly byRollout = new Map<string, Set<string>>();
  /** "plural/namespace/name" → the Rollouts it names, to undo an object's previous entries. */
  private readonly byObject = new Map<string, Set<string>>();

  /** Records an object's claims as the informer saw it; a deleted object claims nothing. */
  update(plural: RoutingPlural, object: KubernetesObject, deleted: boolean): void {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    const objectKey = `${plural}/${namespace}/${name}`;
    const owners = deleted ? new Set<string>() : new Set(Object.values(readClaims(object as RoutingObject)));
    const entry = `${plural}/${namespace}/${name}`;
    for (const owner of this.byObject.get(objectKey) ?? []) {
      if (!owners.has(owner)) this.remove(rolloutKey(owner, namespace), entry);
    }
    for (const owner of owners) {
      const key = rolloutKey(owner, namespace);
      const claimed = this.byRollout.get(key) ?? new Set<string>();
      claimed.add(entry);
      this.byRollout.set(key, claimed);
    }
    if (owners.size === 0) this.byObject.delete(objectKey);
    else this.byObject.set(objectKey, owners);
  }

  /** The Rollouts an object's claims name (their claims may need letting go or taking over), as namespace and name. */
  ownersOf(plural: RoutingPlural, namespace: string, name: string): { namespace: string; name: string }[] {
    return [...(this.byObject.get(`${plural}/${namespace}/${name}`) ?? [])].map((owner) => ownerRef(owner, namespace));
  }

  claimedBy(namespace: string, rollout: string): ClaimedObject[] {
    return [...(this.byRollout.get(`${namespace}/${rollout}`) ?? [])].map((entry) => {
      const [plural, objectNamespace, name] = entry.split('/') as [RoutingPlural, string, string];
      return { plural, namespace: objectNamespace, name };
    });
  }

  private remove(rolloutKey: string, entry: string): void {
    const claimed = this.byRollout.get(rolloutKey);
    if (claimed === undefined) return;
    claimed.delete(entry);
    if (claimed.size === 0) this.byRollout.delete(rolloutKey);
  }
}

/** "namespace/name" of the Rollout a claim on an object of `objectNamespace` names. */
function rolloutKey(owner: string, objectNamespace: string): string {
  const ref = ownerRef(owner, objectNamespace);
  return `${ref.namespace}/${ref.name}`;
}
