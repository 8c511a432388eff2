// One analysis round: every query of the plan through the injected provider, judged by verdict.ts.
// The only I/O is the provider's; the round never throws (a failing query becomes an 'error' check).
import type { MetricsProvider } from './provider.ts';
import type { AnalysisPlan, AnalysisRound, MetricResult, PlannedCheck, QueryOutcome } from './types.ts';
import { judgeComparison, judgeThreshold, roundVerdict, type Evidence } from './verdict.ts';

async function settle(provider: MetricsProvider, promql: string): Promise<QueryOutcome> {
  try {
    return await provider.query(promql);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

async function runCheck(provider: MetricsProvider, check: PlannedCheck, evidence: Evidence, at: string): Promise<MetricResult> {
  if (check.kind === 'threshold') {
    return judgeThreshold(check, await settle(provider, check.query), evidence, at);
  }
  const [canary, stable] = await Promise.all([settle(provider, check.canaryQuery), settle(provider, check.stableQuery)]);
  return judgeComparison(check, canary, stable, evidence, at);
}

/** Runs the plan's queries concurrently and returns the judged round, stamped with the plan's revision and step. */
export async function runAnalysis(
  provider: MetricsProvider,
  plan: AnalysisPlan,
  clock: () => Date = () => new Date(),
): Promise<AnalysisRound> {
  const at = clock().toISOString();
  const requests = await settle(provider, plan.requestCountQuery);
  const evidence: Evidence = { requests, minRequests: plan.minRequests };
  const checks = await Promise.all(plan.checks.map((check) => runCheck(provider, check, evidence, at)));
  return { canaryRevision: plan.canaryRevision, stepIndex: plan.stepIndex, at, verdict: roundVerdict(checks), checks };
}
