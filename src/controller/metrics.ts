import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createControllerMetrics(registry = new Registry()) {
  return {
    registry,
    reconciles: new Counter({ name: 'switchboard_rollout_reconciles_total', help: 'Reconciles by result', labelNames: ['result'] as const, registers: [registry] }),
    actions: new Counter({ name: 'switchboard_rollout_actions_total', help: 'Actions decided, by kind', labelNames: ['kind'] as const, registers: [registry] }),
    reconcileDuration: new Histogram({
      name: 'switchboard_rollout_reconcile_duration_seconds', help: 'Time for one reconcile', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry],
    }),
    canaryWeight: new Gauge({ name: 'switchboard_rollout_canary_weight', help: 'Canary weight last written', labelNames: ['namespace', 'rollout'] as const, registers: [registry] }),
  };
}

export type ControllerMetrics = ReturnType<typeof createControllerMetrics>;
