// The one place that reads Istio's CRD schemas: every *.yaml under crds/istio/ (Istio's own CRDs,
// generated from istio.io/api), however they are split into files and documents. The unknown-field
// and schema rules judge objects against what this returns, never against a list kept by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORE_SCHEMA, loadAll } from 'js-yaml';
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
  /** The kinds the CRDs define in an API group; undefined when no CRD is of that group. */
  kindsOf(group: string): string[] | undefined;
  /** "DestinationRule (networking.istio.io)", ... for messages and docs; reads every CRD. */
  readonly kinds: readonly string[];
}

/** A CRD file that cannot be read: a broken installation or --istio-crds directory. */
export class CrdFileError extends Error {
  override readonly name = 'CrdFileError';
}

interface CrdVersion { name: string; served?: boolean; schema?: { openAPIV3Schema?: OpenApiSchema } }

type VersionsByKind = Map<string, CrdVersion[]>;

function addCrds(versionsByKind: VersionsByKind, documents: readonly unknown[]): void {
  for (const document of documents) {
    if (!isRecord(document) || document.kind !== 'CustomResourceDefinition' || !isRecord(document.spec)) continue;
    const { group, names, versions } = document.spec as { group?: unknown; names?: { kind?: unknown }; versions?: unknown };
    if (typeof group !== 'string' || typeof names?.kind !== 'string' || !Array.isArray(versions)) continue;
    versionsByKind.set(`${group}/${names.kind}`, versions.filter((version): version is CrdVersion => isRecord(version) && typeof version.name === 'string'));
  }
}

function lookupIn(versionsByKind: VersionsByKind, apiVersion: string, kind: string): SchemaLookup {
  const slash = apiVersion.lastIndexOf('/');
  const versions = versionsByKind.get(`${groupOf(apiVersion)}/${kind}`);
  if (versions === undefined) return undefined;
  const served = versions.filter((version) => version.served !== false);
  const schema = served.find((version) => version.name === apiVersion.slice(slash + 1))?.schema?.openAPIV3Schema;
  return schema === undefined ? { found: false, servedVersions: served.map((version) => version.name) } : { found: true, schema };
}

/** "networking.istio.io" of "networking.istio.io/v1"; "" for the core group's "v1". */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function kindsIn(versionsByKind: VersionsByKind, group: string): string[] | undefined {
  const kinds = [...versionsByKind.keys()].filter((key) => key.startsWith(`${group}/`)).map((key) => key.slice(group.length + 1)).sort();
  return kinds.length === 0 ? undefined : kinds;
}

function kindNames(versionsByKind: VersionsByKind): string[] {
  return [...versionsByKind.keys()].map((key) => { const [group, kind] = key.split('/'); return `${kind} (${group})`; }).sort();
}

/** A catalog of CRDs already parsed. */
export function schemaCatalog(documents: readonly unknown[]): SchemaCatalog {
  const versionsByKind: VersionsByKind = new Map();
  addCrds(versionsByKind, documents);
  return {
    kinds: kindNames(versionsByKind),
    lookup: (apiVersion, kind) => lookupIn(versionsByKind, apiVersion, kind),
    kindsOf: (group) => kindsIn(versionsByKind, group),
  };
}

export interface CrdText { file: string; text: string }

/**
 * `kind: Gateway` as block YAML, flow YAML or JSON writes it. A file that defines a kind has it
 * in one of these forms, so a file without it need not be parsed for that kind.
 */
function mentionsKind(text: string, kind: string): boolean {
  const escaped = kind.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?:^|[\\s{,])["']?kind["']?[ \\t]*:[ \\t]*["']?${escaped}["']?[ \\t]*(?:$|[,}\\r\\n])`, 'm').test(text);
}

/**
 * The documents of a CRD file: through js-yaml's fast loader (Istio's DestinationRule CRD alone is
 * 325 KB of YAML), else through the yaml library, which says what is wrong.
 */
function crdDocuments(file: CrdText): unknown[] {
  try {
    return loadAll(file.text, { schema: CORE_SCHEMA });
  } catch {
    const documents = [];
    for (const document of parseAllDocuments(file.text)) {
      if (document.errors.length > 0) throw new CrdFileError(`${file.file}: not valid YAML: ${document.errors[0]?.message}`);
      documents.push(document.toJS({ maxAliasCount: -1 }));
    }
    return documents;
  }
}

/**
 * A catalog that parses a CRD file only when an object of a kind it may define is judged:
 * Istio's bundle is 850 KB of YAML, and most inputs use two or three of its fourteen kinds.
 * Parsing throws CrdFileError for a file that is not valid YAML.
 */
export function lazySchemaCatalog(files: readonly CrdText[]): SchemaCatalog {
  const versionsByKind: VersionsByKind = new Map();
  const unread = [...files];
  /** "group/Kind" keys and whole groups already looked for in the unread files. */
  const searched = new Set<string>();
  // A broken file stays unread: every lookup that needs it fails, none passes for want of it.
  const read = (candidates: readonly CrdText[]) => {
    for (const file of candidates) {
      addCrds(versionsByKind, crdDocuments(file));
      unread.splice(unread.indexOf(file), 1);
    }
  };
  return {
    get kinds() {
      read([...unread]);
      return kindNames(versionsByKind);
    },
    lookup(apiVersion, kind) {
      const group = groupOf(apiVersion);
      const key = `${group}/${kind}`;
      // The API server refuses a CRD whose group has no dot: core and apps kinds are nobody's CRD.
      if (!versionsByKind.has(key) && !searched.has(key) && group.includes('.')) {
        read(unread.filter((file) => file.text.includes(group) && mentionsKind(file.text, kind)));
        searched.add(key);
      }
      return lookupIn(versionsByKind, apiVersion, kind);
    },
    kindsOf(group) {
      if (!group.includes('.')) return undefined;
      if (!searched.has(group)) {
        read(unread.filter((file) => file.text.includes(group)));
        searched.add(group);
      }
      return kindsIn(versionsByKind, group);
    },
  };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Reads the CRD files (a missing directory throws); each is parsed on first use. */
export function loadIstioSchemaCatalog(dir = DEFAULT_ISTIO_CRD_DIR): SchemaCatalog {
  return lazySchemaCatalog(yamlFiles(dir).map((file) => ({ file, text: readFileSync(file, 'utf8') })));
}
