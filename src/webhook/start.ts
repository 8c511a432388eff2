// The webhook side of `switchboard run`: its watches, its metrics and its HTTPS server. The manager
// imports this module only when the webhook runs, so a controller-only process loads no fastify,
// injector or webhook metrics.
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { defaultInjectorConfig, loadInjectorConfigFile } from '../injector/config.ts';
import { kubeClient } from '../kube/lite/client.ts';
import type { KubeConnection } from '../kube/lite/connection.ts';
import { watchNamespaceLabels } from '../kube/namespace-labels.ts';
import { createWebhookMetrics, withProcessMetrics } from '../observability/metrics.ts';
import { istioConfigurationNames, watchIstioConfiguration } from './istio-configuration.ts';
import { watchNativeSidecarSupport } from './native-sidecar-support.ts';
import { eventsThrough, proxyIdentityEvents } from './proxy-identity-events.ts';
import { loadCertificatePair } from './certificates.ts';
import { createWebhookServer } from './server.ts';

export interface WebhookStartOptions {
  /** The API server, reached without client-node (kube/lite/connection.ts says why). */
  connection: KubeConnection;
  /** Switchboard's injector configuration file; the defaults when absent. */
  injectorConfigFile?: string;
  /** Where istiod's ConfigMaps are read from; '' ignores them. */
  istioNamespace: string;
  host: string;
  port: number;
  tls: { certFile: string; keyFile: string };
  logger: Logger;
  webhookNamespace?: string;
}

export interface StartedWebhook {
  /** Why the webhook should not receive reviews yet (or any more); undefined when it is ready. */
  notReadyReason(): string | undefined;
  /** Resolves with the bound port once the caches have synced and the server listens. */
  serving: Promise<number>;
  stop(): Promise<void>;
}

export function startWebhook(options: WebhookStartOptions): StartedWebhook {
  const { logger } = options;
  const baseConfig = options.injectorConfigFile ? loadInjectorConfigFile(options.injectorConfigFile) : defaultInjectorConfig();
  // Before any watch starts: a certificate that cannot serve stops the start, leaving nothing behind.
  loadCertificatePair(options.tls.certFile, options.tls.keyFile);
  const client = kubeClient(options.connection);
  const istio = options.istioNamespace === '' ? undefined : watchIstioConfiguration({
    client, base: baseConfig, names: istioConfigurationNames(options.istioNamespace, baseConfig.revision),
    onInvalid: (error) => logger.error({ err: error }, "Istio's injector configuration is invalid; keeping the previous one"),
    onError: (error) => logger.warn({ err: error }, 'Istio ConfigMap watch failed; restarting'),
  });
  const namespaces = watchNamespaceLabels(client, (error) => logger.warn({ err: error }, 'namespace watch failed; restarting'));
  const nativeSidecarSupport = watchNativeSidecarSupport(client, (error) => logger.warn({ err: error }, 'node watch failed; restarting'));
  const proxyIdentityAudit = proxyIdentityEvents(eventsThrough(client), logger.child({ component: 'webhook' }));
  const webhook = createWebhookServer({
    get config() { return istio?.current() ?? baseConfig; }, namespaces, nativeSidecarSupport, proxyIdentityAudit,
    metrics: createWebhookMetrics(withProcessMetrics(new Registry())), logger: logger.child({ component: 'webhook' }),
    tls: options.tls,
    ...(options.webhookNamespace ? { webhookNamespace: options.webhookNamespace } : {}),
  });
  const serving = Promise.all([namespaces.synced, nativeSidecarSupport.synced, istio?.synced]).then(() => webhook.listen(options.host, options.port));
  return {
    notReadyReason: () => webhook.notReadyReason(),
    serving,
    async stop() { await webhook.close(); await proxyIdentityAudit.flush(); await namespaces.stop(); await nativeSidecarSupport.stop(); await istio?.stop(); client.close(); },
  };
}
