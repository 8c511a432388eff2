// Differential test: the same pods through Istio's real injection handler (built from the
// istio.io/istio module) and through ours, with the same values and mesh config rendered from
// Istio's charts, in both native-sidecar modes. Every difference must be on the allow-list below.
// Then the configuration itself varies: each key alone and in seeded random combinations, each
// rendered by the charts and served by its own Istio webhook process (the process re-reads its
// values and template files when they change, but reads the mesh config once at start, and a
// reload is not observable from outside), crossed with a few pods.
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
import type { IssuedCertificate } from '../harness/certs.ts';
import { findPodTemplates, valueAt } from '../../src/injector/workloads.ts';
import { createCertificateAuthority, issueCertificate } from '../harness/certs.ts';
import { differences, facetKind, injectionFacets, type FacetDifference } from '../harness/injection-facets.ts';
import {
  deepMerge,
  istioReferenceBinaries,
  IstioWebhookExit,
  renderedIstioConfiguration,
  renderIstioConfigurations,
  startIstioWebhook,
  type IstioOperatorSpec,
  type IstioWebhookProcess,
  type RenderedIstioConfiguration,
} from '../harness/istio-reference.ts';

type Json = Record<string, unknown>;
const namespace = 'shop';

const resourceAnnotations = ['sidecar.istio.io/proxyCPU', 'sidecar.istio.io/proxyMemory', 'sidecar.istio.io/proxyCPULimit', 'sidecar.istio.io/proxyMemoryLimit'];
const annotationsOf = (pod: Json) => ((pod.metadata as Json | undefined)?.annotations as Json | undefined) ?? {};

interface AllowedDifference {
  path: RegExp;
  /** The input's name. */
  input?: RegExp;
  pod?: (pod: Json) => boolean;
  /** The two sides' facet values. */
  when?: (sides: { ours?: string | undefined; istio?: string | undefined }) => boolean;
  reason: string;
}

/** One line per accepted difference, with its reason. Anything else fails the test. */
const allowList: AllowedDifference[] = [
  {
    path: /^refused$/,
    when: ({ ours }) => ours === 'false',
    pod: (pod) => proxyInBothLists(pod),
    reason:
      'a native sidecar followed by a template that renders istio-proxy as a container (gateway, grpc-agent, a custom template, or grpc-simple over the pod\'s own ' +
      'istio-proxy): Istio puts istio-proxy among both the init containers and the containers, a pod the API server refuses; ours refuses it at admission, saying which templates clash',
  },
  {
    path: /^refused$/,
    when: ({ ours }) => ours === 'false',
    pod: (pod) => templatesOf(pod).includes('spire') && !templatesOf(pod).some((name) => ['sidecar', 'gateway', 'grpc-agent'].includes(name)),
    reason:
      'a custom template adds to istio-proxy but no template renders the proxy: Istio adds an istio-proxy container without an image, a pod the API server refuses; ' +
      'ours refuses it at admission',
  },
  {
    path: /^refused$/,
    when: ({ ours }) => ours === 'false',
    reason: 'the 1337 policy: pods running as the proxy UID/GID, or an istio-proxy override with its own image or command, are refused on purpose',
  },
  {
    path: /^istio-(proxy|init|validation)\.resources$/,
    pod: (pod) => resourceAnnotations.some((key) => Object.hasOwn(annotationsOf(pod), key)),
    reason: 'per-field resource annotations: each annotation overrides only its own field, where Istio drops the other defaults',
  },
  {
    path: /^istio-(init|validation)\.args$/,
    when: ({ ours, istio }) => sameButExemptUid(ours, istio),
    reason:
      "TPROXY with an istio-proxy override's runAsUser: istio-iptables keeps exempting 1337 (-u); the proxy runs as root in TPROXY, " +
      "and exempting the override's UID would let an app container running as it bypass interception",
  },
  {
    path: /^istio-proxy\.(image|resources|env\.ISTIO_META_OWNER|env\.ISTIO_META_WORKLOAD_NAME)$/,
    input: /^(already-injected|reinjection-merges-app-probers)\.yaml:/,
    reason:
      "re-injection: Istio's handler keeps the previous proxy's image, resources and owner variables; ours renders them from the current configuration, " +
      "as reapplyOverwrittenContainers' comment says re-injection should",
  },
];

