// vitest global setup for integration tests: one control plane for the whole run, shared by the
// integration projects (vitest sets each project up in turn, in this process, before any test).
// Choices, in order: USE_EXISTING_CLUSTER=true with KUBECONFIG (any cluster you point it at);
// SWITCHBOARD_TEST_CLUSTER=k3s where a Docker engine exists (testcontainers' K3s module);
// otherwise the local Go-built control plane (KUBEBUILDER_ASSETS may supply prebuilt binaries).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProvidedContext } from 'vitest';
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

type Provided = Pick<ProvidedContext, 'kubeconfig' | 'clusterLogDir' | 'clusterKind' | 'istiod'>;
interface Shared { provided: Promise<{ values: Provided; stop: (() => Promise<void>) | undefined }>; users: number }
const SHARED = Symbol.for('switchboard.integration-cluster');
const registry = globalThis as { [SHARED]?: Shared };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = registry[SHARED] ??= { provided: startCluster(), users: 0 };
  shared.users += 1;
  const { values, stop } = await shared.provided;
  for (const [key, value] of Object.entries(values)) project.provide(key as keyof Provided, value as never);
  return async () => {
    shared.users -= 1;
    if (shared.users > 0) return;
    delete registry[SHARED];
    await stop?.();
  };
}

async function startCluster(): Promise<{ values: Provided; stop: (() => Promise<void>) | undefined }> {
  if (process.env.USE_EXISTING_CLUSTER === 'true') {
    const kubeconfig = process.env.KUBECONFIG;
    if (!kubeconfig) throw new Error('USE_EXISTING_CLUSTER=true needs KUBECONFIG to point at the cluster to test against');
    return { values: { kubeconfig, clusterLogDir: '(existing cluster: see its own logs)', clusterKind: 'existing', istiod: null }, stop: undefined };
  }
  if (process.env.SWITCHBOARD_TEST_CLUSTER === 'k3s') return startK3s();

  // A separate directory lets two runs (say, two checkouts) each have their own control plane.
  const stateDir = process.env.SWITCHBOARD_TEST_CLUSTER_DIR ?? join(PROJECT_ROOT, '.cluster-test');
  const pids = join(stateDir, 'test-processes.pids');
  // Started by integration-lanes.ts for several vitest processes at once: it stops it and what the
  // tests started, once every lane is done.
  const attached = process.env.SWITCHBOARD_TEST_CLUSTER_ATTACH === '1';
  if (!attached) {
    // A previous run that was killed hard: its control plane, and what its tests started.
    await stopInBackground(stateDir);
    killRememberedProcesses(pids);
  }
  const ready = await startInBackground(stateDir, process.pid);
  // Set after the supervisor started: it watches its own processes, and tests' workers inherit this.
  process.env.SWITCHBOARD_PID_REGISTRY = pids;
  return {
    values: { kubeconfig: ready.kubeconfig, clusterLogDir: ready.logDir, clusterKind: 'local', istiod: ready.istiod },
    stop: attached ? undefined : async () => {
      killRememberedProcesses(pids);
      await stopInBackground(stateDir);
    },
  };
}

async function startK3s(): Promise<{ values: Provided; stop: () => Promise<void> }> {
  const { K3sContainer } = await import('@testcontainers/k3s');
  const container = await new K3sContainer(process.env.K3S_IMAGE ?? 'rancher/k3s:v1.34.2-k3s1').start();
  const dir = join(PROJECT_ROOT, '.cluster-test');
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, 'k3s-kubeconfig');
  writeFileSync(kubeconfig, container.getKubeConfig(), { mode: 0o600 });
  return {
    values: { kubeconfig, clusterLogDir: '(k3s container: docker logs)', clusterKind: 'k3s', istiod: null },
    stop: async () => { await container.stop(); },
  };
}
