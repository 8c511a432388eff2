import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The webhook's metrics, in a registry of their own so that tests and benches can make fresh ones. */
export function createWebhookMetrics(registry = new Registry()) {
  return {
    registry,
    requests: new Counter({
      name: 'switchboard_webhook_requests_total', help: 'Admission requests by endpoint and outcome',
      labelNames: ['endpoint', 'outcome'] as const, registers: [registry],
    }),
    injections: new Counter({ name: 'switchboard_injections_total', help: 'Pods injected with the sidecar', registers: [registry] }),
    skips: new Counter({
      name: 'switchboard_injection_skips_total', help: 'Pods left alone, by reason', labelNames: ['reason'] as const, registers: [registry],
    }),
    refusals: new Counter({
      name: 'switchboard_admission_refusals_total', help: 'Pods refused, by endpoint and reason',
      labelNames: ['endpoint', 'reason'] as const, registers: [registry],
    }),
    duration: new Histogram({
      name: 'switchboard_webhook_duration_seconds', help: 'Time to answer an admission request',
      labelNames: ['endpoint'] as const, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry],
    }),
    certificateReloads: new Counter({
      name: 'switchboard_webhook_certificate_reloads_total', help: 'Serving certificate reloads by result',
      labelNames: ['result'] as const, registers: [registry],
    }),
    // A timestamp rather than "seconds left": it only changes when the certificate does, and an
    // alert says `- time() < N` (docs/monitoring.md). Replicas may serve different certificates
    // for a moment during a renewal, so alert on the min across them.
    certificateExpiry: new Gauge({
      name: 'switchboard_webhook_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the serving certificate in use, as Unix seconds; set at start and on every reload',
      registers: [registry],
    }),
  };
}

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;

export function withProcessMetrics(registry: Registry): Registry {
  collectDefaultMetrics({ register: registry, prefix: 'switchboard_' });
  return registry;
}