function templatesOf(pod: Json): string[] {
  const text = annotationsOf(pod)['inject.istio.io/templates'];
  return typeof text === 'string' ? text.split(',').map((name) => name.trim()) : [];
}

/** The sidecar template, later a template rendering istio-proxy as a container (the clash only bites with a native sidecar). */
function proxyInBothLists(pod: Json): boolean {
  const templates = templatesOf(pod);
  const ownProxy = ((pod.spec as Json | undefined)?.containers as Json[] | undefined)?.some((container) => container.name === 'istio-proxy') ?? false;
  const asContainer = ['gateway', 'grpc-agent', 'spire', ...(ownProxy ? ['grpc-simple'] : [])];
  const sidecar = templates.indexOf('sidecar');
  return sidecar >= 0 && templates.slice(sidecar + 1).some((name) => asContainer.includes(name));
}

function allowedBy(path: string, name: string, pod: Json, sides: { ours?: string | undefined; istio?: string | undefined }): AllowedDifference | undefined {
  return allowList.find((entry) => entry.path.test(path) && (entry.input?.test(name) ?? true) && (entry.pod?.(pod) ?? true) && (entry.when?.(sides) ?? true));
}

/** istio-iptables arguments that differ only in -u, ours being the proxy's 1337, in TPROXY mode. */
function sameButExemptUid(ours: string | undefined, istio: string | undefined): boolean {
  const [mine, theirs] = [ours, istio].map((text) => (text === undefined ? [] : (JSON.parse(text) as string[])));
  if (mine === undefined || theirs === undefined || mine.length !== theirs.length || mine[mine.indexOf('-m') + 1] !== 'TPROXY') return false;
  const uid = mine.indexOf('-u') + 1;
  return uid > 0 && mine[uid] === '1337' && mine.every((arg, index) => index === uid || arg === theirs[index]);
}

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

const templateCombinations = [
  'gateway', 'grpc-simple', 'grpc-agent', 'sidecar,sidecar,sidecar', 'sidecar,gateway', 'gateway,sidecar', 'sidecar,grpc-simple',
  'grpc-simple,sidecar', 'grpc-agent,grpc-simple', 'gateway,grpc-agent', 'grpc-agent,sidecar', ' grpc-agent , gateway ',
];

let rendered: { config: string; values: string; mesh: string };
let serving: IssuedCertificate;
let webhookBinary: string;
const servers = new Map<boolean, IstioWebhookProcess>();
const configs = new Map<boolean, InjectorConfig>();
const inputs: Array<{ name: string; pod: Json }> = [];

