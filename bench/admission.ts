// npm run bench -- admission [--pods=1000] [--concurrency=16]
// Pods per second created through a fresh local API server (kwok nodes), and what Switchboard's
// webhooks add to each: (a) no webhook registered, (b) both webhooks registered and served by a
// `switchboard run --no-controller` process, in an injection-enabled namespace, (c) registered but
// the namespace not labelled, so the namespaceSelector keeps the API server from calling them,
// then (a) again with the webhooks removed, to show how far the baseline drifted meanwhile.
// Client-side create latency, the API server's own webhook histogram, and the webhook process's
// CPU and memory from /proc. See bench/README.md for the method and the figures.
import { CoreV1Api, KubeConfig, KubernetesObjectApi, type V1Pod } from '@kubernetes/client-node';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../test/harness/binaries.ts';
import { createCertificateAuthority, issueCertificate } from '../test/harness/certs.ts';
import { startControlPlane, type RunningControlPlane } from '../test/harness/control-plane.ts';
import { startManagerProcess, type ManagerProcess } from '../test/harness/manager-process.ts';
import { compiledEntries } from './compiled.ts';
import { freePort } from '../test/harness/ports.ts';
import { waitFor } from '../test/harness/processes.ts';
import { webhookConfigurations } from '../test/harness/webhook-registration.ts';
import { histogramDelta, histogramQuantile, parseWebhookHistograms, type WebhookHistogram } from './admission-metrics.ts';
import { typicalPod } from './pods.ts';
import { cpuSeconds, peakRssBytes } from './process-usage.ts';
import { percentile, printTable } from './table.ts';

const MAX_PODS = 20_000;
const MAX_CONCURRENCY = 256;
/** Pods created before each measured run: first requests fill caches and open connections. */
const WARM_UP_PODS = 50;
const PODS_PER_NODE = 100;
const WEBHOOKS = { mutating: 'inject.switchboard.dev', validating: 'validate.switchboard.dev' };

interface AdmissionBenchFlags { pods: number; concurrency: number }

export function parseAdmissionBenchFlags(argv: string[]): AdmissionBenchFlags {
  const flags: AdmissionBenchFlags = { pods: 1000, concurrency: 16 };
  for (const arg of argv.filter((a) => a.startsWith('--'))) {
    const [key, value = ''] = arg.slice(2).split(/=(.*)/s) as [string, string?];
    const number = Number(value);
    switch (key) {
      case 'pods':
        if (!Number.isInteger(number) || number < 1 || number > MAX_PODS) throw new Error(`--pods takes a whole number from 1 to ${MAX_PODS}; got "${value}"`);
        flags.pods = number;
        break;
      case 'concurrency':
        if (!Number.isInteger(number) || number < 1 || number > MAX_CONCURRENCY) throw new Error(`--concurrency takes a whole number from 1 to ${MAX_CONCURRENCY}; got "${value}"`);
        flags.concurrency = number;
        break;
      default:
        throw new Error(`unknown flag --${key} for the admission benchmark; known: --pods, --concurrency`);
    }
  }
  return flags;
}

interface ScenarioResult {
  scenario: string;
  seconds: number;
  latenciesMs: number[];
  failures: number;
  injected: number;
  webhooks: Map<string, WebhookHistogram>;
  webhookCpuSeconds?: number;
}

