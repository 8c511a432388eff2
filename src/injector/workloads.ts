// Where the pods are in a manifest: a Pod itself, the pod template of each workload kind, and the
// items of a List (what `kubectl get -o yaml` prints for several objects).
import type { V1Pod } from '@kubernetes/client-node';
import type { WorkloadIdentity } from './workload-identity.ts';

export type ManifestPath = ReadonlyArray<string | number>;

export interface PodTemplateLocation {
  /** From the document's root to the Pod, or to the pod template ({metadata, spec}). */
  path: ManifestPath;
  /** True when path leads to a whole Pod rather than a template. */
  isPod: boolean;
  /** Prefix that turns a pod field path into this manifest's path, e.g. "spec.template.". */
  fieldPrefix: string;
  workload: WorkloadIdentity;
  /** metadata.namespace as written, '' when absent (the namespace is chosen at apply time). */
  declaredNamespace: string;
}

const templatePaths: Record<string, readonly string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function valueAt(root: unknown, path: ManifestPath): unknown {
  let value = root;
  for (const segment of path) {
    if (Array.isArray(value) && typeof segment === 'number') value = value[segment];
    else if (isObject(value) && typeof segment === 'string') value = value[segment];
    else return undefined;
  }
  return value;
}

export function findPodTemplates(manifest: unknown, basePath: ManifestPath = []): PodTemplateLocation[] {
  if (!isObject(manifest) || typeof manifest.kind !== 'string') return [];
  const kind = manifest.kind;
  if ((kind === 'List' || kind.endsWith('List')) && Array.isArray(manifest.items)) {
    return manifest.items.flatMap((item, index) => findPodTemplates(item, [...basePath, 'items', index]));
  }
  const relativePath = kind === 'Pod' ? [] : templatePaths[kind];
  if (relativePath === undefined || !isObject(valueAt(manifest, relativePath))) return [];
  const metadata = isObject(manifest.metadata) ? manifest.metadata : {};
  const declaredNamespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
  const name = typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? metadata.generateName.replace(/-$/, '') : '';
  return [
    {
      path: [...basePath, ...relativePath],
      isPod: kind === 'Pod',
      fieldPrefix: relativePath.length === 0 ? '' : `${relativePath.join('.')}.`,
      workload: {
        kind,
        apiVersion: typeof manifest.apiVersion === 'string' ? manifest.apiVersion : 'v1',
        name,
        namespace: declaredNamespace || 'default',
      },
      declaredNamespace,
    },
  ];
}

const JOB_KINDS: ReadonlySet<string> = new Set(['Job', 'CronJob']);

/**
 * Pods meant to exit: any pod whose restartPolicy lets it end (Never, OnFailure), which is every
 * pod of a Job or a CronJob (the API server refuses them any other) and every pod a Job owns. A
 * container that never exits keeps such a pod, and its Job, running.
 */
export function runsToCompletion(location: PodTemplateLocation, pod: V1Pod): boolean {
  const policy = pod.spec?.restartPolicy;
  return policy === 'Never' || policy === 'OnFailure' || (policy === undefined && JOB_KINDS.has(location.workload.kind));
}
