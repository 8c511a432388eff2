// `switchboard run`: the manager. Flags in the words kubebuilder users know; wiring only.
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeConnection } from '../../kube/lite/connection.ts';
import type { Logger } from 'pino';
import { Option, type Command } from 'commander';
import type { LeaderElector } from '../../controller/leader-election.ts';
import { DEFAULT_LEADER_ELECTION_TIMING } from '../../controller/leader-election-timing.ts';
import { addControllerTuningOptions, controllerTuning, type ControllerTuningCliOptions } from '../../controller/tuning-flags.ts';
import { parseFlagDuration } from './flag-duration.ts';
import { addIstiodOptions, istiodAccess, type IstiodCliOptions } from './istiod-options.ts';
import { addPrometheusOptions, analysisConcurrency, buildPrometheusProviders, scrapeIntervalMs, type AnalysisCliOptions, type PrometheusCliOptions } from './prometheus-options.ts';

export interface RunOptions extends PrometheusCliOptions, AnalysisCliOptions, ControllerTuningCliOptions, IstiodCliOptions {
  kubeconfig?: string;
  /** The kubeconfig context to use instead of its current one, as kubectl's --context. */
  context?: string;
  webhook: boolean;
  controller: boolean;
  webhookBindAddress: string;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  injectorConfig?: string;
  /** Where istiod's ConfigMaps are read from; '' ignores them. Default istio-system. */
  istioNamespace?: string;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
  /** Name of the notifications ConfigMap and Secret; '' sends none. */
  notificationsConfig: string;
  notificationsNamespace: string;
  notificationsReloadInterval: number;
  logLevel: string;
}

function splitAddress(address: string): { host: string; port: number } {
  const index = address.lastIndexOf(':');
  const host = address.slice(0, index) || '0.0.0.0';
  return { host, port: Number(address.slice(index + 1)) };
}

function durationOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).argParser(parseFlagDuration).default(defaultMs, `${defaultMs / 1000}s`);
}

/** Gives the `run` command program.ts registered its flags and action (this module is loaded only for run). */
export function defineRunCommand(command: Command): void {
  addIstiodOptions(addControllerTuningOptions(addPrometheusOptions(command)))
    .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)')
    .option('--no-webhook', 'do not serve the injector webhook')
    .option('--no-controller', 'do not run the rollout controller')
    .option('--webhook-bind-address <host:port>', 'HTTPS address of /inject, /validate, /metrics', ':9443')
    .option('--tls-cert-file <path>', 'serving certificate (re-read when it changes)', 'webhook-certs/tls.crt')
    .option('--tls-private-key-file <path>', 'serving key', 'webhook-certs/tls.key')
    .option('--injector-config <file>', "Switchboard's injector config (YAML, or a ConfigMap holding it); defaults to the built-in config")
    .option('--istio-namespace <ns>', "namespace of istiod's istio-sidecar-injector and istio ConfigMaps, followed live ('' to ignore them)", 'istio-system')
    .option('--metrics-bind-address <host:port>', 'controller metrics address (0 disables)', ':8080')
    .option('--health-probe-bind-address <host:port>', '/healthz and /readyz address (0 disables)', ':8081')
    .option('--leader-elect', 'elect a leader on a Lease so that only one replica acts', false)
    .option('--leader-election-namespace <ns>', 'namespace of the Lease', process.env.POD_NAMESPACE ?? 'switchboard-system')
    .option('--leader-election-id <name>', 'name of the Lease', 'switchboard-controller')
    .addOption(durationOption('--leader-elect-lease-duration <duration>', 'how long a standby waits after it last saw the lease change', DEFAULT_LEADER_ELECTION_TIMING.leaseDurationMs))
    .addOption(durationOption('--leader-elect-renew-deadline <duration>', 'how long the leader acts without renewing; shorter than the lease duration', DEFAULT_LEADER_ELECTION_TIMING.renewDeadlineMs))
    .addOption(durationOption('--leader-elect-retry-period <duration>', 'how often to try to acquire or renew the lease', DEFAULT_LEADER_ELECTION_TIMING.retryPeriodMs))
    .option('--notifications-config <name>', "ConfigMap (sinks) and Secret (their credentials) of notifications ('' sends none)", 'switchboard-notifications')
    .option('--notifications-namespace <ns>', 'namespace of the notifications ConfigMap and Secret', process.env.POD_NAMESPACE ?? 'switchboard-system')
    .addOption(durationOption('--notifications-reload-interval <duration>', 'how often the leader reads the notifications ConfigMap and Secret again', 30_000))
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (options: RunOptions) => {
      let stop: () => Promise<void>;
      try {
        // Loaded here, not with the module: `run --help` and TAB on run's flags need none of it.
        const { pino } = await import('pino');
        stop = await startManager(options, pino({ level: options.logLevel }));
      } catch (error) {
        // One line, and out: a manager that lingers after a bad start would answer its probes and
        // be sent reviews it cannot serve (every mesh pod refused under failurePolicy Fail).
        process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      }
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop().then(() => process.exit(0)));
    });
}

