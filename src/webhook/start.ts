// The webhook side of `switchboard run`: its watches, its metrics and its HTTPS server. The manager
// imports this module only when the webhook runs, so a controller-only process loads no fastify,
// injector or webhook metrics.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { defaultInjectorConfig, loadInjectorConfigFile } from '../injector/config.ts';
import { watchNamespaceLabels } from '../kube/namespace-labels.ts';
import { createWebhookMetrics, withProcessMetrics } from '../observability/metrics.ts';
import { istioConfigurationNames, watchIstioConfiguration } from './istio-configuration.ts';
import { watchNativeSidecarSupport } from './native-sidecar-support.ts';
import { proxyIdentityEvents } from './proxy-identity-events.ts';
import { loadCertificatePair } from './certificates.ts';
import { createWebhookServer } from './server.ts';

export interface WebhookStartOptions {
  kubeConfig: KubeConfig;
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
  const { kubeConfig, logger } = options;
  const baseConfig = options.injectorConfigFile ? loadInjectorConfigFile(options.injectorConfigFile) : defaultInjectorConfig();
  // Before any watch starts: a certificate that cannot serve stops the start, leaving nothing behind.
  loadCertificatePair(options.tls.certFile, options.tls.keyFile);
  const istio = options.istioNamespace === '' ? undefined : watchIstioConfiguration({
    kubeConfig, base: baseConfig, names: istioConfigurationNames(options.istioNamespace, baseConfig.revision),
    onInvalid: (error) => logger.error({ err: error }, "Istio's injector configuration is invalid; keeping the previous one"),
    onError: (error) => logger.warn({ err: error }, 'Istio ConfigMap watch failed; restarting'),
  });
  const namespaces = watchNamespaceLabels(kubeConfig, (error) => logger.warn({ err: error }, 'namespace watch failed; restarting'));
  const nativeSidecarSupport = watchNativeSidecarSupport(kubeConfig, (error) => logger.warn({ err: error }, 'node watch failed; restarting'));
  const proxyIdentityAudit = proxyIdentityEvents(kubeConfig.makeApiClient(CoreV1Api), logger.child({ component: 'webhook' }));
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
    async stop() { await webhook.close(); await proxyIdentityAudit.flush(); await namespaces.stop(); await nativeSidecarSupport.stop(); await istio?.stop(); },
  };
}
