// Istio's own CRDs, every group of them, from istio.io/api at the pinned version, make the test API
// server treat manifests as an Istio cluster would: what the article's YAML says correctly
// round-trips; what it gets wrong is caught. The shipped copies in crds/istio/ must be exactly the
// module's, and analyze must judge Istio objects as this API server does.
import type { KubernetesObject } from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SHIPPED_ISTIO_CRD_DIR, istioApiCrdBundle, istioCrdManifest, pinnedIstioApiVersion, renderShippedCopies, shippedFileName,
} from '../harness/istio-api.ts';
import { runAnalyze } from '../../src/cli/analyze/analyze-run.ts';
import { createNamespace, deleteNamespace, installCrds, kubectl, readYamlDocuments, testCluster } from './support/cluster.ts';

const cluster = testCluster();
const seedDir = join(import.meta.dirname, '..', 'fixtures', 'seed');
const analyzeDir = join(import.meta.dirname, '..', 'fixtures', 'analyze');
const ISTIO_GROUPS = ['networking.istio.io', 'security.istio.io', 'telemetry.istio.io', 'extensions.istio.io'];
let namespace: string;
let installed: string[];

type IstioObject = KubernetesObject & { spec: Record<string, unknown> };

beforeAll(async () => {
  const manifest = istioCrdManifest(ISTIO_GROUPS);
  installed = manifest.names;
  await installCrds(cluster, [manifest.path]);
  namespace = await createNamespace(cluster, 'istio-crds');
});
afterAll(async () => { await deleteNamespace(cluster, namespace); });

function seedObject(file: string, kind: string): IstioObject {
  const found = readYamlDocuments(join(seedDir, file)).find((d) => d.kind === kind);
  if (!found) throw new Error(`${file} has no ${kind}`);
  return { ...found, metadata: { ...found.metadata, namespace } } as IstioObject;
}

async function roundTrip(object: IstioObject): Promise<IstioObject> {
  await cluster.objects.create(object);
  return cluster.objects.read({ apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata!.name!, namespace } }) as Promise<IstioObject>;
}

describe('crds/istio/, the shipped copies', () => {
  it('are exactly what hack/update-istio-crds.ts cuts from the pinned istio.io/api', () => {
    const version = pinnedIstioApiVersion();
    const wanted = renderShippedCopies(istioApiCrdBundle(), version);
    const committed = readdirSync(SHIPPED_ISTIO_CRD_DIR).filter((file) => file.endsWith('.yaml')).sort();
    expect(committed).toEqual([...wanted.keys()].sort());
    for (const [file, content] of wanted) {
      expect(readFileSync(join(SHIPPED_ISTIO_CRD_DIR, file), 'utf8') === content,
        `crds/istio/${file} differs from istio.io/api@${version}: run node_modules/.bin/node hack/update-istio-crds.ts`).toBe(true);
    }
  });
});

