// The shape every rule has: a pure function from the set of objects to findings.
import type { Finding, RuleDefinition } from './finding.ts';
import type { ObjectSet } from './objects.ts';
import type { SchemaCatalog } from './istio-schemas.ts';
import type { InjectorConfig } from '../injector/config.ts';
import type { IstioValues } from '../injector/istio/istio-values.ts';

export interface AnalysisContext {
  /** Istio's CRD schemas (crds/istio/), for the schema rules. */
  schemas: SchemaCatalog;
  /** Istio's root namespace: a PeerAuthentication there without a selector is mesh-wide. */
  meshRootNamespace: string;
  /** From --mesh-config-file; Istio's defaults when absent. */
  mesh?: MeshSettings;
  /** From --values-file: Istio's injector values. Absent, the rules that need them use the chart's defaults or skip. */
  injector?: InjectorValues;
  /** From --injector-config: Switchboard's own injector config (which namespaces opt in to UID 1337 init containers). */
  injectorConfig?: InjectorConfig;
}

/** Istio's sidecar injector values (the istio-sidecar-injector ConfigMap's `values`), as the injector reads them. */
export interface InjectorValues {
  /** Where they came from, for messages: "--values-file values.yaml". */
  source: string;
  /** The values as given, validated against Istio's schema (pilot.env, sidecarInjectorWebhook, ...). */
  values: IstioValues;
  /** The injector's configuration with the values applied over its built-in defaults (hub, tag, revision, CNI, ...). */
  config: InjectorConfig;
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
