// `switchboard analyze --cluster` against the real API server: the CLI as a user runs it, on live
// objects that trigger each live-only rule, and on files that override those objects.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Finding } from '../../src/analyze/finding.ts';
import { createNamespace, deleteNamespace, eventually, installCrds, testCluster } from './support/cluster.ts';

const root = join(import.meta.dirname, '..', '..');
const cluster = testCluster();
const scratch = mkdtempSync(join(tmpdir(), 'sb-analyze-'));
let namespace: string;

interface CliRun { code: number; stdout: string; stderr: string }

function switchboard(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(join(root, 'node_modules/.bin/node'), [join(root, 'src/cli/main.ts'), ...args, '--kubeconfig', inject('kubeconfig')], (error, stdout, stderr) => {
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
  await cluster.core.createNamespacedService({ namespace, body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
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

  it('says which namespace it could not read, without a stack trace', async () => {
    const run = await switchboard(['analyze', '--cluster', '-n', 'no-such-namespace-here']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: SB_CLI_API: listing namespaces, pods and services in namespace "no-such-namespace-here" failed \(HTTP 404/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