beforeAll(async () => {
  const binaries = istioReferenceBinaries();
  rendered = renderedIstioConfiguration();
  const certDir = mkdtempSync(join(tmpdir(), 'istio-reference-'));
  const ca = createCertificateAuthority(certDir, 'istio-reference-ca');
  serving = issueCertificate(ca, 'serving', { commonName: 'istio-webhook', ipAddresses: ['127.0.0.1'] });
  webhookBinary = binaries['istio-webhook'];
  for (const native of [false, true]) {
    servers.set(native, await startIstioWebhook({ binary: binaries['istio-webhook'], files: rendered, tls: serving, nativeSidecars: native }));
    configs.set(native, loadIstioConfigurationFiles({ ...defaultInjectorConfig(), nativeSidecars: native }, { valuesFile: rendered.values, meshConfigFile: rendered.mesh }));
  }
  inputs.push(...goldenInputPods());
  fc.sample(generatedPod, { seed: 20261130, numRuns: 300 }).forEach((pod, index) => inputs.push({ name: `generated #${index}`, pod: pod as unknown as Json }));
  // The same kind of pods under each shipped template and several merged in order.
  fc.sample(generatedPod, { seed: 20261202, numRuns: templateCombinations.length * 12 }).forEach((pod, index) => {
    const templates = templateCombinations[index % templateCombinations.length] as string;
    const metadata = pod.metadata as { annotations: Record<string, string> };
    metadata.annotations = { ...metadata.annotations, 'inject.istio.io/templates': templates };
    inputs.push({ name: `generated #${index} (templates ${templates})`, pod: pod as unknown as Json });
  });
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
        const entry = allowedBy(difference.path, name, pod, difference);
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
  it('across Istio configurations: every key either takes effect as in istiod or is refused at load, naming it', async () => {
    const started = Date.now();
    const variations = sweepConfigurations();
    const files = await renderIstioConfigurations(variations.map((variation) => variation.spec));
    const renderedAfter = Date.now();
    const pods = sweepPods();
    const agreement = new Map<string, { agree: number; total: number }>();
    const explained = new Map<string, number>();
    const unexplained: string[] = [];
    const outcomes = { compared: 0, bothRefuse: 0, refusedOnPurpose: 0, pairs: 0, pairsEqual: 0, pairsExplained: 0 };
    // Two configurations at a time: one Istio webhook starts while the other's pods are compared.
    const runs: ConfigurationRun[] = new Array(variations.length);
    let next = 0;
    const worker = async () => {
      while (next < variations.length) {
        const index = next++;
        const [variation, rendered] = [variations[index] as SweepConfiguration, files[index] as RenderedIstioConfiguration];
        runs[index] = await compareConfiguration(variation, rendered, pods);
      }
    };
    await Promise.all([worker(), worker()]);
    for (const [index, variation] of variations.entries()) {
      const run = runs[index] as ConfigurationRun;
      outcomes[run.outcome] += 1;
      unexplained.push(...run.unexplained.map((line) => `${variation.name}: ${line}`));
      outcomes.pairs += run.pairs;
      outcomes.pairsEqual += run.pairsEqual;
      outcomes.pairsExplained += run.pairsExplained;
      for (const [reason, count] of run.explained) explained.set(reason, (explained.get(reason) ?? 0) + count);
      for (const [kind, counts] of run.agreement) {
        const total = agreement.get(kind) ?? { agree: 0, total: 0 };
        agreement.set(kind, { agree: total.agree + counts.agree, total: total.total + counts.total });
      }
    }
    const share = (counts: { agree: number; total: number }) => counts.agree / counts.total;
    const rows = [...agreement].sort(([leftKind, left], [rightKind, right]) => share(left) - share(right) || (leftKind < rightKind ? -1 : 1));
    const partial = rows.filter(([, counts]) => counts.agree < counts.total);
    const { compared, bothRefuse, refusedOnPurpose, pairs, pairsEqual, pairsExplained } = outcomes;
    console.info(
      `configurations: ${variations.length} (${compared} compared, ${bothRefuse} refused by both, ${refusedOnPurpose} refused on purpose), ` +
        `${pods.length} pods each; ` +
        `of ${pairs} injections, ${pairsEqual} equal Istio's in every field, ${pairsExplained} but for allow-listed ones; ` +
        `fields: ${rows.length - partial.length} of ${rows.length} always agree; ` +
        `rendering ${renderedAfter - started} ms, comparing ${Date.now() - renderedAfter} ms\n` +
        partial.map(([kind, counts]) => `  ${(100 * share(counts)).toFixed(1).padStart(5)}%  ${counts.agree}/${counts.total}  ${kind}`).join('\n') +
        `\nallowed differences: ${explained.size === 0 ? 'none' : [...explained].map(([reason, count]) => `${count} × ${reason}`).join('; ')}`,
    );
    if (unexplained.length > 0) console.info(`unexplained (${unexplained.length}):\n${unexplained.slice(0, 300).join('\n')}`);
    expect(variations.length).toBeGreaterThanOrEqual(150);
    expect(unexplained.slice(0, 60)).toEqual([]);
  }, 900_000);
});