/**
 * Starts what the options ask for; resolves with a function that stops it all gracefully.
 * Readiness (/readyz) holds while the webhook serves a valid certificate and, when the controller
 * runs here, its informers have synced; losing the lease stops only the controller's workers.
 */
export async function startManager(options: RunOptions, logger: Logger): Promise<() => Promise<void>> {
  // Each side loads its own client: a webhook-only process never loads client-node, whose
  // generated API is most of its memory (kube/lite/connection.ts).
  let kubeConfig: KubeConfig | undefined;
  if (options.controller) {
    const [{ checkLeaderElectionTiming, defaultRequestTimeoutMs }, { loadKubeConfig }] = await Promise.all([
      import('../../controller/leader-election.ts'), import('../../kube/config.ts'),
    ]);
    if (options.leaderElect) {
      // Before anything starts: a bad combination of flags is the operator's to fix, not a crash later.
      checkLeaderElectionTiming({
        leaseDurationMs: options.leaderElectLeaseDuration, renewDeadlineMs: options.leaderElectRenewDeadline,
        retryPeriodMs: options.leaderElectRetryPeriod, requestTimeoutMs: defaultRequestTimeoutMs(options.leaderElectRenewDeadline),
      });
    }
    kubeConfig = loadKubeConfig(options.kubeconfig, options.context);
  }
  const connection = options.webhook
    ? (await import('../../kube/lite/connection.ts')).loadKubeConnection(options.kubeconfig, options.context)
    : undefined;
  const prometheus = buildPrometheusProviders(options); // before anything starts: bad flags fail here
  const tuning = controllerTuning(options);
  const stops: (() => Promise<void>)[] = [];
  let started = false;
  // Not ready until every part asked for serves; a part that fails to start takes the process down.
  const readinessChecks: (() => string | undefined)[] = [() => (started ? undefined : 'starting')];
  // First, so that liveness answers while caches fill and the probes say why the pod is not ready.
  const health = serveIfEnabled(options.healthProbeBindAddress, async (req, res) => {
    const problems = req.url === '/readyz' ? readinessChecks.map((check) => check()).filter((p) => p !== undefined) : [];
    const ok = req.url === '/healthz' || (req.url === '/readyz' && problems.length === 0);
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : problems.join('; ') || 'not found');
  });
  stops.push(() => closeServer(health));
  try {
    await startParts(options, logger, { kubeConfig, connection, prometheus, tuning, stops, readinessChecks });
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
  started = true;
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}

interface Wiring {
  /** client-node's, for the controller; undefined when it does not run. */
  kubeConfig: KubeConfig | undefined;
  /** The webhook's; undefined when it does not run. */
  connection: KubeConnection | undefined;
  prometheus: ReturnType<typeof buildPrometheusProviders>;
  tuning: ReturnType<typeof controllerTuning>;
  stops: (() => Promise<void>)[];
  readinessChecks: (() => string | undefined)[];
}

