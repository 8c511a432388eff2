// `switchboard run`: the manager. Flags in the words kubebuilder users know; wiring only.
import type { Command } from 'commander';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { startLeaderElection, type LeaderElector } from '../controller/leader-election.ts';
import { createControllerMetrics } from '../controller/metrics.ts';
import { RolloutController } from '../controller/rollout-controller.ts';
import { addControllerTuningOptions, controllerTuning, type ControllerTuningCliOptions } from '../controller/tuning-flags.ts';
import { defaultInjectorConfig, loadInjectorConfigFile } from '../injector/config.ts';
import { loadKubeConfig } from '../kube/config.ts';
import { watchNamespaceLabels } from '../kube/namespace-labels.ts';
import { addPrometheusOptions, analysisConcurrency, buildPrometheusProviders, scrapeIntervalMs, type AnalysisCliOptions, type PrometheusCliOptions } from './prometheus-options.ts';
import { createWebhookMetrics, withProcessMetrics } from '../observability/metrics.ts';
import { createWebhookServer, type WebhookServer } from '../webhook/server.ts';

export interface RunOptions extends PrometheusCliOptions, AnalysisCliOptions, ControllerTuningCliOptions {
  kubeconfig?: string;
  webhook: boolean;
  controller: boolean;
  webhookBindAddress: string;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  injectorConfig?: string;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  logLevel: string;
}

function splitAddress(address: string): { host: string; port: number } {
  const index = address.lastIndexOf(':');
  const host = address.slice(0, index) || '0.0.0.0';
  return { host, port: Number(address.slice(index + 1)) };
}

export function registerRunCommand(program: Command): void {
  addControllerTuningOptions(addPrometheusOptions(program.command('run')))
    .description('run the injector webhook and the rollout controller')
    .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--no-webhook', 'do not serve the injector webhook')
    .option('--no-controller', 'do not run the rollout controller')
    .option('--webhook-bind-address <host:port>', 'HTTPS address of /inject, /validate, /metrics', ':9443')
    .option('--tls-cert-file <path>', 'serving certificate (re-read when it changes)', 'webhook-certs/tls.crt')
    .option('--tls-private-key-file <path>', 'serving key', 'webhook-certs/tls.key')
    .option('--injector-config <path>', 'injector configuration YAML or ConfigMap')
    .option('--metrics-bind-address <host:port>', 'controller metrics address (0 disables)', ':8080')
    .option('--health-probe-bind-address <host:port>', '/healthz and /readyz address (0 disables)', ':8081')
    .option('--leader-elect', 'elect a leader on a Lease so that only one replica acts', false)
    .option('--leader-election-namespace <ns>', 'namespace of the Lease', process.env.POD_NAMESPACE ?? 'switchboard-system')
    .option('--leader-election-id <name>', 'name of the Lease', 'switchboard-controller')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (options: RunOptions) => {
      const stop = await startManager(options, pino({ level: options.logLevel }));
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop().then(() => process.exit(0)));
    });
}

/** Starts what the options ask for; resolves with a function that stops it all gracefully. */
export async function startManager(options: RunOptions, logger: Logger): Promise<() => Promise<void>> {
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  const prometheus = buildPrometheusProviders(options); // before anything starts: bad flags fail here
  const tuning = controllerTuning(options);
  const stops: (() => Promise<void>)[] = [];
  let controllerReady = !options.controller;

  if (options.webhook) {
    const config = options.injectorConfig ? loadInjectorConfigFile(options.injectorConfig) : defaultInjectorConfig();
    const namespaces = watchNamespaceLabels(kubeConfig, (error) => logger.warn({ err: error }, 'namespace watch failed; restarting'));
    const webhook: WebhookServer = createWebhookServer({
      config, namespaces, metrics: createWebhookMetrics(withProcessMetrics(new Registry())), logger: logger.child({ component: 'webhook' }),
      tls: { certFile: options.tlsCertFile, keyFile: options.tlsPrivateKeyFile },
      ...(process.env.POD_NAMESPACE ? { webhookNamespace: process.env.POD_NAMESPACE } : {}),
    });
    await namespaces.synced;
    const { host, port } = splitAddress(options.webhookBindAddress);
    const bound = await webhook.listen(host, port);
    logger.info({ port: bound }, 'injector webhook serving');
    stops.push(async () => { await webhook.close(); await namespaces.stop(); });
  }

  if (options.controller) {
    const metrics = createControllerMetrics(options.webhook ? new Registry() : withProcessMetrics(new Registry()));
    const controller = new RolloutController({
      kubeConfig, logger: logger.child({ component: 'controller' }), metrics,
      metricsProviders: prometheus,
      minAnalysisWindowMs: 4 * scrapeIntervalMs(options.prometheusScrapeInterval),
      analysisConcurrency: analysisConcurrency(options.analysisConcurrency), ...tuning,
    });
    await controller.startInformers();
    let elector: LeaderElector | undefined;
    if (options.leaderElect) {
      elector = startLeaderElection({
        kubeConfig, namespace: options.leaderElectionNamespace, name: options.leaderElectionId,
        identity: `${hostname()}-${process.pid}`, logger,
        onStartedLeading: () => controller.run(),
        // Like controller-runtime: a replica that lost the lease exits, and starts again as a candidate.
        onStoppedLeading: () => { logger.error('leadership lost; exiting'); process.exit(1); },
      });
    } else {
      controller.run();
    }
    controllerReady = true;
    stops.push(async () => { await controller.stop(); await elector?.stop(); });
    const servers = [
      serveIfEnabled(options.metricsBindAddress, async (_req, res) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      }),
    ];
    stops.push(async () => { await Promise.all(servers.map(closeServer)); });
  }

  const health = serveIfEnabled(options.healthProbeBindAddress, async (req, res) => {
    const ok = req.url === '/healthz' || (req.url === '/readyz' && controllerReady);
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
  });
  stops.push(() => closeServer(health));
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}

function serveIfEnabled(address: string, handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => Promise<void>): Server | undefined {
  if (address === '0' || address === '') return undefined;
  const { host, port } = splitAddress(address);
  const server = createServer((req, res) => void handler(req, res));
  server.listen(port, host);
  return server;
}

function closeServer(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
