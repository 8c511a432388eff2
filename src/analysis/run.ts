// One analysis round: every query of the plan through the injected provider, judged by verdict.ts.
// The only I/O is the providers'; the round never throws (a failing query becomes an 'error' check).
import type { MetricsProvider } from './provider.ts';
import { judgeErrorRate, judgeLatency, type LabelledOutcome } from './judge/judge.ts';
import { runJobCheck, type JobClient } from './providers/job.ts';
import { webValue } from './providers/web.ts';
import type { AnalysisPlan, AnalysisRound, JudgeCheck, MetricResult, PlannedCheck, QueryOutcome, ThresholdCheck } from './types.ts';
import { judgeComparison, judgeThreshold, roundVerdict, type Evidence } from './verdict.ts';

async function settle(provider: MetricsProvider, promql: string): Promise<QueryOutcome> {
  try {
    return await provider.query(promql);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

async function settleByLabel(provider: MetricsProvider, promql: string, label: string): Promise<LabelledOutcome> {
  try {
    return await provider.queryByLabel(promql, label);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The judge weighs its own sample sizes (minSamples on each side) instead of the round's evidence. */
async function runJudge(provider: MetricsProvider, check: JudgeCheck, at: string): Promise<MetricResult> {
  if (check.test === 'Latency') {
    const [canary, stable] = await Promise.all([settleByLabel(provider, check.canaryBuckets, 'le'), settleByLabel(provider, check.stableBuckets, 'le')]);
    return judgeLatency(check, canary, stable, at);
  }
  const queries = [check.canaryTotal, check.canaryFailed, check.stableTotal, check.stableFailed] as const;
  const [canaryTotal, canaryFailed, stableTotal, stableFailed] = await Promise.all(queries.map((query) => settle(provider, query)));
  return judgeErrorRate(check, [canaryTotal, canaryFailed, stableTotal, stableFailed], at);
}

/** What a round needs besides Prometheus: the Kubernetes API for job metrics, and when to give up on them. */
export interface RoundOptions {
  jobs?: JobClient;
  /** Aborted when the round can no longer count: a Job it waits for is deleted and the wait ends. */
  signal?: AbortSignal;
}

async function runCheck(provider: MetricsProvider, check: PlannedCheck, evidence: Evidence, at: string, options: RoundOptions): Promise<MetricResult> {
  if (check.kind === 'threshold') {
    return judgeThreshold(check, await settle(provider, check.query), evidence, at);
  }
  if (check.kind === 'judge') return runJudge(provider, check, at);
  if (check.kind === 'web') {
    // A web measurement stands on its own: the canary's request count is no evidence for or against it.
    const threshold: ThresholdCheck = { kind: 'threshold', name: check.name, query: check.url, unit: '', ...(check.max === undefined ? {} : { max: check.max }), ...(check.min === undefined ? {} : { min: check.min }) };
    return judgeThreshold(threshold, await webValue(check), { requests: Number.POSITIVE_INFINITY, minRequests: 0 }, at);
  }
  if (check.kind === 'job') {
    // Like a web check, a Job stands on its own: the canary's request count does not gate it.
    if (options.jobs === undefined) return { name: check.name, verdict: 'error', at, message: `${check.name}: job metrics need the Kubernetes API, which this round was not given` };
    return runJobCheck(options.jobs, check, at, options.signal === undefined ? {} : { signal: options.signal });
  }
  const [canary, stable] = await Promise.all([settle(provider, check.canaryQuery), settle(provider, check.stableQuery)]);
  return judgeComparison(check, canary, stable, evidence, at);
}

/** Runs the plan's queries concurrently and returns the judged round, stamped with the plan's revision and step. */
export async function runAnalysis(
  provider: MetricsProvider,
  plan: AnalysisPlan,
  clock: () => Date = () => new Date(),
  options: RoundOptions = {},
): Promise<AnalysisRound> {
  const at = clock().toISOString();
  const requests = await settle(provider, plan.requestCountQuery);
  const evidence: Evidence = { requests, minRequests: plan.minRequests };
  const checks = await Promise.all(plan.checks.map(async (check) => {
    const result = await runCheck(provider, check, evidence, at, options);
    return 'dryRun' in check && check.dryRun === true ? { ...result, dryRun: true, message: `dry run, not judged: ${result.message}` } : result;
  }));
  // Stamped when its verdict is known: the next round is due one interval after that. A round that
  // outlasts the interval (a Job) stamped with its start would find the next one already due and
  // leave its step no moment to complete.
  return { canaryRevision: plan.canaryRevision, stepIndex: plan.stepIndex, at: clock().toISOString(), verdict: roundVerdict(checks), checks };
}