describe('Istio CRDs on the real API server', () => {
  it('serves every kind of the module, the ones crds/istio/ ships', async () => {
    expect(installed).toEqual(expect.arrayContaining([
      'virtualservices.networking.istio.io', 'destinationrules.networking.istio.io', 'gateways.networking.istio.io',
      'serviceentries.networking.istio.io', 'sidecars.networking.istio.io', 'envoyfilters.networking.istio.io',
      'workloadentries.networking.istio.io', 'workloadgroups.networking.istio.io', 'proxyconfigs.networking.istio.io',
      'authorizationpolicies.security.istio.io', 'peerauthentications.security.istio.io', 'requestauthentications.security.istio.io',
      'telemetries.telemetry.istio.io', 'wasmplugins.extensions.istio.io',
    ]));
    expect(installed.map(shippedFileName).sort()).toEqual(readdirSync(SHIPPED_ISTIO_CRD_DIR).filter((file) => file.endsWith('.yaml')).sort());
    const { stdout } = await kubectl(['api-resources', '--api-group=networking.istio.io', '-o', 'name']);
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(installed.filter((name) => name.endsWith('.networking.istio.io')).sort());
  });

  it('returns a VirtualService with weighted subsets, retries and a fault block unchanged', async () => {
    const virtualService: IstioObject = {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews', namespace },
      spec: {
        hosts: ['reviews'],
        http: [{
          name: 'canary-split',
          match: [{ headers: { 'x-beta-user': { exact: 'true' } }, uri: { prefix: '/api' } }],
          route: [
            { destination: { host: 'reviews', subset: 'stable', port: { number: 9080 } }, weight: 90 },
            { destination: { host: 'reviews', subset: 'canary', port: { number: 9080 } }, weight: 10 },
          ],
          retries: { attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,connect-failure,retriable-4xx' },
          fault: { delay: { percentage: { value: 10.5 }, fixedDelay: '50ms' }, abort: { percentage: { value: 1 }, httpStatus: 503 } },
          timeout: '10s',
        }],
      },
    };
    const stored = await roundTrip(virtualService);
    expect(stored.spec).toEqual(virtualService.spec);
  });

  it('round-trips the article VirtualService and AuthorizationPolicy unchanged', async () => {
    for (const [file, kind] of [
      ['payment-traffic-policy.yaml', 'VirtualService'],
      ['mtls-and-authz-policy.yaml', 'AuthorizationPolicy'],
    ] as const) {
      const object = seedObject(file, kind);
      const stored = await roundTrip(object);
      expect(stored.spec, `${kind} from ${file}`).toEqual(object.spec);
    }
  });

  it('refuses the article PeerAuthentication: portLevelMtls without a selector, as Istio does', async () => {
    const peerAuthentication = seedObject('mtls-and-authz-policy.yaml', 'PeerAuthentication');
    await expect(cluster.objects.create(peerAuthentication)).rejects.toThrow(/portLevelMtls requires selector/);
    const withSelector = { ...peerAuthentication, metadata: { ...peerAuthentication.metadata, name: 'payment-strict-mtls' },
      spec: { ...peerAuthentication.spec, selector: { matchLabels: { app: 'payment-service' } } } };
    expect((await roundTrip(withSelector)).spec).toEqual(withSelector.spec);
  });

  it('refuses the article DestinationRule under strict field validation, naming the fields Istio does not have', async () => {
    const destinationRule = seedObject('payment-traffic-policy.yaml', 'DestinationRule');
    const error = await kubectl(['create', '--validate=strict', '-f', '-'], stringify(destinationRule)).then(() => undefined, (e: Error) => e);
    expect(error?.message).toContain('unknown field "spec.trafficPolicy.connectionPool.http.pendingRequests"');
    expect(error?.message).toContain('unknown field "spec.trafficPolicy.connectionPool.http.requestsPerConnection"');
  });

  it('warns about and drops those fields by default, keeping everything the article got right', async () => {
    const destinationRule = seedObject('payment-traffic-policy.yaml', 'DestinationRule');
    const { stderr } = await kubectl(['create', '--validate=warn', '-f', '-'], stringify(destinationRule));
    expect(stderr).toContain('unknown field "spec.trafficPolicy.connectionPool.http.pendingRequests"');
    const stored = await cluster.objects.read({ apiVersion: destinationRule.apiVersion, kind: 'DestinationRule', metadata: { name: destinationRule.metadata!.name!, namespace } }) as IstioObject;
    const http = (stored.spec.trafficPolicy as { connectionPool: { http: Record<string, unknown> } }).connectionPool.http;
    expect(http).toEqual({ http2MaxRequests: 1000 });
    expect(stored.spec.subsets).toEqual(destinationRule.spec.subsets);
    expect((stored.spec.trafficPolicy as Record<string, unknown>).outlierDetection)
      .toEqual((destinationRule.spec.trafficPolicy as Record<string, unknown>).outlierDetection);
  });

  it('refuses a VirtualService whose weight is not an integer', async () => {
    const bad: IstioObject = {
      apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { name: 'bad-weight', namespace },
      spec: { hosts: ['x'], http: [{ route: [{ destination: { host: 'x' }, weight: 'ninety' }] }] },
    };
    await expect(cluster.objects.create(bad)).rejects.toThrow(/weight/);
  });
});

// analyze's schema fixtures against the real API server, under kubectl's strict field validation:
// every Istio object analyze finds no schema problem in is stored, every one it reports SB0301-
// SB0304 or SB0307 on is refused.
describe('analyze\'s schema rules and the real API server agree', () => {
  const SCHEMA_CODES = ['SB0301', 'SB0302', 'SB0303', 'SB0304', 'SB0307'];
  const istioObjects = (file: string) => readYamlDocuments(join(analyzeDir, file))
    .filter((object) => /\.istio\.io\//.test(object.apiVersion ?? ''))
    .map((object) => ({ ...object, metadata: { ...object.metadata, namespace } }));
  const create = (object: KubernetesObject) => kubectl(['create', '--validate=strict', '-f', '-'], stringify(object)).then(() => undefined, (error: Error) => error.message);

  it('stores every Istio object of schema.negative.yaml, one of each kind', async () => {
    const objects = istioObjects('schema.negative.yaml');
    expect(new Set(objects.map((object) => object.kind)).size).toBe(installed.length);
    for (const object of objects) expect(await create(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
  });

  it('refuses every object of schema.positive.yaml that analyze reports a schema code on', async () => {
    const file = join(analyzeDir, 'schema.positive.yaml');
    const run = await runAnalyze({ filename: [file], output: 'json' });
    const reported = new Set(run.findings.filter((item) => SCHEMA_CODES.includes(item.code)).map((item) => `${item.kind}/${item.name}`));
    expect(run.findings.every((item) => item.file === relative(process.cwd(), file))).toBe(true);
    const objects = istioObjects('schema.positive.yaml');
    expect(objects.map((object) => `${object.kind}/${object.metadata.name}`).sort()).toEqual([...reported].sort());
    for (const object of objects) {
      const renamed = { ...object, metadata: { ...object.metadata, name: `refused-${object.metadata.name}` } };
      expect(await create(renamed), `${object.kind} ${object.metadata.name}`).toMatch(/unknown field|Invalid value|Required value|no matches for kind|must be|should be/);
    }
  });
});
