// The set of objects analyze judges: from files, from the cluster, or both. Rules read it
// through these accessors only, so that they never care where an object came from.

export interface ObjectMeta {
  name: string;
  /** Filled in by the loader: the flag's or the kubeconfig's namespace when a file leaves it out. */
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  [field: string]: unknown;
}

export interface MeshObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

/** Kinds that exist once per cluster: their namespace is always ''. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace', 'Node', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration',
  'ClusterAnalysisTemplate',
]);

export interface ObjectSet {
  readonly all: readonly MeshObject[];
  /** Whether the set holds what is running (pods, their labels): the live-only rules need it. */
  readonly live: boolean;
  ofKind(kind: string): MeshObject[];
  find(kind: string, namespace: string, name: string): MeshObject | undefined;
}

export function objectKey(object: Pick<MeshObject, 'kind' | 'metadata'>): string {
  return `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`;
}

export function objectSet(objects: readonly MeshObject[], live = false): ObjectSet {
  const byKind = new Map<string, MeshObject[]>();
  const byKey = new Map<string, MeshObject>();
  for (const object of objects) {
    const ofKind = byKind.get(object.kind);
    if (ofKind === undefined) byKind.set(object.kind, [object]);
    else ofKind.push(object);
    byKey.set(objectKey(object), object);
  }
  return {
    all: objects,
    live,
    ofKind: (kind) => byKind.get(kind) ?? [],
    find: (kind, namespace, name) => byKey.get(`${kind}/${namespace}/${name}`),
  };
}

/** Items grouped by a key, in their order: for rules that look up one namespace's pods per object. */
export function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(keyOf(item));
    if (group === undefined) groups.set(keyOf(item), [item]);
    else group.push(item);
  }
  return groups;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A list field of a spec, with every non-object entry dropped (the schema rule reports those). */
export function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

export function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** Whether every label of the selector is on the object (an empty selector selects everything). */
export function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}
