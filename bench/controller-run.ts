// One run of the controller benchmark: a fresh control plane, one controller, N rollouts (Rollouts,
// or Flagger's Canaries) brought to rest, then every image changed at once; measured until all
// are promoted.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { PROJECT_ROOT } from '../test/harness/binaries.ts';
import { istioCrdManifest } from '../test/harness/istio-api.ts';
import { startManagerProcess } from '../test/harness/manager-process.ts';
import { compiledEntries } from './compiled.ts';
import { ISTIOD_SETTLE } from '../test/harness/istiod.ts';
import { freePort } from '../test/harness/ports.ts';
import { sleep, startProcess, stopProcess, waitFor } from '../test/harness/processes.ts';
import { startPrometheus, type RunningPrometheus } from '../test/harness/prometheus.ts';
import { countPodCreations, countRequests } from './audit-log.ts';
import { startBenchCluster } from './controller-cluster.ts';
import { FLEETS, SCALE_DOWN_DELAY_SECONDS, type ControllerKind } from './controller-fleet.ts';
import { prometheusQueryCount, type RunFigures, type SyncFigures } from './controller-report.ts';
import { cpuSeconds, peakRssBytes } from './process-usage.ts';
import { RolloutTimeline } from './rollout-timeline.ts';

const NAMESPACE = 'bench';
const OLD_IMAGE = 'registry.local/app:v1';
const NEW_IMAGE = 'registry.local/app:v2';
/** Requests the bench itself sends at once when creating and changing objects. */
const CLIENT_CONCURRENCY = 32;
/** After the last promotion: long enough for the scale-down of canary pods to be counted too. */
const TAIL_MS = (SCALE_DOWN_DELAY_SECONDS + 10) * 1000;

export interface RunOptions {
  kind: ControllerKind;
  rollouts: number;
  /** Extra flags for `switchboard run`. */
  switchboardArgs: string[];
  timeoutMs: number;
  progress: (message: string) => void;
  /** istiod beside the API server; Switchboard then confirms each weight write with it. */
  istiod?: boolean;
}

export interface RunResult extends RunFigures {
  logDir: string;
}

const USERS: Record<ControllerKind, string> = { switchboard: 'bench-switchboard', argo: 'bench-argo-rollouts', flagger: 'bench-flagger' };