describe("static custom templates against Istio's injection handler", () => {
  it('merged with the shipped ones in any order: every difference is on the allow-list', async () => {
    const templates = { spire: spireTemplate, extras: extrasTemplate };
    const variations: SweepConfiguration[] = [false, true].map((native) => ({
      name: `templates spire and extras (native ${native})`,
      spec: inValues('sidecarInjectorWebhook.templates', templates),
      native,
      refusals: [],
    }));
    const files = await renderIstioConfigurations(variations.map((variation) => variation.spec));
    const combinations = ['sidecar,spire', 'spire,sidecar', 'gateway,spire', 'sidecar,extras', 'extras,gateway', 'grpc-agent,spire,extras', 'spire', 'sidecar,sidecar,spire,extras'];
    const pods = fc.sample(generatedPod, { seed: 20261203, numRuns: combinations.length * 6 }).map((pod, index) => {
      const chosen = combinations[index % combinations.length] as string;
      const metadata = pod.metadata as { annotations: Record<string, string> };
      metadata.annotations = { ...metadata.annotations, 'inject.istio.io/templates': chosen };
      return { name: `generated #${index} (templates ${chosen})`, pod: asDecodedByTheApiServer(pod as unknown as Json) };
    });
    const runs = await Promise.all(variations.map((variation, index) => compareConfiguration(variation, files[index] as RenderedIstioConfiguration, pods)));
    const unexplained = runs.flatMap((run, index) => run.unexplained.map((line) => `${(variations[index] as SweepConfiguration).name}: ${line}`));
    const explained = new Map<string, number>();
    for (const run of runs) for (const [reason, count] of run.explained) explained.set(reason, (explained.get(reason) ?? 0) + count);
    console.info(
      `custom templates: ${runs.map((run) => `${run.outcome}, ${run.pairsEqual} of ${run.pairs} equal, ${run.pairsExplained} but for allow-listed ones`).join('; ')}; ` +
        `allowed differences: ${[...explained].map(([reason, count]) => `${count} × ${reason}`).join('; ') || 'none'}`,
    );
    if (unexplained.length > 0) console.info(`unexplained (${unexplained.length}):\n${unexplained.slice(0, 100).join('\n')}`);
    expect(runs.every((run) => run.outcome === 'compared')).toBe(true);
    expect(unexplained.slice(0, 40)).toEqual([]);
  }, 300_000);
});

// Istio's SPIRE example, a static template.
const spireTemplate = readFileSync(fileURLToPath(new URL('../fixtures/istio-templates/spire.yaml', import.meta.url)), 'utf8');
// Labels, annotations (the metrics merge off), a container of its own, and a change to an app container.
const extrasTemplate = [
  'metadata:',
  '  labels:',
  '    team: payments',
  '  annotations:',
  '    prometheus.istio.io/merge-metrics: "false"',
  '    example.com/owner: payments',
  'spec:',
  '  containers:',
  '  - name: log-shipper',
  '    image: registry.example/shipper:1',
  '    volumeMounts:',
  '    - name: shipper-buffer',
  '      mountPath: /buffer',
  '  - name: app',
  '    env:',
  '    - name: OWNER',
  '      value: payments',
  '  initContainers:',
  '  - name: fetch-config',
  '    image: registry.example/fetch:1',
  '  volumes:',
  '  - name: shipper-buffer',
  '    emptyDir: {}',
].join('\n');

/** One configuration of the sweep: an IstioOperator overlay and the keys it sets. */
interface SweepConfiguration {
  name: string;
  spec: IstioOperatorSpec;
  native: boolean;
  /** Deliberate refusals among its keys: Switchboard's load error must match one of these. */
  refusals: RegExp[];
}

interface KeyVariation {
  key: string;
  spec: IstioOperatorSpec;
  /** Switchboard refuses this value on purpose (docs/injector-config.md says why); Istio takes it. */
  refused?: RegExp;
  /**
   * Not combined with other keys: istiod refuses the value, or only Helm can install it (istioctl's
   * installer refuses it, so the injector config of a combination could not be rendered with it).
   */
  alone?: true;
}

const inValues = (path: string, value: unknown): IstioOperatorSpec => ({ values: nested(path.split('.'), value) });
const inMesh = (path: string, value: unknown): IstioOperatorSpec => ({ meshConfig: nested(path.split('.'), value) });
function nested(path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  return { [head as string]: rest.length === 0 ? value : nested(rest, value) };
}
const value = (path: string, setting: unknown, refused?: RegExp): KeyVariation =>
  ({ key: `values.${path}`, spec: inValues(path, setting), ...(refused ? { refused } : {}) });
const mesh = (path: string, setting: unknown, refused?: RegExp): KeyVariation =>
  ({ key: `meshConfig.${path}`, spec: inMesh(path, setting), ...(refused ? { refused } : {}) });
