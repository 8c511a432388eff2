// The one place that reads Istio's CRD schemas: every *.yaml under crds/istio/ (Istio's own CRDs,
// generated from istio.io/api), however they are split into files and documents. The unknown-field
// and schema rules judge objects against what this returns, never against a list kept by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { isRecord } from './objects.ts';
import type { OpenApiSchema } from './schema.ts';

/** From src/analyze/ and from dist/analyze/ alike, two levels up is the package root. */
export const DEFAULT_ISTIO_CRD_DIR = fileURLToPath(new URL('../../crds/istio/', import.meta.url));

export type SchemaLookup =
  | { found: true; schema: OpenApiSchema }
  | { found: false; servedVersions: string[] }
  | undefined;

export interface SchemaCatalog {
  /** undefined: no CRD for this group and kind (not an Istio kind, or one the folder lacks). */
  lookup(apiVersion: string, kind: string): SchemaLookup;
  /** "DestinationRule (networking.istio.io)", ... for messages and docs. */
  readonly kinds: readonly string[];
}

interface CrdVersion { name: string; served?: boolean; schema?: { openAPIV3Schema?: OpenApiSchema } }

export function schemaCatalog(documents: readonly unknown[]): SchemaCatalog {
  const versionsByKind = new Map<string, CrdVersion[]>();
  for (const document of documents) {
    if (!isRecord(document) || document.kind !== 'CustomResourceDefinition' || !isRecord(document.spec)) continue;
    const { group, names, versions } = document.spec as { group?: unknown; names?: { kind?: unknown }; versions?: unknown };
    if (typeof group !== 'string' || typeof names?.kind !== 'string' || !Array.isArray(versions)) continue;
    versionsByKind.set(`${group}/${names.kind}`, versions.filter((version): version is CrdVersion => isRecord(version) && typeof version.name === 'string'));
  }
  return {
    kinds: [...versionsByKind.keys()].map((key) => { const [group, kind] = key.split('/'); return `${kind} (${group})`; }).sort(),
    lookup(apiVersion, kind) {
      const slash = apiVersion.lastIndexOf('/');
      const group = slash < 0 ? '' : apiVersion.slice(0, slash);
      const versions = versionsByKind.get(`${group}/${kind}`);
      if (versions === undefined) return undefined;
      const served = versions.filter((version) => version.served !== false);
      const schema = served.find((version) => version.name === apiVersion.slice(slash + 1))?.schema?.openAPIV3Schema;
      return schema === undefined ? { found: false, servedVersions: served.map((version) => version.name) } : { found: true, schema };
    },
  };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Reads the CRDs; a file that is not valid YAML is a broken installation, so it throws. */
export function loadIstioSchemaCatalog(dir = DEFAULT_ISTIO_CRD_DIR): SchemaCatalog {
  const documents: unknown[] = [];
  for (const file of yamlFiles(dir)) {
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: not valid YAML: ${document.errors[0]?.message}`);
      documents.push(document.toJS({ maxAliasCount: -1 }));
    }
  }
  return schemaCatalog(documents);
}
