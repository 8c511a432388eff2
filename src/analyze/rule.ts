// The shape every rule has: a pure function from the set of objects to findings.
import type { Finding, RuleDefinition } from './finding.ts';
import type { ObjectSet } from './objects.ts';
import type { SchemaCatalog } from './istio-schemas.ts';

export interface AnalysisContext {
  /** Istio's CRD schemas (crds/istio/), for the schema rules. */
  schemas: SchemaCatalog;
  /** Istio's root namespace: a PeerAuthentication there without a selector is mesh-wide. */
  meshRootNamespace: string;
  /** From --mesh-config-file; Istio's defaults when absent. */
  mesh?: MeshSettings;
}

/** What the rules read of Istio's MeshConfig. */
export interface MeshSettings {
  /** defaultConfig.proxyMetadata turns on DNS capture with address auto-allocation. */
  dnsAutoAllocate: boolean;
}

export interface Rule {
  /** Every code the rule can report, with its severity. */
  definitions: readonly RuleDefinition[];
  check(objects: ObjectSet, context: AnalysisContext): Finding[];
}

export const DEFAULT_MESH_ROOT_NAMESPACE = 'istio-system';