const alone = (variation: KeyVariation): KeyVariation => ({ ...variation, alone: true });
const withCni = (spec: IstioOperatorSpec): IstioOperatorSpec => deepMerge(spec, { components: { cni: { enabled: true } } });

const otelCollector = { service: 'otel-collector.observability.svc.cluster.local', port: 4317 };

/** Every key the sweep varies, with the values it tries. */
const keyVariations: KeyVariation[] = [
  mesh('defaultConfig.statusPort', 15030),
  alone(mesh('defaultConfig.statusPort', 0)),
  mesh('proxyListenPort', 15011),
  mesh('proxyInboundListenPort', 15016),
  mesh('proxyInboundListenPort', 0),
  mesh('inboundTrafficPolicy.mode', 'LOCALHOST'),
  mesh('defaultConfig.proxyMetadata', { ISTIO_META_ENABLE_HBONE: 'true' }),
  mesh('defaultConfig.proxyMetadata', { ISTIO_META_DNS_CAPTURE: 'true', TRACE_LEVEL: 'x' }),
  mesh('defaultConfig.proxyMetadata', { IPTABLES_TRACE_LOGGING: 'true' }, /IPTABLES_TRACE_LOGGING: "true" would run istio-proxy privileged/),
  mesh('defaultConfig.image.imageType', 'distroless'),
  mesh('defaultConfig.image.imageType', 'debug'),
  mesh('defaultConfig.holdApplicationUntilProxyStarts', true),
  mesh('defaultConfig.interceptionMode', 'TPROXY'),
  mesh('defaultConfig.interceptionMode', 'NONE'),
  mesh('defaultConfig.concurrency', 2),
  mesh('defaultConfig.drainDuration', '30s'),
  mesh('defaultConfig.drainDuration', '1m'),
  alone(mesh('defaultConfig.drainDuration', '1500ms')),
  mesh('defaultConfig.terminationDrainDuration', '0.5s'),
  mesh('defaultConfig.concurrency', 0),
  mesh('enablePrometheusMerge', false),
  mesh('trustDomain', 'example.org'),
  value('global.proxy.statusPort', 15030),
  value('global.proxy.statusPort', 0),
  alone(value('global.pilotCertProvider', 'kubernetes')),
  value('global.pilotCertProvider', 'custom'),
  value('global.trustBundleName', 'corp-root-cert'),
  value('pilot.env.ENABLE_CLUSTER_TRUST_BUNDLE_API', true),
  value('pilot.crlConfigMapName', 'corp-crl'),
  value('global.caName', 'GkeWorkloadCertificate'),
  value('global.mountMtlsCerts', true),
  { key: 'values.pilot.cni.enabled', spec: withCni({}) },
  { key: 'values.pilot.cni.provider', spec: withCni(inValues('pilot.cni.provider', 'multus')) },
  value('global.proxy.lifecycle', { preStop: { exec: { command: ['sleep', '5'] } } }),
  value('global.proxy.lifecycle', { postStart: { exec: { command: ['pilot-agent', 'wait', '--timeoutSeconds', '120'] } } }),
  value('global.proxy.privileged', true, /global\.proxy\.privileged: true would run istio-init and istio-proxy privileged/),
  value('global.proxy.seccompProfile', { type: 'RuntimeDefault' }),
  value('global.proxy_init.image', 'proxyv2-init'),
  value('global.proxy_init.image', 'registry.example/istio/proxyv2:1.27.1'),
  value('global.proxy.image', 'registry.example/istio/proxyv2:custom'),
  value('global.proxy.image', 'proxyv2-fips'),
  value('global.variant', 'debug'),
  value('global.variant', 'distroless'),
  value('global.nativeNftables', true),
  alone(value('global.proxy_init.forceApplyIptables', true)),
  value('global.logAsJson', true),
  value('global.sts.servicePort', 15463),
  value('global.proxy.outlierLogPath', '/dev/stdout'),
  value('sidecarInjectorWebhook.injectedAnnotations', { 'example.com/audit': 'enabled' }),
  value('global.proxy.readinessPeriodSeconds', 0),
  value('global.proxy.readinessPeriodSeconds', 5),
  value('global.proxy.readinessFailureThreshold', 0),
  value('global.proxy.readinessInitialDelaySeconds', 3),
  value('global.proxy.startupProbe', { enabled: false }),
  value('global.proxy.startupProbe', { failureThreshold: 0 }),
  { key: 'values.global.hub', spec: { hub: 'registry.example/mirror' } },
  { key: 'values.global.tag', spec: { tag: '1.28.0' } },
  value('global.imagePullPolicy', 'Always'),
  value('global.imagePullSecrets', ['regcred']),
  value('global.proxy.holdApplicationUntilProxyStarts', true),
  value('global.proxy.includeIPRanges', '10.0.0.0/8'),
  value('global.proxy.excludeIPRanges', '169.254.169.254/32'),
  value('global.proxy.includeInboundPorts', '8080'),
  value('global.proxy.excludeInboundPorts', '9000'),
  value('global.proxy.includeOutboundPorts', '443'),
  value('global.proxy.excludeOutboundPorts', '5432'),
  value('global.proxy.logLevel', 'debug'),
  value('global.proxy.componentLogLevel', 'misc:info'),
  value('global.logging.level', 'default:debug'),
  value('global.network', 'network-1'),
  value('global.meshID', 'mesh-1'),
  value('global.multiCluster.clusterName', 'cluster-1'),
  value('global.proxy.resources', { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '512Mi' } }),
  value('global.proxy.autoInject', 'disabled'),
  value('sidecarInjectorWebhook.rewriteAppHTTPProbe', false),
  value('sidecarInjectorWebhook.neverInjectSelector', [{ matchLabels: { app: 'payment-service' } }]),
  value('global.caAddress', 'ca.example:15012'),
  value('global.sds.token.aud', 'corp-aud'),
  value('global.proxy.clusterDomain', 'corp.local'),
  value('sidecarInjectorWebhook.templates', { custom: 'metadata: {labels: {custom: "true"}}' }),
  value('sidecarInjectorWebhook.templates', { custom: 'metadata:\n  labels:\n    rev: "{{ .Revision }}"\n' }, /sidecarInjectorWebhook\.templates\.custom: the custom injection template has Go template actions/),
  value('sidecarInjectorWebhook.defaultTemplates', ['gateway']),
  value('sidecarInjectorWebhook.defaultTemplates', ['sidecar', 'spire'], /sidecarInjectorWebhook\.defaultTemplates: got \["sidecar","spire"\]/),
  value('sidecarInjectorWebhook.defaultTemplates', ['sidecar', 'grpc-simple']),
  value('sidecarInjectorWebhook.defaultTemplates', ['grpc-agent']),
  value('global.proxy.capNetBindService', true, /global\.proxy\.capNetBindService: true would run istio-proxy as root/),
  value('global.proxy.lifecycle', { preStop: {} }, /global\.proxy\.lifecycle: preStop: got \{\}; expected exactly one of/),
  value('global.proxy.seccompProfile', { type: 'Localhost', localhostProfile: 'profiles/istio-proxy.json' }),
  value('gateways.securityContext', { runAsNonRoot: true, fsGroup: 1337 }),
  value('global.proxy.tracer', 'zipkin'),
  value('global.proxy.tracer', 'datadog'),
  {
    key: 'values.global.proxy.tracer',
    spec: deepMerge(inValues('global.proxy.tracer', 'lightstep'), {
      values: { global: { tracer: { lightstep: { address: 'lightstep-satellite.tracing:8080', accessToken: 'token' } } } },
      meshConfig: { defaultConfig: { tracing: { tlsSettings: { mode: 'SIMPLE', caCertificates: '/etc/lightstep/cacert.pem' } } } },
    }),
  },
  value('pilot.env.COMPLIANCE_POLICY', 'fips-140-3'),
  value('pilot.env.COMPLIANCE_POLICY', 'fips-140-2'),
  value('pilot.env.ENABLE_NATIVE_SIDECARS', 'true'),
  value('pilot.env.ENABLE_NATIVE_SIDECARS', 'false'),
  value('pilot.env.ENABLE_NATIVE_SIDECARS', 'yes', /pilot\.env\.ENABLE_NATIVE_SIDECARS: got "yes"/),
  alone(value('pilot.env.ENABLE_CLUSTER_TRUST_BUNDLE_API', 'true')),
  mesh('extensionProviders', [{ name: 'otel', opentelemetry: { ...otelCollector, serviceAttributeEnrichment: 'OTEL_SEMANTIC_CONVENTIONS' } }]),
  mesh('extensionProviders', [{ name: 'otel', opentelemetry: otelCollector }]),
  alone(mesh('trustDomain', '')),
  alone(mesh('proxyListenPort', 0)),
  alone(mesh('inboundTrafficPolicy.mode', 'localhost')),
];

