import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * Server-side apply's field ownership is often the largest part of an object and nothing here
 * reads it: dropping it from cached objects bounds the caches' memory by the fields we use.
 */
export function stripManagedFields(object: KubernetesObject): void {
  if (object.metadata?.managedFields !== undefined) delete object.metadata.managedFields;
}
