// The proxy's own probes: Envoy's readiness on its health port, as Istio's templates write them.
import type { V1Probe } from '@kubernetes/client-node';
import type { InjectorConfig } from '../config.ts';
import { healthPort } from '../istio/istio-constants.ts';

// A 0 from Istio's values is left out, as Go leaves it out: the API server then applies its defaults.
const unlessZero = <K extends string>(key: K, value: number) => (value === 0 ? {} : ({ [key]: value } as Record<K, number>));

export function startupProbe(config: InjectorConfig): V1Probe {
  return {
    httpGet: { path: '/healthz/ready', port: healthPort },
    initialDelaySeconds: 0,
    periodSeconds: 1,
    timeoutSeconds: 3,
    ...unlessZero('failureThreshold', config.startupProbe.failureThreshold),
  };
}

export function readinessProbe(readiness: { initialDelaySeconds: number; periodSeconds: number; failureThreshold: number }, config: InjectorConfig): V1Probe {
  const { initialDelaySeconds, periodSeconds, failureThreshold } = readiness;
  return {
    httpGet: { path: '/healthz/ready', port: healthPort },
    initialDelaySeconds,
    ...unlessZero('periodSeconds', periodSeconds),
    timeoutSeconds: config.readinessProbe.timeoutSeconds,
    ...unlessZero('failureThreshold', failureThreshold),
  };
}