/** Every variation alone, in both native-sidecar modes, then seeded combinations of several keys. */
function sweepConfigurations(): SweepConfiguration[] {
  const single = keyVariations.flatMap((variation) =>
    [false, true].map((native) => ({
      name: `${variation.key}=${JSON.stringify(leafOf(variation.spec))} (native ${native})`,
      spec: variation.spec,
      native,
      refusals: variation.refused ? [variation.refused] : [],
    })),
  );
  const combinable = keyVariations.filter((variation) => !variation.refused && !variation.alone);
  const choice = fc.record({ picks: fc.uniqueArray(fc.integer({ min: 0, max: combinable.length - 1 }), { minLength: 2, maxLength: 6 }), native: fc.boolean() });
  const picks = fc.sample(choice, { seed: 20261201, numRuns: 100 });
  const combined = picks.map(({ picks: chosen, native }, index) => {
    // One value per key: a later pick of the same key would silently replace an earlier one.
    const byKey = new Map(chosen.map((pick) => [(combinable[pick] as KeyVariation).key, combinable[pick] as KeyVariation]));
    const spec = [...byKey.values()].reduce<IstioOperatorSpec>((merged, variation) => deepMerge(merged, variation.spec), {});
    return { name: `combination #${index} [${[...byKey.keys()].join(', ')}] (native ${native})`, spec, native, refusals: [] };
  });
  return [...single, ...combined];
}

