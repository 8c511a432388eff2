// make demo: the whole story on a local control plane, start to finish, in about two minutes.
//   1. a real control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok nodes)
//   2. `switchboard run`: the injector webhook and the rollout controller, as the cluster sees them
//   3. a Rollout of the article's payment service: injected pods, a refused UID-1337 pod,
//      a healthy canary promoted step by step, then a failing canary rolled back by Prometheus,
//      its pods kept until a slow proxy has stopped sending it requests.
// The traffic Prometheus judges is checkout's, routed by what checkout's (simulated) sidecar has
// applied from istiod: a weight reaches it only once istiod has pushed it. The controller asks
// istiod whether every proxy has each weight before a step's analysis and before pods go.
// Everything started here is stopped at the end (pass --keep to leave it running, and to be told
// how to open the dashboard on it).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DEFAULT_DASHBOARD_PORT } from '../src/dashboard/dashboard-command.ts';
import { loadKubeConfig } from '../src/kube/config.ts';
import { PROJECT_ROOT, resolveBinaries } from '../test/harness/binaries.ts';
import { startCallerTraffic } from '../test/harness/caller-traffic.ts';
import { createCertificateAuthority, issueCertificate } from '../test/harness/certs.ts';
import { discoveryCacheDir, startInBackground, stopInBackground } from '../test/harness/cli.ts';
import { ISTIOD_SETTLE } from '../test/harness/istiod.ts';
import { startLivePods } from '../test/harness/live-pods.ts';
import { freePort } from '../test/harness/ports.ts';
import { startPrometheus } from '../test/harness/prometheus.ts';
import { sleep } from '../test/harness/processes.ts';
import { webhookConfigurations } from '../test/harness/webhook-registration.ts';
import { startManagerProcess } from '../test/harness/manager-process.ts';

const keep = process.argv.includes('--keep');
const clusterDir = join(PROJECT_ROOT, '.cluster');
const say = (text: string) => console.log(`\n\x1b[1m==> ${text}\x1b[0m`);

