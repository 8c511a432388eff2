// Shapes shared by the analysis plan (pure, built by queries.ts), its execution (run.ts) and the
// rollout core that records its outcome.
import type { CheckVerdict, MetricResult } from '../rollout/types.ts';

export type { CheckVerdict, MetricResult };

/** What one query returned: a number (maybe NaN or ±Inf), undefined for an empty result, or an Error. */
export type QueryOutcome = number | undefined | Error;

/** A metric judged against fixed limits: value <= max and value >= min pass. */
export interface ThresholdCheck {
  kind: 'threshold';
  name: string;
  dryRun?: boolean;
  query: string;
  max?: number;
  min?: number;
  /** Printed after values in messages: "%", "ms" or "". */
  unit: string;
}

/** Canary judged against stable: canary - stable <= maxIncrease passes. */
export interface ComparisonCheck {
  kind: 'comparison';
  name: string;
  canaryQuery: string;
  stableQuery: string;
  maxIncrease: number;
  unit: string;
}

/**
 * Canary against stable by a statistical test over the same window (judge/): failure counts for
 * ErrorRate, histogram buckets for Latency. Fails when p < significance; inconclusive below
 * minSamples requests on either side.
 */
export type JudgeCheck = {
  kind: 'judge';
  name: string;
  dryRun?: boolean;
  significance: number;
  minSamples: number;
} & (
  | { test: 'ErrorRate'; canaryTotal: string; canaryFailed: string; stableTotal: string; stableFailed: string }
  | { test: 'Latency'; canaryBuckets: string; stableBuckets: string }
);

/** A number read from an HTTP endpoint (providers/web.ts), judged against max and min. */
export interface WebCheck {
  kind: 'web';
  name: string;
  dryRun?: boolean;
  url: string;
  method: 'GET' | 'POST';
  headers: { name: string; value: string }[];
  body?: string;
  jsonPath: string;
  timeoutMs: number;
  caBundle?: string;
  max?: number;
  min?: number;
}

/** The Job one round creates (providers/job.ts), rendered: everything but its owner's identity. */
export interface JobManifest {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** A batch/v1 JobSpec. */
  spec: Record<string, unknown>;
}

/** A Kubernetes Job created for the round: its success passes, its failure fails (providers/job.ts). */
export interface JobCheck {
  kind: 'job';
  name: string;
  dryRun?: boolean;
  job: JobManifest;
  /** The Rollout that owns the Job, so that deleting it deletes the Job too; absent when unknown. */
  owner?: { name: string; uid: string };
  /** Counted from the Job's creation, so that a restarted controller keeps the same deadline. */
  timeoutMs: number;
}

export type PlannedCheck = ThresholdCheck | ComparisonCheck | JudgeCheck | WebCheck | JobCheck;

/** One analysis round, fully rendered: the rollout core builds it, run.ts executes it. */
export interface AnalysisPlan {
  namespace: string;
  rolloutName: string;
  /** Echoed into the round so that a result is never credited to another revision or step. */
  canaryRevision: string;
  stepIndex: number;
  minRequests: number;
  /** Canary requests in the window; fewer than minRequests makes every check inconclusive. */
  requestCountQuery: string;
  checks: PlannedCheck[];
  /** Where to run the queries when not the manager's --prometheus-url (ProviderRegistry.forAddress). */
  prometheusAddress?: string;
}

export interface AnalysisRound {
  canaryRevision: string;
  stepIndex: number;
  /** When the queries were evaluated (RFC 3339); the window ends here. */
  at: string;
  verdict: CheckVerdict;
  checks: MetricResult[];
}