export async function runControllerScenario(options: RunOptions): Promise<RunResult> {
  const { kind, rollouts: n, progress } = options;
  const fleet = FLEETS[kind];
  const workDir = mkdtempSync(join(tmpdir(), `switchboard-bench-${kind}-`));
  const logDir = join(PROJECT_ROOT, '.bench', `controller-${kind}-${n}-${new Date().toISOString().replaceAll(':', '')}`);
  mkdirSync(logDir, { recursive: true });
  const argo = kind === 'argo' ? peerBuild('build-argo-rollouts.sh') : undefined;
  const flagger = kind === 'flagger' ? peerBuild('build-flagger.sh') : undefined;
  const istiod = kind === 'switchboard' && options.istiod === true;
  const cluster = await startBenchCluster({ workDir, logDir, rollouts: n, users: [USERS[kind]], podNamespace: NAMESPACE, progress, istiod });
  const cleanups: (() => Promise<void>)[] = [() => cluster.controlPlane.stop()];
  const cleanUp = async () => { for (const c of cleanups.splice(0).reverse()) await c().catch(() => {}); };
  const onSignal = () => void cleanUp().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { kubectl } = cluster.controlPlane;
    progress('installing CRDs');
    const crdFiles = [istioCrdManifest(['networking.istio.io']).path, join(PROJECT_ROOT, 'crds', 'switchboard.dev_rollouts.yaml'),
      ...(argo ? readdirSync(argo.crdDir).filter((f) => f.endsWith('-crd.yaml')).map((f) => join(argo.crdDir, f)) : []),
      ...(flagger ? [join(flagger.crdDir, 'crd.yaml')] : [])];
    for (const file of crdFiles) await kubectl(['apply', '--server-side', '-f', file]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    await kubectl(['create', 'namespace', NAMESPACE]);

    const controllerKubeconfig = cluster.kubeconfigFor(USERS[kind]);
    const metricsPort = await freePort();
    const istiodAddresses = cluster.controlPlane.istiod;
    const switchboardArgs = istiodAddresses === undefined ? options.switchboardArgs : [
      `--istiod-url=${istiodAddresses.httpUrl}`, `--istiod-settle=${ISTIOD_SETTLE}`, `--metrics-bind-address=127.0.0.1:${metricsPort}`, ...options.switchboardArgs,
    ];
    // Flagger's metric checks query it; nothing scrapes into it, so each query is its whole cost.
    let prometheus: RunningPrometheus | undefined;
    if (kind === 'flagger') {
      progress('starting Prometheus for Flagger\'s metric checks');
      prometheus = await startPrometheus({ targets: [], logDir });
      cleanups.push(() => prometheus!.stop());
    }
    const controllerPid = await startController(kind, controllerKubeconfig, logDir, switchboardArgs, argo?.bin ?? flagger?.bin, prometheus?.url, cleanups);
    const istiodPid = cluster.controlPlane.processes.find((p) => p.name === 'istiod')?.child.pid;

    const admin = new KubeConfig();
    admin.loadFromFile(cluster.controlPlane.kubeconfigPath);
    const timeline = new RolloutTimeline(admin, fleet, NAMESPACE);
    cleanups.push(() => timeline.stop());
    await timeline.synced();

    const names = Array.from({ length: n }, (_, i) => `app-${String(i).padStart(4, '0')}`);
    progress(kind === 'flagger' ? `creating ${n} Deployments and their Canaries` : `creating ${n} Rollouts with their DestinationRules and VirtualServices`);
    const objects = KubernetesObjectApi.makeApiClient(admin);
    await inParallel(fleet.shared(NAMESPACE, prometheus?.url), (o) => objects.create(o as KubernetesObject));
    await inParallel(names.flatMap((name) => fleet.supporting(NAMESPACE, name, OLD_IMAGE)), (o) => objects.create(o as KubernetesObject));
    await inParallel(names.map((name) => fleet.rollout(NAMESPACE, name, OLD_IMAGE)), (o) => objects.create(o as KubernetesObject));
    await waitFor(`${n} rollouts at rest before the change`, async () => timeline.settled(names) === n, {
      timeoutMs: 120_000 + n * 1_000, intervalMs: 1_000, logs: logDir,
    });
    // Let the controller finish whatever follows rest (scale-downs, events) before measuring.
    await sleep(5_000);

    const custom = admin.makeApiClient(CustomObjectsApi);
    const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    const changedAt = Date.now();
    const prometheusPid = prometheus?.pid;
    const cpuBefore = {
      controller: cpuSeconds(controllerPid), apiServer: cpuSeconds(cluster.apiServerPid),
      istiod: istiodPid === undefined ? 0 : cpuSeconds(istiodPid), prometheus: prometheusPid === undefined ? 0 : cpuSeconds(prometheusPid),
    };
    const queriesBefore = prometheus === undefined ? 0 : prometheusQueryCount(await (await fetch(`${prometheus.url}/metrics`)).text());
    const loadAtChange = loadavg()[0]!;
    progress(`changing the image of all ${n} rollouts`);
    await inParallel(names, (name) => custom.patchNamespacedCustomObject({
      ...fleet.workload, namespace: NAMESPACE, name,
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: NEW_IMAGE }],
    }, jsonPatch));

    const deadline = changedAt + options.timeoutMs;
    let promoted = 0;
    let lastReport = 0;
    while (Date.now() < deadline) {
      promoted = names.filter((name) => timeline.outcome(name, changedAt).promotedAfterMs !== undefined).length;
      if (promoted === n) break;
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        progress(`${promoted}/${n} promoted after ${Math.round((Date.now() - changedAt) / 1000)} s`);
      }
      await sleep(500);
    }
    const outcomes = names.map((name) => timeline.outcome(name, changedAt));
    const promotedTimes = outcomes.flatMap((o) => (o.promotedAfterMs === undefined ? [] : [o.promotedAfterMs]));
    await sleep(Math.max(0, Math.min(deadline, Date.now() + TAIL_MS) - Date.now()));
    const measuredUntil = Date.now();
    const result: RunResult = {
      kind, rollouts: n, promoted: promotedTimes.length,
      ...(promotedTimes.length === n ? { allPromotedMs: Math.max(...promotedTimes) } : {}),
      lateness: outcomes.flatMap((o) => o.lateness),
      controllerCpuSeconds: cpuSeconds(controllerPid) - cpuBefore.controller,
      controllerPeakRssBytes: peakRssBytes(controllerPid),
      apiServerCpuSeconds: cpuSeconds(cluster.apiServerPid) - cpuBefore.apiServer,
      requests: await countRequests(cluster.auditLogPath, USERS[kind], changedAt, measuredUntil),
      podsCreated: await countPodCreations(cluster.auditLogPath, NAMESPACE, changedAt, measuredUntil),
      loadAverage: [loadAtChange, loadavg()[0]!],
      logDir,
      ...(prometheus === undefined || prometheusPid === undefined ? {} : {
        prometheus: {
          queries: prometheusQueryCount(await (await fetch(`${prometheus.url}/metrics`)).text()) - queriesBefore,
          cpuSeconds: cpuSeconds(prometheusPid) - cpuBefore.prometheus,
        },
      }),
      ...(istiodAddresses === undefined ? {} : {
        dataPlane: await syncFigures(`http://127.0.0.1:${metricsPort}/metrics`),
        ...(istiodPid === undefined ? {} : { istiodCpuSeconds: cpuSeconds(istiodPid) - cpuBefore.istiod }),
      }),
    };
    return result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}

