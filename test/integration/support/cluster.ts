// What every integration test needs: a client for the cluster that global setup started,
// throwaway namespaces, and polling that names what it waited for.
import {
  AppsV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, ApiextensionsV1Api, type KubeConfig, type KubernetesObject, type V1Pod,
} from '@kubernetes/client-node';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { inject } from 'vitest';
import { loadKubeConfig } from '../../../src/kube/config.ts';
import { kubeClient, type KubeClient } from '../../../src/kube/lite/client.ts';
import { loadKubeConnection } from '../../../src/kube/lite/connection.ts';
import { waitFor } from '../../harness/processes.ts';

export interface TestCluster {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
  apiextensions: ApiextensionsV1Api;
  /** The webhook's own client (kube/lite), on the same kubeconfig. */
  webhookClient: KubeClient;
  logDir: string;
}

export function testCluster(): TestCluster {
  const kubeConfig = loadKubeConfig(inject('kubeconfig'));
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kubeConfig),
    apiextensions: kubeConfig.makeApiClient(ApiextensionsV1Api),
    webhookClient: kubeClient(loadKubeConnection(inject('kubeconfig'))),
    logDir: inject('clusterLogDir'),
  };
}

let namespaceCounter = 0;
export async function createNamespace(cluster: TestCluster, prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${namespaceCounter++}`.slice(0, 63);
  await cluster.core.createNamespace({ body: { metadata: { name, labels } } });
  return name;
}

/**
 * A namespace with a fixed name that a real cluster already has (istio-system): created if missing,
 * waited out first if an earlier suite left it terminating. Left in place afterwards.
 */
export async function ensureNamespace(cluster: TestCluster, name: string): Promise<void> {
  await eventually(`namespace ${name} active`, async () => {
    const existing = await cluster.core.readNamespace({ name }).catch(() => undefined);
    if (existing?.status?.phase === 'Active') return true;
    if (!existing) await cluster.core.createNamespace({ body: { metadata: { name } } }).catch(() => undefined);
    return false;
  }, 120_000);
}

export async function deleteNamespace(cluster: TestCluster, name: string): Promise<void> {
  await cluster.core.deleteNamespace({ name }).catch(() => undefined);
}

export function readYamlDocuments(path: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJSON() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => d !== null);
}

/**
 * Creates or updates CRDs from files and waits until the API server serves them. Goes through
 * kubectl: client-node's typed serializer silently drops `x-kubernetes-*` keys written in their
 * YAML spelling, which would install the CRDs without their CEL rules.
 */
export async function installCrds(cluster: TestCluster, files: string[]): Promise<void> {
  for (const file of files) {
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]);
    for (const crd of readYamlDocuments(file)) {
      const name = crd.metadata!.name!;
      await eventually(`CRD ${name} Established`, async () => {
        const current = await cluster.apiextensions.readCustomResourceDefinition({ name });
        return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      });
    }
  }
  // kubectl cached discovery before these CRDs existed; make it look again.
  rmSync(kubectlCacheDir(), { recursive: true, force: true });
}

/** One per process: test files in lanes side by side clear their own kubectl's cache, not another's. */
function kubectlCacheDir(): string {
  return join(dirname(inject('kubeconfig')), `kube-cache-${process.pid}`);
}

/** Polls until `check` holds; the error says what never happened and where the cluster logs are. */
export function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, intervalMs = 250): Promise<void> {
  return waitFor(what, check, { timeoutMs, intervalMs, logs: `the control plane logs in ${inject('clusterLogDir')}` });
}

/** kubectl against the test cluster; resolves with stdout and stderr (warnings), rejects with stderr. */
export async function kubectl(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  const { execFile } = await import('node:child_process');
  const { resolveBinaries } = await import('../../harness/binaries.ts');
  const binary = process.env.KUBECTL ?? resolveBinaries().paths.kubectl;
  return new Promise((resolve, reject) => {
    const child = execFile(binary, [`--kubeconfig=${inject('kubeconfig')}`, `--cache-dir=${kubectlCacheDir()}`, ...args], { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve({ stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Creates the pod; resolves with undefined when created, or with the API server's refusal message. */
export async function podRefusal(cluster: TestCluster, namespace: string, body: V1Pod): Promise<string | undefined> {
  try {
    await cluster.core.createNamespacedPod({ namespace, body });
    return undefined;
  } catch (error) {
    const text = (error as { body?: unknown }).body;
    if (typeof text !== 'string') return (error as Error).message;
    try {
      return (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      return text;
    }
  }
}