function leafOf(spec: IstioOperatorSpec): unknown {
  let current: unknown = spec;
  while (typeof current === 'object' && current !== null && !Array.isArray(current) && Object.keys(current).length === 1) current = Object.values(current)[0];
  return current;
}

const sweepGoldenPods = [
  'deployment-basic.yaml', 'probes-every-kind.yaml', 'prometheus-merge.yaml', 'proxy-annotation-knobs.yaml', 'proxy-override.yaml',
  'gateway-helm-chart.yaml', 'native-sidecar-annotation-opt-in.yaml', 'interception-tproxy.yaml', 'hold-application-annotation.yaml',
  'template-grpc-agent.yaml',
];

/** Golden pods that exercise probes, metrics, overrides, gateways, interception and the templates, and one with the service account, networks and tracer settings Istio reads. */
function sweepPods(): Array<{ name: string; pod: Json }> {
  const chosen = inputs.filter((input) => sweepGoldenPods.some((file) => input.name.startsWith(`${file}:`)));
  const networks: Json = asDecodedByTheApiServer({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'ledger-5c7d9-abcde',
      namespace,
      labels: { app: 'ledger', version: 'v3' },
      annotations: {
        'k8s.v1.cni.cncf.io/networks': 'macvlan-conf',
        'proxy.istio.io/config': '{"proxyMetadata": {"ISTIO_META_ENABLE_HBONE": "true"}}',
        'prometheus.io/port': '9102',
        'apm.datadoghq.com/env': '{"DD_ENV": "prod", "DD_SERVICE": "ledger", "DD_TRACE_SAMPLE_RATE": 0.25}',
      },
    },
    spec: {
      serviceAccountName: 'ledger',
      containers: [
        {
          name: 'ledger',
          image: 'registry.example/ledger:3',
          ports: [{ containerPort: 8080, name: 'http' }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
        },
      ],
    },
  });
  return [...chosen, { name: 'ledger (service account, Multus networks, HBONE, Datadog)', pod: networks }];
}

interface ConfigurationRun {
  outcome: 'compared' | 'bothRefuse' | 'refusedOnPurpose';
  unexplained: string[];
  agreement: Map<string, { agree: number; total: number }>;
  pairs: number;
  pairsEqual: number;
  pairsExplained: number;
  explained: Map<string, number>;
}

