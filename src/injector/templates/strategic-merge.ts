// A strategic merge patch of one pod over another, as the API server (and Istio's injector, which
// merges each rendered template over the pod) applies it: mappings merge key by key, a null removes
// the key, the lists Kubernetes marks `patchStrategy: merge` merge item by item on their merge key,
// and every other list is replaced whole.

type Json = Record<string, unknown>;

// The pod's merge lists, by field name: within a pod each name has one meaning, so the field name
// alone picks the merge key (k8s.io/api/core/v1 struct tags).
const mergeKeys: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  resizePolicy: 'resourceName',
  volumes: 'name',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  schedulingGates: 'name',
  ownerReferences: 'uid',
};
// Lists of scalars with the merge strategy: the union, without repeats.
const mergedScalarLists = new Set(['finalizers']);

export function isMapping(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The patch merged over the target; neither is modified. */
export function strategicMerge<T extends object>(target: T, patch: object): T {
  return mergeMapping(target as Json, patch as Json) as T;
}

function mergeMapping(target: Json, patch: Json): Json {
  const merged: Json = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || value === undefined) {
      delete merged[key];
      continue;
    }
    merged[key] = mergeField(key, merged[key], value);
  }
  return merged;
}

function mergeField(key: string, current: unknown, value: unknown): unknown {
  if (current === undefined || current === null) return withoutNulls(value);
  if (isMapping(value)) return isMapping(current) ? mergeMapping(current, value) : withoutNulls(value);
  if (!Array.isArray(value) || !Array.isArray(current)) return value;
  const mergeKey = mergeKeys[key];
  if (mergeKey !== undefined) return mergeKeyedList(current, value, mergeKey);
  if (mergedScalarLists.has(key)) return [...new Set([...current, ...value])];
  return withoutNulls(value);
}

/**
 * Items found by key are merged; then the order Kubernetes gives the result: the patch's items in
 * the patch's order, with the target's other items slotted in where the target had them, before the
 * first patch item that came after them in the target (apimachinery's normalizeElementOrder). So an
 * item only the patch has goes before the target's items: a template's init container runs first.
 */
function mergeKeyedList(current: unknown[], patch: unknown[], key: string): unknown[] {
  const keyOf = (item: unknown) => (isMapping(item) ? item[key] : undefined);
  // Each patch item merges into the first item with its key, or is appended; a repeated key in
  // the target (two variables of one name) keeps its later items as they are.
  const merged = [...current];
  const patchItems = patch.filter(isMapping);
  for (const item of patchItems) {
    const index = merged.findIndex((candidate) => keyOf(candidate) === item[key]);
    if (index >= 0) merged[index] = mergeMapping(merged[index] as Json, item);
    else merged.push(withoutNulls(item));
  }
  const patchIndex = (item: unknown) => patchItems.findIndex((candidate) => candidate[key] === keyOf(item));
  const fromPatch = merged.filter((item) => patchIndex(item) >= 0).sort((left, right) => patchIndex(left) - patchIndex(right));
  const targetOnly = merged.filter((item) => patchIndex(item) < 0);
  const position = (item: unknown) => current.findIndex((candidate) => keyOf(candidate) === keyOf(item));
  const ordered: unknown[] = [];
  let [left, right] = [0, 0];
  while (left < targetOnly.length || right < fromPatch.length) {
    const [target, patched] = [targetOnly[left], fromPatch[right]];
    const targetFirst = right >= fromPatch.length || (left < targetOnly.length && position(patched) >= 0 && position(target) < position(patched));
    if (targetFirst) {
      ordered.push(target);
      left += 1;
    } else {
      ordered.push(patched);
      right += 1;
    }
  }
  return ordered;
}

/**
 * A value taken whole: its nulls mean "absent", as when the API server decodes it. A value with no
 * null anywhere is returned as it is (never mutated after), rather than copied on every merge.
 */
function withoutNulls(value: unknown): unknown {
  if (!hasNulls(value)) return value;
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isMapping(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== null && entry !== undefined).map(([key, entry]) => [key, withoutNulls(entry)]));
}

function hasNulls(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasNulls);
  if (!isMapping(value)) return false;
  for (const key in value) {
    const entry = value[key];
    if (entry === null || entry === undefined || hasNulls(entry)) return true;
  }
  return false;
}
