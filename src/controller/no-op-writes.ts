// A patch that would leave its object as it is costs a request, and — since the API server then
// keeps the resourceVersion and sends no watch event — nothing would bring the controller back.
// Such writes are not sent.
import { applyPatch, type Operation } from 'rfc6902';
import { isDeepStrictEqual } from 'node:util';
import type { Action } from '../rollout/actions.ts';
import type { ObservedState } from '../rollout/observed.ts';
import type { VirtualService } from '../rollout/types.ts';

/** The observed object an action patches; undefined for creations and non-writes. */
export function patchTarget(observed: ObservedState, action: Action): object | undefined {
  switch (action.kind) {
    case 'setWeights':
      // With other VirtualServices to write first, the first one's patch may be its guard alone.
      return (action.before ?? []).length > 0 ? undefined : virtualServiceOf(observed, action.namespace, action.virtualService);
    case 'setManagedRoutes':
      return virtualServiceOf(observed, action.namespace, action.virtualService);
    case 'ensureSubsets':
      return observed.destinationRule;
    case 'updateClaims': {
      const current = action.plural === 'virtualservices' ? virtualServiceOf(observed, action.namespace, action.name) : observed.destinationRule;
      if (current?.metadata.name === action.name) return current;
      return observed.formerClaims?.find(({ plural, object }) => plural === action.plural && object.metadata.name === action.name)?.object;
    }
    case 'addFinalizer':
    case 'removeFinalizer':
      return observed.rollout;
    case 'updateDeployment':
    case 'adoptDeployment':
    case 'orphanDeployment':
    case 'updateWorkload':
      return [...(observed.deployments ?? []), observed.stableDeployment, observed.canaryDeployment, observed.workload].find((d) => d?.metadata?.name === action.name);
    default:
      return undefined;
  }
}

/**
 * True when every operation applies (its `test`s hold) and the result equals the object: the write
 * would change nothing. A failed `test` is no no-op: the API server must refuse it, so that the
 * controller observes again.
 */
export function patchChangesNothing(target: object, patch: Operation[]): boolean {
  // JSON, as the API server sees it: typed client objects hold Dates where the wire has strings.
  const before: unknown = JSON.parse(JSON.stringify(target));
  const after: unknown = JSON.parse(JSON.stringify(target));
  const results = applyPatch(after, structuredClone(patch));
  return results.every((r) => r === null) && isDeepStrictEqual(before, after);
}

/** The observed VirtualService of that name in that namespace (the Rollout's when unset). */
function virtualServiceOf(observed: ObservedState, namespace: string | undefined, name: string): VirtualService | undefined {
  const wanted = namespace ?? observed.rollout.metadata.namespace;
  return [observed.virtualService, ...(observed.otherVirtualServices ?? [])]
    .find((vs) => vs?.metadata.name === name && (vs.metadata.namespace ?? observed.rollout.metadata.namespace) === wanted);
}
