// Files override the cluster's objects of the same kind, namespace and name, as istioctl analyze
// does: a change is judged against the cluster it will be applied to.
import { objectKey, type MeshObject } from './objects.ts';

export function mergeObjects(cluster: readonly MeshObject[], files: readonly MeshObject[]): MeshObject[] {
  const fromFiles = new Map(files.map((object) => [objectKey(object), object]));
  const kept = cluster.filter((object) => !fromFiles.has(objectKey(object)));
  return [...kept, ...fromFiles.values()];
}
