// Differential test: the same pods through Istio's real injection handler (built from the
// istio.io/istio module) and through ours, with the same values and mesh config rendered from
// Istio's charts, in both native-sidecar modes. Every difference must be on the allow-list below.
import type { V1Pod } from '@kubernetes/client-node';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyPatch } from 'rfc6902';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { admitPod } from '../../src/injector/admit.ts';
import { defaultInjectorConfig, type InjectorConfig } from '../../src/injector/config.ts';
import { loadIstioConfigurationFiles } from '../../src/injector/istio/istio-values.ts';
import { findPodTemplates, valueAt } from '../../src/injector/workloads.ts';
import { createCertificateAuthority, issueCertificate } from '../harness/certs.ts';
import { differences, injectionFacets, type FacetDifference } from '../harness/injection-facets.ts';
import { istioReferenceBinaries, renderedIstioConfiguration, startIstioWebhook, type IstioWebhookProcess } from '../harness/istio-reference.ts';

type Json = Record<string, unknown>;
const namespace = 'shop';

/** One line per accepted difference, with its reason. Anything else fails the test. */
const allowList: Array<{ path: RegExp; input?: RegExp; reason: string }> = [
  { path: /^refused$/, reason: 'the 1337 policy: pods running as the proxy UID/GID, or an istio-proxy override with its own image or command, are refused on purpose' },
  { path: /^istio-(proxy|init|validation)\.resources$/, reason: 'per-field resource annotations: each annotation overrides only its own field, where Istio drops the other defaults' },
  {
    path: /^istio-proxy\.(image|env\.ISTIO_META_OWNER|env\.ISTIO_META_WORKLOAD_NAME)$/,
    input: /^(already-injected|reinjection-merges-app-probers)\.yaml:/,
    reason: "re-injection: Istio's handler keeps the previous proxy's image and owner variables; ours renders them from the current configuration, as reapplyOverwrittenContainers' comment says re-injection should",
  },
];

const fixtureDirectory = fileURLToPath(new URL('../fixtures/inject/', import.meta.url));

function goldenInputPods(): Array<{ name: string; pod: Json }> {
  const pods: Array<{ name: string; pod: Json }> = [];
  const inputs = readdirSync(fixtureDirectory).filter((file) => file.endsWith('.yaml') && !/\.(golden|config|values|mesh)\.yaml$/.test(file)).sort();
  for (const file of inputs) {
    for (const document of parseAllDocuments(readFileSync(join(fixtureDirectory, file), 'utf8'))) {
      const manifest: unknown = document.toJS();
      for (const location of findPodTemplates(manifest)) {
        const template = structuredClone(valueAt(manifest, location.path)) as Json;
        const metadata = { ...(template.metadata as Json | undefined), name: (template.metadata as Json | undefined)?.name ?? `${location.workload.name}-7d9f8b-xkp2q`, namespace };
        pods.push({ name: `${file}:${location.workload.kind}/${location.workload.name}`, pod: { apiVersion: 'v1', kind: 'Pod', metadata, spec: template.spec } });
      }
    }
  }
  return pods;
}

const containerName = fc.constantFrom('app', 'web', 'worker', 'cache', 'metrics');
const probe = fc.oneof(
  fc.record({ httpGet: fc.record({ path: fc.constantFrom('/ready', '/healthz', '/live?x=1&y=2'), port: fc.oneof(fc.constantFrom(8080, 9090), fc.constant('http')) }), periodSeconds: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ httpGet: fc.record({ path: fc.constant('/secure'), port: fc.constant(8443), scheme: fc.constant('HTTPS') }) }),
  fc.record({ tcpSocket: fc.record({ port: fc.constantFrom(8080, 'http') }) }),
  fc.record({ grpc: fc.record({ port: fc.constant(9090) }) }),
  fc.record({ exec: fc.record({ command: fc.constant(['/bin/true']) }) }),
);
const securityContext = fc.option(fc.record({ runAsUser: fc.constantFrom(1000, 2000, 1337), runAsNonRoot: fc.boolean() }, { requiredKeys: ['runAsUser'] }), { nil: undefined });
const container = (name: string) =>
  fc.record({ readinessProbe: fc.option(probe, { nil: undefined }), livenessProbe: fc.option(probe, { nil: undefined }), startupProbe: fc.option(probe, { nil: undefined }), securityContext }).map((parts) => ({
    name,
    image: `registry.example/${name}:1.0`,
    ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }, { containerPort: 9090, name: 'grpc', protocol: 'TCP' }],
    ...Object.fromEntries(Object.entries(parts).filter(([, value]) => value !== undefined)),
  }));