async function startParts(options: RunOptions, logger: Logger, { kubeConfig, connection, prometheus, tuning, stops, readinessChecks }: Wiring): Promise<void> {
  if (connection) {
    // Each side is imported only when it runs: a webhook-only process carries no controller, and
    // a controller-only one no fastify or injector (docs/webhooks.md, "Memory and work per review").
    const { startWebhook } = await import('../../webhook/start.ts');
    const { host, port } = splitAddress(options.webhookBindAddress);
    const webhook = startWebhook({
      connection, istioNamespace: options.istioNamespace ?? 'istio-system', host, port, logger,
      tls: { certFile: options.tlsCertFile, keyFile: options.tlsPrivateKeyFile },
      ...(options.injectorConfig ? { injectorConfigFile: options.injectorConfig } : {}),
      ...(process.env.POD_NAMESPACE ? { webhookNamespace: process.env.POD_NAMESPACE } : {}),
    });
    readinessChecks.push(() => webhook.notReadyReason());
    const bound = await webhook.serving;
    logger.info({ port: bound }, 'injector webhook serving');
    stops.push(() => webhook.stop());
  }

  if (kubeConfig) {
    let informersSynced = false;
    readinessChecks.push(() => (informersSynced ? undefined : 'controller informers not synced yet'));
    const [{ createControllerMetrics }, { RolloutController }, { withProcessMetrics }, { Registry }, { shardLeaseName, startLeaderElection }] = await Promise.all([
      import('../../controller/metrics.ts'), import('../../controller/rollout-controller.ts'), import('../../observability/metrics.ts'),
      import('prom-client'), import('../../controller/leader-election.ts'),
    ]);
    const metrics = createControllerMetrics(options.webhook ? new Registry() : withProcessMetrics(new Registry()));
    const istiod = await istiodAccess(options, kubeConfig);
    const notifier = await startNotifier(options, kubeConfig, logger, metrics.registry);
    const controller = new RolloutController({
      ...(istiod === undefined ? {} : { istiod }), ...(notifier === undefined ? {} : { notifier }),
      kubeConfig, logger: logger.child({ component: 'controller' }), metrics,
      metricsProviders: prometheus,
      minAnalysisWindowMs: 4 * scrapeIntervalMs(options.prometheusScrapeInterval),
      analysisConcurrency: analysisConcurrency(options.analysisConcurrency), ...tuning,
    });
    await controller.startInformers();
    informersSynced = true;
    let elector: LeaderElector | undefined;
    const lease = shardLeaseName(options.leaderElectionId, tuning.shardSelector?.text);
    const leading = (value: number) => metrics.leading.set({ lease }, value);
    if (options.leaderElect) {
      leading(0);
      elector = startLeaderElection({
        kubeConfig, namespace: options.leaderElectionNamespace, name: lease,
        identity: process.env.POD_NAME ?? `${hostname()}-${process.pid}`, logger,
        leaseDurationMs: options.leaderElectLeaseDuration, renewDeadlineMs: options.leaderElectRenewDeadline, retryPeriodMs: options.leaderElectRetryPeriod,
        onStartedLeading: () => { leading(1); notifier?.lead(); controller.run(); },
        // The webhook in this process keeps serving: admission does not need the lease. The elector
        // keeps campaigning, and the warm informers let this replica lead again at once.
        onStoppedLeading: () => { leading(0); notifier?.follow(); void controller.stopWorkers(); },
      });
    } else {
      leading(1);
      notifier?.lead();
      controller.run();
    }
    stops.push(async () => { await controller.stop(); await notifier?.stop(); await elector?.stop(); });
    const servers = [
      serveIfEnabled(options.metricsBindAddress, async (_req, res) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      }),
    ];
    stops.push(async () => { await Promise.all(servers.map(closeServer)); });
  }
}

async function startNotifier(options: RunOptions, kubeConfig: KubeConfig, logger: Logger, registry: import('prom-client').Registry) {
  if (options.notificationsConfig === '') return undefined;
  const [{ CoreV1Api }, { Notifier }, { EventRecorder }] = await Promise.all([
    import('@kubernetes/client-node'), import('../../notifications/notifier.ts'), import('../../controller/events.ts'),
  ]);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const log = logger.child({ component: 'notifications' });
  return new Notifier({
    core, events: new EventRecorder(core, log), namespace: options.notificationsNamespace, name: options.notificationsConfig,
    logger: log, registry, reloadIntervalMs: options.notificationsReloadInterval,
  });
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
