// The CRD's defaults, applied again in the pure core: objects built in tests, or stored before a
// default existed, behave exactly like objects that went through the API server.
import type { AnalysisSpec, Rollout, RolloutSpec, TrafficRouting } from './types.ts';

export const DEFAULT_REPLICAS = 1;
export const DEFAULT_STABLE_SUBSET = 'stable';
export const DEFAULT_CANARY_SUBSET = 'canary';
export const DEFAULT_ANALYSIS_INTERVAL = '1m';
export const DEFAULT_FAILURE_LIMIT = 0;
export const DEFAULT_MIN_REQUESTS = 20;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
/** Below this an analysis window holds too few scrapes to say anything. */
export const MIN_ANALYSIS_INTERVAL_MS = 5_000;

export interface ResolvedTrafficRouting {
  host: string;
  virtualService: { name: string; routes: string[] };
  destinationRule: { name: string; stableSubset: string; canarySubset: string };
}

export type ResolvedAnalysis = Required<Omit<AnalysisSpec, 'maxErrorRateIncrease'>> &
  Pick<AnalysisSpec, 'maxErrorRateIncrease'>;

export interface ResolvedSpec extends Omit<RolloutSpec, 'trafficRouting' | 'analysis'> {
  replicas: number;
  progressDeadlineSeconds: number;
  paused: boolean;
  trafficRouting: ResolvedTrafficRouting;
  analysis: ResolvedAnalysis | undefined;
}

export function resolveTrafficRouting(routing: TrafficRouting): ResolvedTrafficRouting {
  return {
    host: routing.host,
    virtualService: { name: routing.virtualService.name, routes: routing.virtualService.routes ?? [] },
    destinationRule: {
      name: routing.destinationRule.name,
      stableSubset: routing.destinationRule.stableSubset ?? DEFAULT_STABLE_SUBSET,
      canarySubset: routing.destinationRule.canarySubset ?? DEFAULT_CANARY_SUBSET,
    },
  };
}

export function resolveAnalysis(analysis: AnalysisSpec | undefined): ResolvedAnalysis | undefined {
  if (analysis === undefined) return undefined;
  return {
    interval: analysis.interval ?? DEFAULT_ANALYSIS_INTERVAL,
    failureLimit: analysis.failureLimit ?? DEFAULT_FAILURE_LIMIT,
    minRequests: analysis.minRequests ?? DEFAULT_MIN_REQUESTS,
    maxErrorRateIncrease: analysis.maxErrorRateIncrease,
    metrics: analysis.metrics,
  };
}

export function resolveSpec(rollout: Rollout): ResolvedSpec {
  const { spec } = rollout;
  return {
    ...spec,
    replicas: spec.replicas ?? DEFAULT_REPLICAS,
    progressDeadlineSeconds: spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS,
    paused: spec.paused ?? false,
    steps: spec.steps ?? [],
    trafficRouting: resolveTrafficRouting(spec.trafficRouting),
    analysis: resolveAnalysis(spec.analysis),
  };
}
