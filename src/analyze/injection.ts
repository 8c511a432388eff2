// Which namespaces have sidecar injection on, read from their labels as Istio's webhook
// configuration selects them (src/injector/decide.ts applies the same labels to each pod).
import { labelKeys } from '../injector/istio/istio-constants.ts';
import type { MeshObject, ObjectSet } from './objects.ts';

export function injectionEnabled(namespace: MeshObject): boolean {
  const labels = namespace.metadata.labels ?? {};
  const injection = labels[labelKeys.namespaceInjection];
  if (injection === 'disabled') return false;
  return injection === 'enabled' || labels[labelKeys.revision] !== undefined;
}

export function injectionEnabledNamespaces(objects: ObjectSet): MeshObject[] {
  return objects.ofKind('Namespace').filter(injectionEnabled);
}