const annotations = fc.subarray([
  ['sidecar.istio.io/proxyCPU', '200m'],
  ['sidecar.istio.io/proxyMemoryLimit', '1Gi'],
  ['traffic.sidecar.istio.io/excludeOutboundPorts', '5432'],
  ['traffic.sidecar.istio.io/excludeInboundPorts', '9000'],
  ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/8'],
  ['traffic.sidecar.istio.io/excludeInterfaces', 'eth1'],
  ['istio.io/reroute-virtual-interfaces', 'k6t-eth0'],
  ['sidecar.istio.io/interceptionMode', 'TPROXY'],
  ['sidecar.istio.io/rewriteAppHTTPProbers', 'false'],
  ['sidecar.istio.io/nativeSidecar', 'true'],
  ['status.sidecar.istio.io/port', '15030'],
  ['readiness.status.sidecar.istio.io/periodSeconds', '5'],
  ['sidecar.istio.io/logLevel', 'debug'],
  ['sidecar.istio.io/agentLogLevel', 'default:debug'],
  ['proxy.istio.io/config', '{"holdApplicationUntilProxyStarts": true}'],
  ['proxy.istio.io/config', '{"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}'],
  ['sidecar.istio.io/userVolume', '{"extra":{"emptyDir":{}}}'],
  ['prometheus.io/scrape', 'true'],
  ['prometheus.io/port', '9102'],
] as const);
const generatedPod = fc
  .record({
    names: fc.uniqueArray(containerName, { minLength: 1, maxLength: 3 }),
    initNames: fc.uniqueArray(fc.constantFrom('migrate', 'fetch-secrets'), { maxLength: 2 }),
    annotations,
    version: fc.option(fc.constantFrom('v1', 'v2'), { nil: undefined }),
  })
  .chain(({ names, initNames, annotations: chosen, version }) =>
    fc.tuple(fc.tuple(...names.map(container)), fc.constant(initNames), fc.constant(Object.fromEntries(chosen)), fc.constant(version)),
  )
  .map(([containers, initNames, chosen, version]) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'generated-7d9f8b-xkp2q', namespace, labels: { app: 'generated', ...(version ? { version } : {}) }, annotations: chosen },
    spec: { initContainers: initNames.map((name) => ({ name, image: `registry.example/${name}:1.0` })), containers },
  }));

let rendered: { config: string; values: string; mesh: string };
const servers = new Map<boolean, IstioWebhookProcess>();
const configs = new Map<boolean, InjectorConfig>();
const inputs: Array<{ name: string; pod: Json }> = [];

beforeAll(async () => {
  const binaries = istioReferenceBinaries();
  rendered = renderedIstioConfiguration();
  const certDir = mkdtempSync(join(tmpdir(), 'istio-reference-'));
  const ca = createCertificateAuthority(certDir, 'istio-reference-ca');
  const serving = issueCertificate(ca, 'serving', { commonName: 'istio-webhook', ipAddresses: ['127.0.0.1'] });
  for (const native of [false, true]) {
    servers.set(native, await startIstioWebhook({ binary: binaries['istio-webhook'], files: rendered, tls: serving, nativeSidecars: native }));
    configs.set(native, loadIstioConfigurationFiles({ ...defaultInjectorConfig(), nativeSidecars: native }, { valuesFile: rendered.values, meshConfigFile: rendered.mesh }));
  }
  inputs.push(...goldenInputPods());
  fc.sample(generatedPod, { seed: 20261130, numRuns: 300 }).forEach((pod, index) => inputs.push({ name: `generated #${index}`, pod: pod as unknown as Json }));
  inputs.forEach((input) => (input.pod = asDecodedByTheApiServer(input.pod)));
}, 2_400_000); // the first build of Istio's programs on a busy 2-core machine took 16 minutes

afterAll(async () => {
  for (const server of servers.values()) await server.stop();
});

/**
 * A pod as the API server hands it to webhooks: every container has a resources object (Go writes
 * empty structs). Istio's patch is computed against that form, so both sides start from it.
 */
function asDecodedByTheApiServer(pod: Json): Json {
  const copy = structuredClone(pod);
  const spec = copy.spec as Json;
  for (const list of ['containers', 'initContainers']) {
    for (const container of (spec[list] as Json[] | undefined) ?? []) container.resources ??= {};
  }
  return copy;
}

function ours(pod: Json, config: InjectorConfig): { allowed: boolean; pod: Json } {
  const result = admitPod({ pod: pod as V1Pod, namespace, namespaceLabels: undefined, operation: 'CREATE', subResource: '' }, config);
  if (!result.allowed) return { allowed: false, pod };
  const injected = structuredClone(pod);
  applyPatch(injected, result.patch);
  return { allowed: true, pod: injected };
}

describe("the injector against Istio's injection handler", () => {
  it.each([false, true])('native sidecars %s: every difference is on the allow-list', async (native) => {
    const server = servers.get(native) as IstioWebhookProcess;
    const config = configs.get(native) as InjectorConfig;
    const unexplained: string[] = [];
    const explained = new Map<string, number>();
    let compared = 0;
    for (const { name, pod } of inputs) {
      const theirs = await server.inject(pod, namespace);
      const mine = ours(pod, config);
      compared += 1;
      const found: FacetDifference[] =
        mine.allowed !== theirs.allowed
          ? [{ path: 'refused', ours: String(mine.allowed), istio: `${theirs.allowed} ${theirs.message ?? ''}` }]
          : mine.allowed
            ? differences(injectionFacets(mine.pod, pod), injectionFacets(theirs.pod, pod))
            : [];
      for (const difference of found) {
        const entry = allowList.find((candidate) => candidate.path.test(difference.path) && (candidate.input?.test(name) ?? true));
        if (entry) explained.set(entry.reason, (explained.get(entry.reason) ?? 0) + 1);
        else unexplained.push(`${name}: ${difference.path}: ours ${difference.ours} / Istio ${difference.istio}`);
      }
    }
    console.info(
      `differential (native sidecars ${native}): ${compared} pods compared with Istio's handler; allowed differences: ` +
        (explained.size === 0 ? 'none' : [...explained].map(([reason, count]) => `${count} × ${reason}`).join('; ')),
    );
    if (unexplained.length > 0) console.info(`unexplained differences (${unexplained.length}):\n${unexplained.slice(0, 200).join('\n')}`);
    expect(compared).toBeGreaterThan(300);
    expect(unexplained.slice(0, 40)).toEqual([]);
  }, 600_000);
});
