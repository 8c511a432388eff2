// Which istio.io/rev values this injector answers for, as Istio's per-revision webhook configurations
// select them: its own revision ("default" when none is configured) and the revision tags pointing at
// it. The "default" tag, or no revision at all, also makes it the injector for istio-injection=enabled
// and for pods labelled sidecar.istio.io/inject=true in unlabelled namespaces.
import type { InjectorConfig } from './config.ts';

export interface ServedRevisions {
  names: ReadonlySet<string>;
  isDefault: boolean;
}

export function servedRevisions(config: InjectorConfig): ServedRevisions {
  const own = config.revision === '' ? 'default' : config.revision;
  const names = new Set([own, ...config.revisionTags]);
  return { names, isDefault: names.has('default') };
}

export function describeServed(served: ServedRevisions): string {
  return [...served.names].join(', ');
}
