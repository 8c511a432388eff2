// Admission hands us raw JSON. Before the pure core reads a pod, check the few parts it relies on, so
// a strange object becomes a clear 400 instead of an exception deep in the injector.

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

function stringMapProblem(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) return `${field} must be a mapping of strings, got ${kindOf(value)}`;
  // Keys, not entries: a large pod's annotations are hundreds of pairs not worth allocating.
  for (const key of Object.keys(value)) {
    const entry = value[key];
    if (typeof entry !== 'string') return `${field}[${JSON.stringify(key)}] must be a string, got ${kindOf(entry)}`;
  }
  return undefined;
}

function optionalListProblem(value: unknown, field: string, itemProblem: (item: unknown, path: string) => string | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return `${field} must be a list, got ${kindOf(value)}`;
  for (const [index, item] of value.entries()) {
    const problem = itemProblem(item, `${field}[${index}]`);
    if (problem) return problem;
  }
  return undefined;
}

function objectProblem(item: unknown, path: string): string | undefined {
  return isObject(item) ? undefined : `${path} must be a mapping, got ${kindOf(item)}`;
}

function securityContextProblem(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) return `${field} must be a mapping, got ${kindOf(value)}`;
  for (const key of ['runAsUser', 'runAsGroup']) {
    const id = value[key];
    if (id !== undefined && id !== null && !Number.isInteger(id)) return `${field}.${key} must be an integer, got ${kindOf(id)}`;
  }
  return undefined;
}

function containerProblem(item: unknown, path: string): string | undefined {
  if (!isObject(item)) return `${path} must be a mapping, got ${kindOf(item)}`;
  if (typeof item.name !== 'string') return `${path}.name must be a string, got ${kindOf(item.name)}`;
  return optionalListProblem(item.ports, `${path}.ports`, objectProblem) ?? securityContextProblem(item.securityContext, `${path}.securityContext`);
}

/** Why this value cannot be read as a pod, or undefined when it can. */
export function podShapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return `the object must be a Pod mapping, got ${kindOf(value)}`;
  const metadata = value.metadata;
  if (metadata !== undefined && metadata !== null) {
    if (!isObject(metadata)) return `metadata must be a mapping, got ${kindOf(metadata)}`;
    for (const key of ['name', 'generateName', 'namespace']) {
      if (metadata[key] !== undefined && metadata[key] !== null && typeof metadata[key] !== 'string') return `metadata.${key} must be a string`;
    }
    const problem =
      stringMapProblem(metadata.labels, 'metadata.labels') ??
      stringMapProblem(metadata.annotations, 'metadata.annotations') ??
      optionalListProblem(metadata.ownerReferences, 'metadata.ownerReferences', objectProblem);
    if (problem) return problem;
  }
  const spec = value.spec;
  if (!isObject(spec)) return `spec must be a mapping with spec.containers, got ${kindOf(spec)}`;
  if (!Array.isArray(spec.containers)) return `spec.containers must be a list of containers, got ${kindOf(spec.containers)}`;
  if (spec.hostNetwork !== undefined && spec.hostNetwork !== null && typeof spec.hostNetwork !== 'boolean') return 'spec.hostNetwork must be true or false';
  return (
    optionalListProblem(spec.containers, 'spec.containers', containerProblem) ??
    optionalListProblem(spec.initContainers, 'spec.initContainers', containerProblem) ??
    optionalListProblem(spec.ephemeralContainers, 'spec.ephemeralContainers', containerProblem) ??
    optionalListProblem(spec.volumes, 'spec.volumes', objectProblem) ??
    optionalListProblem(spec.imagePullSecrets, 'spec.imagePullSecrets', objectProblem) ??
    securityContextProblem(spec.securityContext, 'spec.securityContext')
  );
}