/** The controller's own histogram of confirmation times, read once at the end. */
async function syncFigures(url: string): Promise<Record<string, SyncFigures>> {
  const text = await (await fetch(url)).text();
  const figures: Record<string, SyncFigures> = {};
  const buckets: Record<string, [number, number][]> = {};
  for (const line of text.split('\n')) {
    const match = /^switchboard_data_plane_sync_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const level = labels.level ?? '?';
    const entry = (figures[level] ??= { count: 0, sumSeconds: 0, p99Bound: '-' });
    const value = Number(match[3]);
    if (match[1] === 'sum') entry.sumSeconds = value;
    else if (match[1] === 'count') entry.count = value;
    else (buckets[level] ??= []).push([labels.le === '+Inf' ? Infinity : Number(labels.le), value]);
  }
  for (const [level, entry] of Object.entries(figures)) {
    const bound = (buckets[level] ?? []).sort((a, b) => a[0] - b[0]).find(([, count]) => count >= 0.99 * entry.count);
    entry.p99Bound = bound === undefined ? '-' : String(bound[0]);
  }
  return figures;
}

async function startController(
  kind: ControllerKind, kubeconfig: string, logDir: string, switchboardArgs: string[], peerBin: string | undefined,
  prometheusUrl: string | undefined, cleanups: (() => Promise<void>)[],
): Promise<number> {
  if (kind === 'switchboard') {
    const manager = startManagerProcess([
      '--no-webhook', `--kubeconfig=${kubeconfig}`, '--metrics-bind-address=0', '--health-probe-bind-address=0', '--log-level=info',
      ...switchboardArgs,
    ], join(logDir, 'switchboard.log'), compiledEntries().main);
    cleanups.push(() => manager.kill());
    if (manager.child.pid === undefined) throw new Error('switchboard run did not start');
    return manager.child.pid;
  }
  if (kind === 'flagger') {
    // Flagger's defaults otherwise: 2 workers, client limit 100 requests/s, burst 250, no leader
    // election. Its one HTTP server (metrics, health) listens on all interfaces, on a free port.
    const controller = startProcess('flagger', peerBin!, [
      `-kubeconfig=${kubeconfig}`, '-mesh-provider=istio', `-metrics-server=${prometheusUrl!}`, `-port=${await freePort()}`, '-log-level=info',
    ], logDir);
    cleanups.push(() => stopProcess(controller));
    if (controller.child.pid === undefined) throw new Error('flagger did not start');
    return controller.child.pid;
  }
  // Argo's metrics and health servers take a port each and have no bind-address flag.
  const controller = startProcess('rollouts-controller', peerBin!, [
    `--kubeconfig=${kubeconfig}`, '--namespaced=false', '--leader-elect=false', '--loglevel=info',
    `--metricsPort=${await freePort()}`, `--healthzPort=${await freePort()}`,
  ], logDir);
  cleanups.push(() => stopProcess(controller));
  if (controller.child.pid === undefined) throw new Error('rollouts-controller did not start');
  return controller.child.pid;
}

/** A peer controller from its build script: the script prints the cache directory it built into. */
function peerBuild(script: 'build-argo-rollouts.sh' | 'build-flagger.sh'): { bin: string; crdDir: string } {
  // stderr is inherited so that the first build shows its progress.
  const outDir = execFileSync(join(PROJECT_ROOT, 'hack', script), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const binary = script === 'build-flagger.sh' ? 'flagger' : 'rollouts-controller';
  return { bin: join(outDir, 'bin', binary), crdDir: join(outDir, 'crds') };
}

async function inParallel<T>(items: T[], run: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CLIENT_CONCURRENCY, items.length) }, lane));
}