const cluster = await startInBackground(clusterDir);
// Stopped in reverse order at the end, also when a step fails.
const cleanups: (() => Promise<void> | void)[] = [() => stopInBackground(clusterDir).then(() => undefined)];
let cleaningUp: Promise<void> | undefined;
const cleanUp = () => (cleaningUp ??= (async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
})());
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}
// Piped into `head`, stdout closes early: that must not skip the clean-up.
process.stdout.on('error', () => undefined);
try {
  const kubectlBinary = resolveBinaries().paths.kubectl;
  const kubectl = (args: string[], input?: string, allowFailure = false): string => {
    for (let attempt = 1; ; attempt++) {
      try {
        return execFileSync(kubectlBinary, [`--kubeconfig=${cluster.kubeconfig}`, `--cache-dir=${discoveryCacheDir(clusterDir)}`, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? String(error);
        // The API server's discovery can trail a CRD's Established condition by a moment.
        if (stderr.includes("doesn't have a resource type") && attempt < 20) {
          execFileSync('sleep', ['0.5']);
          continue;
        }
        if (!allowFailure) throw error;
        return stderr;
      }
    }
  };
  const show = (args: string[]) => console.log(kubectl(args).trimEnd());
  say(`control plane ready: KUBECONFIG=${cluster.kubeconfig}`);
  show(['get', 'nodes']);

  say('installing the Rollout CRD and the Istio CRDs');
  kubectl(['apply', '--server-side', '-f', 'crds/switchboard.dev_rollouts.yaml', '-f', 'crds/istio/']);
  kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  // kubectl cached discovery before these CRDs existed; make it look again.
  rmSync(discoveryCacheDir(clusterDir), { recursive: true, force: true });

  const certDir = join(PROJECT_ROOT, 'webhook-certs');
  mkdirSync(certDir, { recursive: true });
  const ca = createCertificateAuthority(join(certDir, 'ca'), 'switchboard-demo-ca');
  const serving = issueCertificate(ca, 'serving', { commonName: 'switchboard-webhook', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  copyFileSync(serving.certFile, join(certDir, 'tls.crt'));
  copyFileSync(serving.keyFile, join(certDir, 'tls.key'));

  // The traffic simulator's target is added once it listens.
  const prometheus = await startPrometheus({ targets: [], logDir: cluster.logDir });
  cleanups.push(() => prometheus.stop());
  const webhookPort = await freePort();
  const managerLog = join(cluster.logDir, 'switchboard.log');
  const manager = startManagerProcess([`--kubeconfig=${cluster.kubeconfig}`,
    `--webhook-bind-address=127.0.0.1:${webhookPort}`, `--tls-cert-file=${join(certDir, 'tls.crt')}`, `--tls-private-key-file=${join(certDir, 'tls.key')}`,
    `--prometheus-url=${prometheus.url}`, '--prometheus-scrape-interval=1s', '--metrics-bind-address=0', '--health-probe-bind-address=0',
    `--istiod-url=${cluster.istiod.httpUrl}`, `--istiod-settle=${ISTIOD_SETTLE}`], managerLog);
  cleanups.push(() => manager.kill());
  say(`switchboard run: webhook on https://127.0.0.1:${webhookPort}, controller judged by Prometheus at ${prometheus.url}, data plane confirmed by istiod at ${cluster.istiod.httpUrl} (log: ${managerLog})`);
  await sleep(1500);

  const { mutating, validating } = webhookConfigurations({
    name: 'switchboard-demo', url: `https://127.0.0.1:${webhookPort}`, caFile: ca.certFile,
    namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
  });
  kubectl(['apply', '-f', '-'], [mutating, validating].map((d) => stringify(d)).join('---\n'));

  say('namespace production (istio-injection=enabled) with the article\'s routing for payment-service, and its caller checkout');
  kubectl(['create', 'namespace', 'production'], undefined, true);
  kubectl(['label', 'namespace', 'production', 'istio-injection=enabled', '--overwrite']);
  kubectl(['apply', '-n', 'production', '-f', 'hack/demo/payment-routing.yaml', '-f', 'hack/demo/payment-service.yaml']);
  show(['get', 'services,virtualservices,destinationrules', '-n', 'production']);

  // A request to a pod that is gone fails, whatever a late sidecar still believes.
  const livePods = await startLivePods(loadKubeConfig(cluster.kubeconfig), 'production');
  cleanups.push(() => livePods.stop());
  const callerOptions = {
    kubeConfig: loadKubeConfig(cluster.kubeconfig), istiod: cluster.istiod, logDir: cluster.logDir, liveEndpoints: livePods,
    namespace: 'production', host: 'payment-service', port: 80,
    workloads: { stable: 'payment-service-stable', canary: 'payment-service-canary' },
  };
  const traffic = await startCallerTraffic({
    ...callerOptions, callerSelector: 'app=checkout', requestsPerSecond: 200,
    behaviour: { stable: { errorRate: 0.002, latencyMs: 30 }, canary: { errorRate: 0.002, latencyMs: 35 } },
  });
  cleanups.push(() => traffic.stop());
  prometheus.addTarget(traffic.target);
  const { simulator } = traffic;
  say(`checkout's sidecar (${traffic.sidecar.proxyId}) follows istiod at ${cluster.istiod.xdsAddress}; the traffic goes where it routes`);

  const rolloutPhase = () => {
    const line = kubectl(['get', 'rollout', 'payment-service', '-n', 'production', '-o', 'jsonpath={.status.phase} {.status.canaryWeight} {.status.step} {.status.message}']);
    const dataPlane = kubectl(['get', 'rollout', 'payment-service', '-n', 'production', '-o', 'jsonpath={.status.dataPlane.message}']);
    const canaryPods = kubectl(['get', 'deployment', 'payment-service-canary', '-n', 'production', '-o', 'jsonpath={.spec.replicas}'], undefined, true);
    return `${line}${dataPlane ? `\n            data plane: ${dataPlane}` : ''}${/^\d+$/.test(canaryPods) ? `; canary pods: ${canaryPods}` : ''}`;
  };
  async function follow(until: (phase: string) => boolean, timeoutMs: number): Promise<void> {
    let last = '';
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = rolloutPhase();
      if (line !== last) console.log(`  ${new Date().toISOString().slice(11, 19)}  ${line}`);
      last = line;
      if (until(line.split(' ')[0] ?? '')) return;
      await sleep(500);
    }
    throw new Error(`the rollout did not get there in ${timeoutMs / 1000}s; see ${managerLog}`);
  }

  say('Rollout payment-service v1: the first revision becomes stable');
  kubectl(['apply', '-n', 'production', '-f', 'hack/demo/rollout.yaml']);
  await follow((phase) => phase === 'Healthy', 60_000);
  show(['get', 'pods', '-n', 'production', '-o', 'custom-columns=POD:.metadata.name,CONTAINERS:.spec.containers[*].name,INIT:.spec.initContainers[*].name,READY:.status.containerStatuses[*].ready']);
  console.log(kubectl(['get', 'pods', '-n', 'production', '-o', 'jsonpath={.items[0].spec.containers[?(@.name=="istio-proxy")].resources}']));

  say('a pod that runs as UID 1337 (the proxy\'s) is refused by the API server');
  console.log(kubectl(['run', 'sneaky', '-n', 'production', '--image=busybox', '--overrides={"spec":{"containers":[{"name":"sneaky","image":"busybox","securityContext":{"runAsUser":1337}}]}}'], undefined, true).trimEnd());

  say('v2: a healthy canary walks 10% → 30% → 60% with Prometheus analysis at each step, then is promoted');
  kubectl(['patch', 'rollout', 'payment-service', '-n', 'production', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"payments:2.0"}]']);
  await sleep(1000);
  await follow((phase) => phase === 'Healthy', 120_000);
  show(['get', 'rollouts', '-n', 'production']);

  say('reports, a second caller of payment-service, gets a slow sidecar: it applies every push from istiod 10 s late');
  const slow = await startCallerTraffic({
    ...callerOptions, callerSelector: 'app=reports', requestsPerSecond: 50, applyDelaySeconds: 10,
    behaviour: { stable: { errorRate: 0, latencyMs: 30 }, canary: { errorRate: 0, latencyMs: 35 } },
    // Its first pushes, 10 s late each, have routes before endpoints: its traffic starts once it can be served.
    startOnceApplied: (applied) => {
      const weighted = applied.routes.at(-1)?.clusters.filter((c) => c.weight > 0) ?? [];
      return weighted.length > 0 && weighted.every((c) => applied.clusters[c.name]?.endpoints.some((e) => e.healthy));
    },
  });
  cleanups.push(() => slow.stop());
  say(`${slow.sidecar.proxyId} caught up with istiod; from now on each weight counts only once it has it too`);

  say('v3: a canary that fails 25% of its requests is rolled back; its pods stay until the slow proxy stops sending them requests');
  simulator.setBehaviour('canary', { errorRate: 0.25 });
  kubectl(['patch', 'rollout', 'payment-service', '-n', 'production', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"payments:3.0"}]']);
  await follow((phase) => phase === 'RolledBack', 120_000);
  show(['get', 'rollouts', '-n', 'production']);
  console.log(kubectl(['get', 'rollout', 'payment-service', '-n', 'production', '-o', 'jsonpath={.status.rollback.message}']));
  await follow(() => kubectl(['get', 'deployment', 'payment-service-canary', '-n', 'production', '-o', 'jsonpath={.spec.replicas}']) === '0', 60_000);
  const sourceCounts = async () => {
    const values = (await slow.simulator.registry.getMetricsAsJSON()).find((metric) => metric.name === 'istio_requests_total')?.values ?? [];
    const fromProxy = values.filter((value) => value.labels.reporter === 'source');
    const sum = (list: typeof fromProxy) => list.reduce((total, value) => total + value.value, 0);
    return { sent: sum(fromProxy), failed: sum(fromProxy.filter((value) => value.labels.response_flags !== '-')) };
  };
  const slowCounts = await sourceCounts();
  say(`the slow proxy sent ${slowCounts.sent} requests; ${slowCounts.failed} went to a pod that was gone or found none`);
  say('the VirtualService after the rollback (retries and the beta-user route untouched)');
  console.log(kubectl(['get', 'virtualservice', 'payment-service-routing', '-n', 'production', '-o', 'yaml']).split('\nspec:\n')[1]);
  say('events');
  show(['get', 'events', '-n', 'production', '--field-selector', 'involvedObject.kind=Rollout', '--sort-by=.lastTimestamp', '-o', 'custom-columns=REASON:.reason,MESSAGE:.message']);
} finally {
  if (keep) {
    say(`left running: KUBECONFIG=${cluster.kubeconfig} (make cluster-down stops the control plane)`);
    // `make demo` builds dist, the dashboard's page included.
    say(`watch and operate it in the dashboard: KUBECONFIG=${cluster.kubeconfig} node_modules/.bin/node dist/cli/main.js dashboard --open\n` +
      `    then open http://127.0.0.1:${DEFAULT_DASHBOARD_PORT}/#/production/payment-service (docs/dashboard.md)`);
  } else {
    await cleanUp();
    say('demo finished; everything it started is stopped');
  }
}
