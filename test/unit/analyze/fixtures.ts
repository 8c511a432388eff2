// Runs the analyzer's pure core on fixture files the way the CLI does (loader, then every rule).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeObjects } from '../../../src/analyze/analyze.ts';
import type { Finding } from '../../../src/analyze/finding.ts';
import { loadIstioSchemaCatalog } from '../../../src/analyze/istio-schemas.ts';
import { parseManifests } from '../../../src/analyze/manifests.ts';
import { objectSet, type MeshObject } from '../../../src/analyze/objects.ts';
import { DEFAULT_MESH_ROOT_NAMESPACE, type AnalysisContext } from '../../../src/analyze/rule.ts';

export const root = join(import.meta.dirname, '..', '..', '..');
export const schemas = loadIstioSchemaCatalog(join(root, 'crds', 'istio'));

export function readObjects(...files: string[]): MeshObject[] {
  return files.flatMap((file) => {
    const parsed = parseManifests(readFileSync(join(root, file), 'utf8'), file, 'default');
    if (parsed.findings.length > 0) throw new Error(`${file}: ${parsed.findings.map((item) => item.message).join('; ')}`);
    return parsed.objects.map((loaded) => loaded.object);
  });
}

export function analyze(objects: MeshObject[], live = false, context: Partial<AnalysisContext> = {}): Finding[] {
  return analyzeObjects(objectSet(objects, live), { schemas, meshRootNamespace: DEFAULT_MESH_ROOT_NAMESPACE, ...context });
}

export function analyzeFiles(...files: string[]): Finding[] {
  return analyze(readObjects(...files));
}

/** "SB0101 VirtualService shop/reviews": enough to tell findings apart in a table. */
export function brief(item: Finding): string {
  return `${item.code} ${item.kind} ${item.namespace === '' ? '' : `${item.namespace}/`}${item.name}`;
}

/** What a negative fixture must not show: a finding of the family's codes, or any error or warning, with its message. */
export function blocking(found: readonly Finding[], codes: readonly string[]): string[] {
  return found.filter((item) => codes.includes(item.code) || item.severity !== 'info').map((item) => `${brief(item)}: ${item.message}`);
}
