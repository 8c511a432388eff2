// The schema loader reads CRDs however they are split: one per file (crds/istio/ today) or all in
// one multi-document file, as Istio's generated crd-all.gen.yaml is.
import { describe, expect, it } from 'vitest';
import { schemaCatalog } from '../../../src/analyze/istio-schemas.ts';
import { schemas } from './fixtures.ts';

const crd = (group: string, kind: string, versions: string[]) => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${kind.toLowerCase()}s.${group}` },
  spec: { group, names: { kind }, versions: versions.map((name) => ({ name, served: name !== 'v1alpha1', schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { [name]: { type: 'string' } } } } } } })) },
});

describe('schemaCatalog', () => {
  it('finds the schema of the version asked, and lists the served versions otherwise', () => {
    const catalog = schemaCatalog([crd('networking.istio.io', 'Sidecar', ['v1', 'v1alpha1']), { kind: 'ConfigMap' }, null]);
    const found = catalog.lookup('networking.istio.io/v1', 'Sidecar');
    expect(found?.found && found.schema.properties?.spec?.properties).toEqual({ v1: { type: 'string' } });
    expect(catalog.lookup('networking.istio.io/v1alpha1', 'Sidecar')).toEqual({ found: false, servedVersions: ['v1'] });
    expect(catalog.lookup('apps/v1', 'Deployment')).toBeUndefined();
    expect(catalog.kinds).toEqual(['Sidecar (networking.istio.io)']);
  });

  it('reads every CRD in crds/istio/', () => {
    expect(schemas.kinds).toEqual(expect.arrayContaining([
      'AuthorizationPolicy (security.istio.io)', 'DestinationRule (networking.istio.io)', 'PeerAuthentication (security.istio.io)', 'VirtualService (networking.istio.io)',
    ]));
  });
});
