// exportTo as istiod reads it, for VirtualServices, DestinationRules and ServiceEntries (spec.exportTo)
// and Services (the networking.istio.io/exportTo annotation). analyze and the data-plane tracker
// both judge who sees an object, and must agree with istiod and with each other: one reader.
// Nothing here imports analyze, so that the mesh layer stays below it.

export const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

/** The namespaces whose proxies see an object: every one, or those listed (none at all for `~`). */
export type ExportScope = { readonly all: true } | { readonly all: false; readonly namespaces: ReadonlySet<string> };

export const EVERY_NAMESPACE: ExportScope = { all: true };

/**
 * istiod's precedence: nothing written (or only blanks) means every namespace, and so does `*`
 * whatever else is listed; otherwise `~` anywhere hides the object from every namespace; `.` is
 * the object's own namespace. Entries that are not strings are the schema rules' to report.
 */
export function exportScope(exportTo: readonly unknown[] | undefined, ownNamespace: string): ExportScope {
  const entries = (exportTo ?? []).filter((entry): entry is string => typeof entry === 'string').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0 || entries.includes('*')) return EVERY_NAMESPACE;
  if (entries.includes('~')) return { all: false, namespaces: new Set() };
  return { all: false, namespaces: new Set(entries.map((entry) => (entry === '.' ? ownNamespace : entry))) };
}

/** The annotation's comma-separated list, as istiod splits it. */
export function exportToAnnotation(value: unknown): string[] {
  return typeof value === 'string' ? value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '') : [];
}

export function visibleIn(scope: ExportScope, namespace: string): boolean {
  return scope.all || scope.namespaces.has(namespace);
}

/** Whether some namespace is in both scopes. */
export function scopesMeet(a: ExportScope, b: ExportScope): boolean {
  if (a.all) return b.all || b.namespaces.size > 0;
  if (b.all) return a.namespaces.size > 0;
  return [...a.namespaces].some((namespace) => b.namespaces.has(namespace));
}

/** A scope widened by one namespace (an object is always seen from its own namespace where it applies). */
export function withNamespace(scope: ExportScope, namespace: string): ExportScope {
  return scope.all || scope.namespaces.has(namespace) ? scope : { all: false, namespaces: new Set([...scope.namespaces, namespace]) };
}

export function describeScope(scope: ExportScope): string {
  if (scope.all) return 'every namespace';
  return scope.namespaces.size === 0 ? 'no namespace' : `namespace ${[...scope.namespaces].sort().join(', ')}`;
}