/** The pods through Istio's webhook serving this configuration and through ours loading the same files. */
async function compareConfiguration(
  variation: SweepConfiguration,
  files: RenderedIstioConfiguration,
  pods: Array<{ name: string; pod: Json }>,
): Promise<ConfigurationRun> {
  const run: ConfigurationRun = { outcome: 'compared', unexplained: [], agreement: new Map(), pairs: 0, pairsEqual: 0, pairsExplained: 0, explained: new Map() };
  let config: InjectorConfig | undefined;
  let ourRefusal = '';
  try {
    config = loadIstioConfigurationFiles({ ...defaultInjectorConfig(), nativeSidecars: variation.native }, { valuesFile: files.values, meshConfigFile: files.mesh });
  } catch (error) {
    ourRefusal = (error as Error).message;
  }
  let server: IstioWebhookProcess | undefined;
  let istioRefusal = '';
  try {
    server = await startIstioWebhook({ binary: webhookBinary, files, tls: serving, nativeSidecars: variation.native, env: pilotEnvironment(files.values) });
  } catch (error) {
    if (!(error instanceof IstioWebhookExit)) throw error;
    istioRefusal = error.stderr.trim();
  }
  try {
    if (server && !config) {
      // A configuration Istio takes but then fails every injection with is refused by Istio too, only later.
      const answers = await Promise.all(pods.map(({ pod }) => (server as IstioWebhookProcess).inject(pod, namespace)));
      if (answers.every((answer) => !answer.allowed)) return { ...run, outcome: 'bothRefuse' };
    }
    if (!server || !config) {
      if (!server && !config) run.outcome = 'bothRefuse';
      else if (!config && variation.refusals.some((refusal) => refusal.test(ourRefusal))) run.outcome = 'refusedOnPurpose';
      else if (server) run.unexplained.push(`Switchboard refuses the configuration, Istio serves it: ${ourRefusal}`);
      else run.unexplained.push(`Istio refuses the configuration, Switchboard takes it: ${istioRefusal}`);
      return run;
    }
    if (variation.refusals.length > 0) run.unexplained.push(`accepted, but Switchboard should refuse it (${variation.refusals.join(', ')})`);
    for (const { name, pod } of pods) {
      const theirs = await server.inject(pod, namespace);
      const mine = ours(pod, config);
      // A pod one side refuses has no facets to compare: the refusal is its only one.
      const bothInjected = theirs.allowed && mine.allowed;
      const theirFacets = bothInjected ? injectionFacets(theirs.pod, pod) : new Map([['refused', String(theirs.allowed)]]);
      const myFacets = bothInjected ? injectionFacets(mine.pod, pod) : new Map([['refused', String(mine.allowed)]]);
      if (theirs.allowed !== mine.allowed && theirs.message) theirFacets.set('refused', `${theirs.allowed} ${theirs.message}`);
      run.pairs += 1;
      let equal = true;
      let explained = true;
      for (const path of new Set([...theirFacets.keys(), ...myFacets.keys()])) {
        const kind = facetKind(path);
        const counts = run.agreement.get(kind) ?? { agree: 0, total: 0 };
        const same = theirFacets.get(path) === myFacets.get(path);
        run.agreement.set(kind, { agree: counts.agree + (same ? 1 : 0), total: counts.total + 1 });
        if (same) continue;
        equal = false;
        const entry = allowedBy(path, name, pod, { ours: myFacets.get(path), istio: theirFacets.get(path) });
        if (entry) {
          run.explained.set(entry.reason, (run.explained.get(entry.reason) ?? 0) + 1);
          continue;
        }
        explained = false;
        run.unexplained.push(`${name}: ${path}: ours ${myFacets.get(path)} / Istio ${theirFacets.get(path)}`);
      }
      if (equal) run.pairsEqual += 1;
      if (explained) run.pairsExplained += 1;
    }
    return run;
  } finally {
    await server?.stop();
  }
}

/** istiod runs with the chart's pilot.env as its environment; two of those variables change injection. */
function pilotEnvironment(valuesFile: string): Record<string, string> {
  const values = JSON.parse(readFileSync(valuesFile, 'utf8')) as { pilot?: { env?: Record<string, unknown> } };
  return Object.fromEntries(Object.entries(values.pilot?.env ?? {}).map(([name, setting]) => [name, String(setting)]));
}
