// The schema loader reads CRDs however they are split: one per file (crds/istio/ today) or all in
// one multi-document file, as Istio's generated crd-all.gen.yaml is; YAML block or flow style, or
// JSON. A file is parsed only when an object of a kind it may define is judged.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { parseAllDocuments, stringify } from 'yaml';
import { CrdFileError, loadIstioSchemaCatalog, schemaCatalog } from '../../../src/analyze/istio-schemas.ts';
import { schemas } from './fixtures.ts';

const crd = (group: string, kind: string, versions: string[]) => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${kind.toLowerCase()}s.${group}` },
  spec: { group, names: { kind }, versions: versions.map((name) => ({ name, served: name !== 'v1alpha1', schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { [name]: { type: 'string' } } } } } } })) },
});

const scratch = mkdtempSync(join(tmpdir(), 'istio-schemas-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('schemaCatalog', () => {
  it('finds the schema of the version asked, and lists the served versions otherwise', () => {
    const catalog = schemaCatalog([crd('networking.istio.io', 'Sidecar', ['v1', 'v1alpha1']), { kind: 'ConfigMap' }, null]);
    const found = catalog.lookup('networking.istio.io/v1', 'Sidecar');
    expect(found?.found && found.schema.properties?.spec?.properties).toEqual({ v1: { type: 'string' } });
    expect(catalog.lookup('networking.istio.io/v1alpha1', 'Sidecar')).toEqual({ found: false, servedVersions: ['v1'] });
    expect(catalog.lookup('apps/v1', 'Deployment')).toBeUndefined();
    expect(catalog.kinds).toEqual(['Sidecar (networking.istio.io)']);
    expect(catalog.kindsOf('networking.istio.io')).toEqual(['Sidecar']);
    expect(catalog.kindsOf('security.istio.io')).toBeUndefined();
  });

  it('reads every CRD in crds/istio/: all of Istio\'s kinds', () => {
    expect(schemas.kinds).toEqual([
      'AuthorizationPolicy (security.istio.io)', 'DestinationRule (networking.istio.io)', 'EnvoyFilter (networking.istio.io)',
      'Gateway (networking.istio.io)', 'PeerAuthentication (security.istio.io)', 'ProxyConfig (networking.istio.io)',
      'RequestAuthentication (security.istio.io)', 'ServiceEntry (networking.istio.io)', 'Sidecar (networking.istio.io)',
      'Telemetry (telemetry.istio.io)', 'VirtualService (networking.istio.io)', 'WasmPlugin (extensions.istio.io)',
      'WorkloadEntry (networking.istio.io)', 'WorkloadGroup (networking.istio.io)',
    ]);
  });
});

describe('loadIstioSchemaCatalog', () => {
  it('finds kinds in block YAML, flow YAML, JSON and multi-document files', () => {
    const path = join(scratch, 'styles');
    mkdirSync(join(path, 'nested'), { recursive: true });
    writeFileSync(join(path, 'block.yaml'), stringify(crd('networking.istio.io', 'Gateway', ['v1'])));
    writeFileSync(join(path, 'flow.yaml'), stringify(crd('security.istio.io', 'RequestAuthentication', ['v1']), { collectionStyle: 'flow' }));
    writeFileSync(join(path, 'nested', 'json.yml'), JSON.stringify(crd('telemetry.istio.io', 'Telemetry', ['v1'])));
    writeFileSync(join(path, 'all.yaml'), [crd('extensions.istio.io', 'WasmPlugin', ['v1']), crd('networking.istio.io', 'Sidecar', ['v1'])].map((doc) => stringify(doc)).join('---\n'));
    const catalog = loadIstioSchemaCatalog(path);
    for (const [apiVersion, kind] of [
      ['networking.istio.io/v1', 'Gateway'], ['security.istio.io/v1', 'RequestAuthentication'], ['telemetry.istio.io/v1', 'Telemetry'],
      ['extensions.istio.io/v1', 'WasmPlugin'], ['networking.istio.io/v1', 'Sidecar'],
    ] as const) {
      expect(catalog.lookup(apiVersion, kind)?.found, `${apiVersion} ${kind}`).toBe(true);
    }
    expect(catalog.lookup('networking.istio.io/v1', 'Gatewa')).toBeUndefined();
    expect(catalog.kindsOf('networking.istio.io')).toEqual(['Gateway', 'Sidecar']);
    expect(catalog.kindsOf('example.com')).toBeUndefined();
  });

  it('parses a file only for a kind it may define: a broken file fails when, and only when, it is needed', () => {
    const path = join(scratch, 'broken');
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'gateway.yaml'), stringify(crd('networking.istio.io', 'Gateway', ['v1'])));
    writeFileSync(join(path, 'broken.yaml'), 'kind: CustomResourceDefinition\nspec:\n  group: security.istio.io\n  names: { kind: Broken\n  versions: [\n');
    const catalog = loadIstioSchemaCatalog(path);
    expect(catalog.lookup('networking.istio.io/v1', 'Gateway')?.found).toBe(true);
    expect(catalog.lookup('v1', 'Pod')).toBeUndefined();
    expect(() => catalog.lookup('security.istio.io/v1', 'Broken')).toThrow(CrdFileError);
    expect(() => catalog.lookup('security.istio.io/v1', 'Broken'), 'the second time too').toThrow(/broken\.yaml: not valid YAML/);
    expect(() => loadIstioSchemaCatalog(path).kinds).toThrow(/broken\.yaml: not valid YAML/);
  });

  it('throws for a directory that does not exist', () => {
    expect(() => loadIstioSchemaCatalog(join(scratch, 'missing'))).toThrow(/ENOENT/);
  });
});

describe('the CRD files as the fast loader reads them', () => {
  const dir = join(import.meta.dirname, '..', '..', '..', 'crds', 'istio');
  it.each(readdirSync(dir).filter((file) => file.endsWith('.yaml')))('%s reads the same through js-yaml and yaml', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    expect(loadAll(text, { schema: CORE_SCHEMA })).toEqual(parseAllDocuments(text).map((document) => document.toJS({ maxAliasCount: -1 }) as unknown));
  });
});
