// vitest global setup for integration tests: one control plane for the whole run.
// Choices, in order: USE_EXISTING_CLUSTER=true with KUBECONFIG (any cluster you point it at);
// SWITCHBOARD_TEST_CLUSTER=k3s where a Docker engine exists (testcontainers' K3s module);
// otherwise the local Go-built control plane (KUBEBUILDER_ASSETS may supply prebuilt binaries).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { PROJECT_ROOT } from './binaries.ts';
import { startInBackground, stopInBackground } from './cli.ts';
import type { IstiodAddresses } from './istiod.ts';
import { killRememberedProcesses } from './processes.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    clusterLogDir: string;
    clusterKind: 'local' | 'existing' | 'k3s';
    /** The local control plane's istiod; null on other clusters. */
    istiod: IstiodAddresses | null;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.USE_EXISTING_CLUSTER === 'true') {
    const kubeconfig = process.env.KUBECONFIG;
    if (!kubeconfig) throw new Error('USE_EXISTING_CLUSTER=true needs KUBECONFIG to point at the cluster to test against');
    project.provide('kubeconfig', kubeconfig);
    project.provide('clusterLogDir', '(existing cluster: see its own logs)');
    project.provide('clusterKind', 'existing');
    project.provide('istiod', null);
    return undefined;
  }
  if (process.env.SWITCHBOARD_TEST_CLUSTER === 'k3s') return startK3s(project);

  // A separate directory lets two runs (say, two checkouts) each have their own control plane.
  const stateDir = process.env.SWITCHBOARD_TEST_CLUSTER_DIR ?? join(PROJECT_ROOT, '.cluster-test');
  const registry = join(stateDir, 'test-processes.pids');
  // A previous run that was killed hard: its control plane, and what its tests started.
  await stopInBackground(stateDir);
  killRememberedProcesses(registry);
  const ready = await startInBackground(stateDir, process.pid);
  // Set after the supervisor started: it watches its own processes, and tests' workers inherit this.
  process.env.SWITCHBOARD_PID_REGISTRY = registry;
  project.provide('kubeconfig', ready.kubeconfig);
  project.provide('clusterLogDir', ready.logDir);
  project.provide('clusterKind', 'local');
  project.provide('istiod', ready.istiod);
  return async () => {
    killRememberedProcesses(registry);
    await stopInBackground(stateDir);
  };
}

async function startK3s(project: TestProject): Promise<() => Promise<void>> {
  const { K3sContainer } = await import('@testcontainers/k3s');
  const container = await new K3sContainer(process.env.K3S_IMAGE ?? 'rancher/k3s:v1.34.2-k3s1').start();
  const dir = join(PROJECT_ROOT, '.cluster-test');
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, 'k3s-kubeconfig');
  writeFileSync(kubeconfig, container.getKubeConfig(), { mode: 0o600 });
  project.provide('kubeconfig', kubeconfig);
  project.provide('clusterLogDir', '(k3s container: docker logs)');
  project.provide('clusterKind', 'k3s');
  project.provide('istiod', null);
  return async () => { await container.stop(); };
}
