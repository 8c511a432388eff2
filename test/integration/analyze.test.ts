// `switchboard analyze --cluster` against the real API server: the CLI as a user runs it, on live
// objects that trigger each live-only rule, and on files that override those objects.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Finding } from '../../src/analyze/finding.ts';
import { createNamespace, deleteNamespace, eventually, installCrds, kubectl, testCluster } from './support/cluster.ts';

const root = join(import.meta.dirname, '..', '..');
const cluster = testCluster();
const scratch = mkdtempSync(join(tmpdir(), 'sb-analyze-'));
let namespace: string;

interface CliRun { code: number; stdout: string; stderr: string }

/** The CLI as a user runs it; the kubeconfig comes from KUBECONFIG, so that args end as given (completion reads the last word). */
function switchboard(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const env = { ...process.env, KUBECONFIG: inject('kubeconfig') };
    execFile(join(root, 'node_modules/.bin/node'), [join(root, 'src/cli/main.ts'), ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

async function analyzeJson(...args: string[]): Promise<{ code: number; findings: Finding[]; stderr: string }> {
  const run = await switchboard(['analyze', '--cluster', '-o', 'json', ...args]);
  if (run.stdout === '') throw new Error(`analyze printed nothing (exit ${run.code}): ${run.stderr}`);
  return { code: run.code, findings: JSON.parse(run.stdout) as Finding[], stderr: run.stderr };
}

const ofNamespace = (findings: Finding[]) => findings.filter((item) => item.namespace === namespace || (item.kind === 'Namespace' && item.name === namespace));
const brief = (item: Finding) => `${item.code} ${item.kind} ${item.name}`;

const destinationRule = (v2Labels: Record<string, string>) => ({
  apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web', namespace },
  spec: { host: 'web', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: v2Labels }] },
});

beforeAll(async () => {
  const crds = join(root, 'crds');
  await installCrds(cluster, [...readdirSync(join(crds, 'istio')).map((file) => join(crds, 'istio', file)), join(crds, 'switchboard.dev_rollouts.yaml')]);
  // No injector runs in this test, so the Deployment's pods start without the proxy, as pods do
  // that were created before the namespace was labelled.
  namespace = await createNamespace(cluster, 'analyze', { 'istio-injection': 'enabled' });
  const labels = { app: 'web', version: 'v1' };
  await cluster.apps.createNamespacedDeployment({
    namespace,
    body: { metadata: { name: 'web' }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } } },
  });
  await cluster.core.createNamespacedService({ namespace, body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } } });
  await cluster.objects.create(destinationRule({ version: 'v2' }));
  await cluster.objects.create({
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web', namespace },
    spec: { hosts: ['web'], http: [{ timeout: '5s', route: [{ destination: { host: 'web', subset: 'v1' }, weight: 100 }, { destination: { host: 'web', subset: 'v2' }, weight: 0 }] }] },
  });
  await cluster.objects.create({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace }, spec: { mtls: { mode: 'STRICT' } } });
  await cluster.custom.createNamespacedCustomObject({
    group: 'switchboard.dev', version: 'v1alpha1', namespace, plural: 'rollouts',
    body: {
      apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'api', namespace },
      spec: {
        selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'api:2' }] } },
        trafficRouting: { host: 'api', virtualService: { name: 'api-routes' }, destinationRule: { name: 'web' } }, steps: [{ setWeight: 10 }],
      },
    },
  });
  await eventually('2 running pods of Deployment web', async () => {
    const pods = await cluster.core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
    return pods.items.filter((pod) => pod.status?.phase === 'Running').length === 2;
  });
});
afterAll(async () => {
  await deleteNamespace(cluster, namespace);
  rmSync(scratch, { recursive: true, force: true });
});