export async function runAdmissionBench(argv = process.argv.slice(2)): Promise<void> {
  const flags = parseAdmissionBenchFlags(argv);
  const progress = (message: string) => console.error(`[admission] ${new Date().toISOString().slice(11, 19)} ${message}`);
  const workDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-admission-'));
  const logDir = join(PROJECT_ROOT, '.bench', `admission-${flags.pods}-${new Date().toISOString().replaceAll(':', '')}`);
  mkdirSync(logDir, { recursive: true });
  const podsInAll = 4 * (flags.pods + WARM_UP_PODS) + 100;
  const controlPlane = await startControlPlane({ workDir, logDir, progress, nodes: Math.ceil(podsInAll / PODS_PER_NODE) + 1 });
  let webhook: ManagerProcess | undefined;
  const loadBefore = loadavg()[0]!;
  try {
    const admin = new KubeConfig();
    admin.loadFromFile(controlPlane.kubeconfigPath);
    const core = admin.makeApiClient(CoreV1Api);
    const namespaces = { none: 'bench-no-webhook', injected: 'bench-injected', unlabelled: 'bench-unlabelled' };
    for (const [key, name] of Object.entries(namespaces)) {
      await core.createNamespace({ body: { metadata: { name, labels: key === 'unlabelled' ? {} : { 'istio-injection': 'enabled' } } } });
      await waitFor(`the default ServiceAccount of ${name}`, async () => (await core.readNamespacedServiceAccount({ namespace: name, name: 'default' }).catch(() => undefined)) !== undefined, { timeoutMs: 60_000, logs: logDir });
    }
    const results: ScenarioResult[] = [];
    progress(`(a) ${flags.pods} pods, ${flags.concurrency} in flight, no webhook registered`);
    results.push(await measure('no webhook', controlPlane, core, namespaces.none, flags));

    const served = await startWebhook(controlPlane, logDir, workDir);
    webhook = served.process;
    const { mutating, validating } = webhookConfigurations({
      name: 'switchboard-bench', url: served.url, caFile: served.caFile,
      namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
    });
    const objects = KubernetesObjectApi.makeApiClient(admin);
    await objects.create(mutating);
    await objects.create(validating);
    // The API server picks registrations up from its own informer: wait until pods come out injected.
    await waitFor('the API server calling the injector', async () => isInjected(await core.createNamespacedPod({ namespace: namespaces.injected, body: benchPod() })), { timeoutMs: 60_000, logs: logDir });

    progress(`(b) ${flags.pods} pods through both webhooks (namespace labelled istio-injection=enabled)`);
    results.push(await measure('webhooks, injected', controlPlane, core, namespaces.injected, flags, served.pid));
    progress(`(c) ${flags.pods} pods, webhooks registered, namespace not selected`);
    results.push(await measure('webhooks, namespace not selected', controlPlane, core, namespaces.unlabelled, flags, served.pid));

    // The baseline once more, webhooks removed: how far the machine and the fuller cluster moved it.
    await objects.delete(mutating);
    await objects.delete(validating);
    await waitFor('the API server no longer calling the injector', async () => !isInjected(await core.createNamespacedPod({ namespace: namespaces.injected, body: benchPod() })), { timeoutMs: 60_000, logs: logDir });
    progress(`(a') ${flags.pods} pods, webhooks removed again`);
    results.push(await measure('no webhook, again', controlPlane, core, namespaces.none, flags));

    console.log(`pods=${flags.pods} concurrency=${flags.concurrency}; 1-minute load average ${loadBefore.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end (${process.env.CI ? 'CI' : 'shared machine'})\n`);
    printResults(results, served.pid, served.readyRssBytes);
    console.log(`\nlogs: ${logDir}`);
  } finally {
    await webhook?.kill();
    await controlPlane.stop();
  }
}

function benchPod(): V1Pod {
  const pod = typicalPod();
  // The ServiceAccount admission plugin refuses pods whose account does not exist.
  delete pod.spec!.serviceAccountName;
  return pod;
}

function isInjected(pod: V1Pod): boolean {
  return pod.spec?.containers.some((c) => c.name === 'istio-proxy') ?? false;
}

async function startWebhook(controlPlane: RunningControlPlane, logDir: string, workDir: string): Promise<{ process: ManagerProcess; pid: number; url: string; caFile: string; readyRssBytes: number }> {
  const authority = createCertificateAuthority(join(workDir, 'webhook-pki'), 'bench-webhook-ca');
  const serving = issueCertificate(authority, 'webhook', { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const [port, healthPort] = [await freePort(), await freePort()];
  const manager = startManagerProcess([
    '--no-controller', `--kubeconfig=${controlPlane.kubeconfigPath}`, `--webhook-bind-address=127.0.0.1:${port}`,
    `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`, '--istio-namespace=',
    '--metrics-bind-address=0', `--health-probe-bind-address=127.0.0.1:${healthPort}`, '--log-level=info',
  ], join(logDir, 'switchboard-webhook.log'), compiledEntries().main);
  if (manager.child.pid === undefined) throw new Error('switchboard run did not start');
  await waitFor('switchboard run --no-controller ready', async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, logs: logDir });
  return { process: manager, pid: manager.child.pid, url: `https://127.0.0.1:${port}`, caFile: authority.certFile, readyRssBytes: currentRssBytes(manager.child.pid) };
}

async function measure(scenario: string, controlPlane: RunningControlPlane, core: CoreV1Api, namespace: string, flags: AdmissionBenchFlags, webhookPid?: number): Promise<ScenarioResult> {
  await createPods(core, namespace, WARM_UP_PODS, flags.concurrency);
  // The scheduler and kwok still placing the previous run's pods would slow this one: start level.
  await waitFor('every pod scheduled and Running', async () => (await core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Running', limit: 1 })).items.length === 0,
    { timeoutMs: 300_000 + flags.pods * 300, intervalMs: 1_000, logs: controlPlane.logDir });
  const metricsBefore = parseWebhookHistograms(await controlPlane.kubectl(['get', '--raw', '/metrics']));
  const cpuBefore = webhookPid === undefined ? undefined : cpuSeconds(webhookPid);
  const started = process.hrtime.bigint();
  const run = await createPods(core, namespace, flags.pods, flags.concurrency);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = webhookPid === undefined ? undefined : cpuSeconds(webhookPid);
  const metricsAfter = parseWebhookHistograms(await controlPlane.kubectl(['get', '--raw', '/metrics']));
  const webhooks = new Map(Object.values(WEBHOOKS).map((name) => [name, histogramDelta(metricsAfter.get(name), metricsBefore.get(name))]));
  return {
    scenario, seconds, ...run, webhooks,
    ...(cpuBefore !== undefined && cpuAfter !== undefined ? { webhookCpuSeconds: cpuAfter - cpuBefore } : {}),
  };
}

/** Creates `count` pods with `concurrency` requests in flight; the latency of each, sorted. */
async function createPods(core: CoreV1Api, namespace: string, count: number, concurrency: number): Promise<{ latenciesMs: number[]; failures: number; injected: number }> {
  const latenciesMs: number[] = [];
  let failures = 0;
  let injected = 0;
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      const start = process.hrtime.bigint();
      try {
        const pod = await core.createNamespacedPod({ namespace, body: benchPod() });
        latenciesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
        if (isInjected(pod)) injected++;
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { latenciesMs: latenciesMs.sort((a, b) => a - b), failures, injected };
}

function printResults(results: ScenarioResult[], webhookPid: number, readyRssBytes: number): void {
  const baseline = results[0]!;
  const ms = (seconds: number) => seconds * 1000;
  printTable(results.map((r) => ({
    scenario: r.scenario,
    created: r.latenciesMs.length,
    failed: r.failures,
    injected: r.injected,
    'pods/s': r.latenciesMs.length / r.seconds,
    'p50 ms': percentile(r.latenciesMs, 50),
    'p99 ms': percentile(r.latenciesMs, 99),
    'p50 added ms': percentile(r.latenciesMs, 50) - percentile(baseline.latenciesMs, 50),
    'webhook CPU ms/pod': r.webhookCpuSeconds === undefined ? '' : ms(r.webhookCpuSeconds) / Math.max(1, r.latenciesMs.length),
  })));
  const bounds = [...(results.find((r) => r.webhooks.get(WEBHOOKS.mutating)!.count > 0)?.webhooks.get(WEBHOOKS.mutating)!.buckets.keys() ?? [])].filter(Number.isFinite).sort((a, b) => a - b);
  console.log(`\nThe API server's apiserver_admission_webhook_admission_duration_seconds over each measured run (quantiles interpolated within its buckets, bounds ${bounds.map((b) => `${ms(b)} ms`).join(', ')}):\n`);
  printTable(results.flatMap((r) => Object.entries(WEBHOOKS).map(([kind, name]) => {
    const h = r.webhooks.get(name)!;
    return {
      scenario: r.scenario, webhook: `${name} (${kind})`, calls: h.count,
      'mean ms': h.count > 0 ? ms(h.sum / h.count) : '',
      '~p50 ms': h.count > 0 ? ms(histogramQuantile(h, 0.5)) : '',
      '~p99 ms': h.count > 0 ? ms(histogramQuantile(h, 0.99)) : '',
    };
  })));
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  console.log(`\nwebhook process RSS: ${mib(readyRssBytes)} once ready, ${mib(currentRssBytes(webhookPid))} at the end, peak ${mib(peakRssBytes(webhookPid))}`);
}

function currentRssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}