describe('switchboard analyze --cluster', () => {
  it('finds pods without the proxy, a subset without pods, and the Rollout\'s missing VirtualService', async () => {
    const { code, findings } = await analyzeJson('-n', namespace);
    const ours = ofNamespace(findings);
    expect(ours.filter((item) => item.code === 'SB0901')).toHaveLength(2);
    expect(ours.filter((item) => item.code === 'SB0901').every((item) => item.kind === 'Pod' && item.name.startsWith('web-'))).toBe(true);
    expect(ours.filter((item) => item.code !== 'SB0901').map(brief)).toEqual([
      'SB0801 Rollout api',
      'SB0803 Rollout api',
      'SB0902 DestinationRule web',
      'SB0805 Rollout api',
      'SB0202 VirtualService web',
    ]);
    expect(ours.find((item) => item.code === 'SB0902')?.message).toMatch(/^spec\.subsets\[1\] \(v2\) selects no running pod of web in namespace analyze-/);
    expect(code).toBe(1);
  });

  it('judges the namespace\'s mTLS from the cluster: STRICT here, PERMISSIVE once the policy is gone', async () => {
    expect(ofNamespace((await analyzeJson('-n', namespace)).findings).filter((item) => item.code === 'SB0501')).toEqual([]);
    await cluster.objects.delete({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace } });
    const after = ofNamespace((await analyzeJson('-n', namespace)).findings).filter((item) => item.code === 'SB0501');
    expect(after.map(brief)).toEqual([`SB0501 Namespace ${namespace}`]);
  });

  it('lets files override the cluster\'s objects of the same kind, namespace and name', async () => {
    const file = join(scratch, 'fixed.yaml');
    writeFileSync(file, [
      stringify(destinationRule({ version: 'v1' })),
      stringify({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'api-routes', namespace },
        spec: { hosts: ['web'], http: [{ timeout: '5s', route: [{ destination: { host: 'web', subset: 'stable' }, weight: 100 }, { destination: { host: 'web', subset: 'canary' }, weight: 0 }] }] } }),
    ].join('---\n'));
    const { findings } = await analyzeJson('-n', namespace, '-f', file);
    const codes = ofNamespace(findings).map((item) => item.code);
    expect(codes).not.toContain('SB0902');
    expect(codes).not.toContain('SB0801');
    expect(codes).toContain('SB0901');
  });

  it('reads every namespace with -A', async () => {
    const { findings } = await analyzeJson('-A');
    expect(ofNamespace(findings).filter((item) => item.code === 'SB0901')).toHaveLength(2);
  });

  it('prints the human view with the counts', async () => {
    const run = await switchboard(['analyze', '--cluster', '-n', namespace]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^Error \\[SB0801\\] \\(Rollout ${namespace}/api\\) spec\\.trafficRouting\\.virtualService\\.name: VirtualService api-routes does not exist`, 'm'));
    expect(run.stdout).toMatch(/\n\d+ objects analyzed: 2 errors, \d+ warnings, \d+ info\.\n$/);
  });

  it('reads the injection webhooks: one calling a Service that the namespace it names lacks is SB1901', async () => {
    // failurePolicy Ignore and a revision no namespace has: the webhook never holds up a pod.
    const webhook = {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: `${namespace}-injector` },
      webhooks: [{ name: 'sidecar-injector.istio.io', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore',
        clientConfig: { service: { name: 'no-injector', namespace } }, namespaceSelector: { matchLabels: { 'istio.io/rev': namespace } } }],
    };
    await cluster.objects.create(webhook);
    try {
      const found = (await analyzeJson('-n', namespace)).findings.filter((item) => item.code === 'SB1901' && item.name === webhook.metadata.name);
      expect(found.map((item) => item.message)).toEqual([expect.stringMatching(/clientConfig\.service is analyze-.*\/no-injector, and there is no such Service/)]);
    } finally {
      await cluster.objects.delete(webhook);
    }
  });

  it('says which namespace it could not read, without a stack trace', async () => {
    const run = await switchboard(['analyze', '--cluster', '-n', 'no-such-namespace-here']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: SB_CLI_API: listing namespaces, pods and services in namespace "no-such-namespace-here" failed \(HTTP 404/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

// The canary-pinned route and suppression on live objects, in a namespace of their own so that
// the counts above stay as they are.
describe('switchboard analyze --cluster: the controller\'s refusals and suppressions', () => {
  let pinned: string;
  const ofPinned = (findings: Finding[]) => findings.filter((item) => item.namespace === pinned);

  beforeAll(async () => {
    pinned = await createNamespace(cluster, 'analyze-pinned');
    await cluster.objects.create({
      apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'pricing', namespace: pinned },
      spec: { host: 'pricing', subsets: [{ name: 'stable', labels: { app: 'pricing' } }, { name: 'canary', labels: { app: 'pricing' } }] },
    });
    await cluster.objects.create({
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'pricing', namespace: pinned },
      spec: {
        hosts: ['pricing'],
        http: [
          { name: 'beta', match: [{ headers: { 'x-beta-user': { exact: 'true' } } }], route: [{ destination: { host: 'pricing', subset: 'canary' } }] },
          { name: 'primary', route: [{ destination: { host: 'pricing', subset: 'stable' }, weight: 100 }, { destination: { host: 'pricing', subset: 'canary' }, weight: 0 }] },
        ],
      },
    });
    await cluster.custom.createNamespacedCustomObject({
      group: 'switchboard.dev', version: 'v1alpha1', namespace: pinned, plural: 'rollouts',
      body: {
        apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'pricing', namespace: pinned },
        spec: {
          selector: { matchLabels: { app: 'pricing' } }, template: { metadata: { labels: { app: 'pricing' } }, spec: { containers: [{ name: 'pricing', image: 'pricing:2' }] } },
          trafficRouting: { host: 'pricing', virtualService: { name: 'pricing', routes: ['primary'] }, destinationRule: { name: 'pricing' } }, steps: [{ setWeight: 10 }],
        },
      },
    });
  });
  afterAll(async () => { await deleteNamespace(cluster, pinned); });

  it('reports a route the Rollout does not manage that sends to canary, with no file or line', async () => {
    const { code, findings } = await analyzeJson('-n', pinned);
    const found = ofPinned(findings).filter((item) => item.code === 'SB0807');
    expect(found).toEqual([expect.objectContaining({
      kind: 'Rollout', name: 'pricing', file: null, line: null,
      message: expect.stringMatching(/^VirtualService pricing: http route "beta" \(#0\) sends 100% to subset canary, .*503/),
    })]);
    expect(code).toBe(1);
  });

  it('hides what the live object\'s analyze-suppress annotation lists, and counts it', async () => {
    await kubectl(['annotate', 'rollouts.switchboard.dev', 'pricing', '-n', pinned, 'switchboard.dev/analyze-suppress=RolloutCanaryPinnedRoute']);
    const { code, findings } = await analyzeJson('-n', pinned);
    expect(ofPinned(findings).map((item) => item.code)).not.toContain('SB0807');
    expect(ofPinned(findings).filter((item) => item.severity === 'error')).toEqual([]);
    expect(code).toBe(0);
    const human = await switchboard(['analyze', '--cluster', '-n', pinned]);
    expect(human.stdout).toMatch(/(, 1 suppressed\.|\(1 finding suppressed\)\.)\n$/);
  });

  it('--suppress hides live findings by "Kind name.namespace" with wildcards', async () => {
    const before = ofNamespace((await analyzeJson('-n', namespace)).findings).filter((item) => item.code === 'SB0901');
    expect(before).toHaveLength(2);
    const run = await analyzeJson('-n', namespace, '--suppress', `PodWithoutProxy=Pod web-*.${namespace}`);
    expect(ofNamespace(run.findings).filter((item) => item.code === 'SB0901')).toEqual([]);
    expect(run.stderr).toBe('');
  });
});

// The rollout verbs added with analyze, on the Rollout this file creates.
describe('switchboard set image and completion against the cluster', () => {
  const readImage = async () => {
    const rollout = await cluster.custom.getNamespacedCustomObject({ group: 'switchboard.dev', version: 'v1alpha1', namespace, plural: 'rollouts', name: 'api' }) as { spec: { template: { spec: { containers: { image: string }[] } } } };
    return rollout.spec.template.spec.containers[0]?.image;
  };

  it('set image patches the template\'s image, and refuses an unknown container with the names there are', async () => {
    const changed = await switchboard(['set', 'image', 'api', 'api=api:3', '-n', namespace]);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toBe(`rollout "api" in namespace "${namespace}": image updated: container "api" api:2 -> api:3; the controller rolls the new template out through the steps (see: switchboard status api -n ${namespace})\n`);
    expect(await readImage()).toBe('api:3');
    const refused = await switchboard(['set', 'image', 'api', 'web=api:4', '-n', namespace]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`error: SB_CLI_USAGE: rollout "api" in namespace "${namespace}" has no container "web" in spec.template; its containers are: api\n`);
    expect(await readImage()).toBe('api:3');
  });

  it('completes rollout names from the namespace on the command line', async () => {
    const run = await switchboard(['complete', '--', 'promote', '-n', namespace, '']);
    expect(run.stdout).toBe('api\tRollout\n:4\n');
  });
});
