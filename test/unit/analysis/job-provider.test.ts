// The job provider: what a Job's status means (a table), the Job a round plans, and the round's
// handling of it (create or find again, wait, time out, cancel, delete) over an in-memory Job
// store. The Job controller itself is exercised by test/integration/analysis-job.test.ts.
import { describe, expect, it } from 'vitest';
import {
  ANALYSIS_ROUND_ANNOTATION, adoptionProblem, analysisJobName, jobObject, jobResult, jobState, type JobObject,
} from '../../../src/analysis/providers/job-measurement.ts';
import { HANDED_OVER, runJobCheck, type JobClient } from '../../../src/analysis/providers/job.ts';
import { AnalysisConfigError, buildAnalysisPlan, DEFAULT_JOB_TIMEOUT_SECONDS, type PlanInput } from '../../../src/analysis/queries.ts';
import { runAnalysis } from '../../../src/analysis/run.ts';
import type { MetricsProvider } from '../../../src/analysis/provider.ts';
import type { JobCheck } from '../../../src/analysis/types.ts';
import type { AnalysisMetric } from '../../../src/rollout/types.ts';

const template = { spec: { restartPolicy: 'Never', containers: [{ name: 'smoke', image: 'smoke:1', args: ['--target={{ canary }}', '--suite={{ args.suite }}'] }] } };

function input(metrics: AnalysisMetric[], extra: Partial<PlanInput> = {}): PlanInput {
  return {
    namespace: 'shop', rolloutName: 'payments', canaryWorkload: 'payments-canary', stableWorkload: 'payments-stable',
    canaryRevision: 'abc', stepIndex: 1, round: '2026-01-01T00:00:00Z||',
    analysis: { interval: '1m', failureLimit: 0, minRequests: 0, consecutiveErrorLimit: 4, inconclusiveLimit: 3, metrics, args: { suite: 'checkout' } },
    ...extra,
  };
}

function plannedJob(extra: Partial<PlanInput> = {}, metric: Partial<AnalysisMetric> = {}): JobCheck {
  const plan = buildAnalysisPlan(input([{ name: 'smoke', job: { spec: { backoffLimit: 0, template } }, ...metric }], { rolloutUid: 'uid-1', ...extra }));
  return plan.checks[0] as JobCheck;
}

const status = (type: string, reason?: string, message?: string) => ({ conditions: [{ type, status: 'True', ...(reason ? { reason } : {}), ...(message ? { message } : {}) }] });
const job = (jobStatus?: JobObject['status']): JobObject => ({ metadata: { name: 'payments-smoke-1', namespace: 'shop' }, ...(jobStatus ? { status: jobStatus } : {}) });

describe('what a Job means as a measurement', () => {
  it.each([
    ['no status yet', undefined, { finished: false }],
    ['pods still running', { active: 1 }, { finished: false }],
    ['Complete', { ...status('Complete'), succeeded: 1 }, { finished: true, verdict: 'pass', message: 'Job payments-smoke-1 succeeded (1 pod completed)' }],
    ['SuccessCriteriaMet before Complete', { ...status('SuccessCriteriaMet'), succeeded: 2 }, { finished: true, verdict: 'pass', message: 'Job payments-smoke-1 succeeded (2 pods completed)' }],
    ['Failed past its backoffLimit', status('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
      { finished: true, verdict: 'fail', message: 'Job payments-smoke-1 failed (BackoffLimitExceeded: Job has reached the specified backoff limit)' }],
    ['FailureTarget before Failed', status('FailureTarget', 'DeadlineExceeded'), { finished: true, verdict: 'fail', message: 'Job payments-smoke-1 failed (DeadlineExceeded)' }],
    ['a condition that is False', { conditions: [{ type: 'Failed', status: 'False' }] }, { finished: false }],
  ] as const)('%s', (_case, jobStatus, expected) => {
    expect(jobState(job(jobStatus as JobObject['status']))).toEqual(expected);
  });

  it('a pass is worth 1 and a failure 0; a timeout errors and a cancelled round is inconclusive, with no value', () => {
    const check = plannedJob();
    const at = '2026-01-01T00:01:00Z';
    expect(jobResult(check, { kind: 'finished', verdict: 'pass', message: 'Job x succeeded' }, at)).toEqual({ name: 'smoke', verdict: 'pass', value: 1, at, message: 'smoke: Job x succeeded' });
    expect(jobResult(check, { kind: 'finished', verdict: 'fail', message: 'Job x failed' }, at, 'Job x could not be deleted: gone')).toMatchObject({ verdict: 'fail', value: 0, message: 'smoke: Job x failed; Job x could not be deleted: gone' });
    const timeout = jobResult(check, { kind: 'timeout', jobName: 'x', activePods: 1 }, at);
    expect(timeout).toEqual({ name: 'smoke', verdict: 'error', at, message: 'smoke: Job x did not finish within timeoutSeconds 600 (1 pod(s) active); deleted' });
    expect(jobResult(check, { kind: 'cancelled', jobName: 'x', why: 'the rollout is Aborted' }, at)).toMatchObject({ verdict: 'inconclusive', message: 'smoke: Job x deleted before it finished: the rollout is Aborted' });
  });
});

describe('the Job a round plans', () => {
  it('renders the spec, names the Job after the rollout, metric and round, and names the Rollout as owner', () => {
    const check = plannedJob();
    expect(check.job.name).toMatch(/^payments-smoke-[0-9a-f]{10}$/);
    expect(check.job.namespace).toBe('shop');
    expect(check.job.labels).toEqual({ 'switchboard.dev/rollout': 'payments', 'switchboard.dev/analysis-metric': 'smoke' });
    expect(check.job.annotations).toEqual({ [ANALYSIS_ROUND_ANNOTATION]: 'abc/1/2026-01-01T00:00:00Z||' });
    expect(check.job.spec).toEqual({
      backoffLimit: 0,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'smoke', image: 'smoke:1', args: ['--target=payments-canary', '--suite=checkout'] }] } },
    });
    expect(check.timeoutMs).toBe(DEFAULT_JOB_TIMEOUT_SECONDS * 1000);
    expect(jobObject(check).metadata.ownerReferences).toEqual([{ apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', name: 'payments', uid: 'uid-1', controller: true }]);
  });

  it('the same round always gets the same name, another round or revision another', () => {
    const name = plannedJob().job.name;
    expect(plannedJob().job.name).toBe(name);
    expect(plannedJob({ round: '2026-01-01T00:01:00Z||' }).job.name).not.toBe(name);
    expect(plannedJob({ canaryRevision: 'def' }).job.name).not.toBe(name);
    expect(plannedJob({ stepIndex: 2 }).job.name).not.toBe(name);
  });

  it('keeps a long name within the 63 characters of a label value, ending in the hash', () => {
    const name = analysisJobName('a'.repeat(60), 'smoke-test-with-a-long-name', 'r');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^a+-[0-9a-f]{10}$/);
    expect(analysisJobName('payments', 'x'.repeat(63), 'r')).toMatch(/^payments-x+-[0-9a-f]{10}$/);
  });

  it('takes the user\'s labels and annotations, rendered, under its own', () => {
    const check = plannedJob({}, { job: { metadata: { labels: { team: 'pay', 'switchboard.dev/rollout': 'other' }, annotations: { target: '{{ canary }}' } }, spec: { template }, timeoutSeconds: 30 } });
    expect(check.job.labels).toEqual({ team: 'pay', 'switchboard.dev/rollout': 'payments', 'switchboard.dev/analysis-metric': 'smoke' });
    expect(check.job.annotations.target).toBe('payments-canary');
    expect(check.timeoutMs).toBe(30_000);
  });

  it.each([
    ['max', { max: 1 }],
    ['query', { query: 'up' }],
    ['web', { web: { url: 'http://x', jsonPath: '$.a' } }],
  ])('refuses a job metric with %s', (_key, extra) => {
    expect(() => plannedJob({}, extra)).toThrow(/a job metric has a name of its own and takes no query, judge, web, max or min/);
  });

  it('refuses an unknown variable or argument in the spec, and a spec without a pod template', () => {
    const unknown = { job: { spec: { template: { spec: { containers: [{ name: 'x', image: '{{ .Values.image }}' }] } } } } };
    expect(() => plannedJob({}, unknown)).toThrow(AnalysisConfigError);
    expect(() => plannedJob({}, { job: { spec: {} } as never })).toThrow(/job.spec.template/);
  });
});

/** Jobs kept in memory, answering like the API server: 409 on a second create, 404 once deleted. */
class JobStore implements JobClient {
  readonly jobs = new Map<string, JobObject>();
  readonly deleted: string[] = [];
  created = 0;
  failCreate: Error | undefined;
  onRead: ((job: JobObject, reads: number) => void) | undefined;
  private reads = 0;

  async create(wanted: JobObject): Promise<JobObject> {
    if (this.failCreate) throw this.failCreate;
    if (this.jobs.has(wanted.metadata.name)) throw Object.assign(new Error('exists'), { code: 409, body: { message: 'already exists' } });
    this.created += 1;
    const stored = { ...wanted, metadata: { ...wanted.metadata, creationTimestamp: new Date(now).toISOString() } };
    this.jobs.set(wanted.metadata.name, stored);
    return stored;
  }

  async read(_namespace: string, name: string): Promise<JobObject | undefined> {
    const found = this.jobs.get(name);
    if (found) this.onRead?.(found, ++this.reads);
    return this.jobs.get(name);
  }

  async remove(_namespace: string, name: string): Promise<void> {
    this.deleted.push(name);
    this.jobs.delete(name);
  }
}

let now = Date.parse('2026-01-01T00:00:00Z');
const at = '2026-01-01T00:00:00.000Z';
const fast = { pollMs: 1, maxPollMs: 2, now: () => new Date(now) };

describe('a round\'s Job', () => {
  it('is created, waited for until it completes, then deleted', async () => {
    const store = new JobStore();
    const check = plannedJob();
    store.onRead = (found, reads) => { if (reads === 3) found.status = { ...status('Complete'), succeeded: 1 }; };
    const result = await runJobCheck(store, check, at, fast);
    expect(result).toMatchObject({ verdict: 'pass', value: 1, message: `smoke: Job ${check.job.name} succeeded (1 pod completed)` });
    expect(store.created).toBe(1);
    expect(store.deleted).toEqual([check.job.name]);
  });

  it('a failed Job fails the check and is deleted too', async () => {
    const store = new JobStore();
    store.onRead = (found) => { found.status = status('Failed', 'BackoffLimitExceeded'); };
    const result = await runJobCheck(store, plannedJob(), at, fast);
    expect(result).toMatchObject({ verdict: 'fail', value: 0 });
    expect(result.message).toMatch(/failed \(BackoffLimitExceeded\)/);
    expect(store.jobs.size).toBe(0);
  });

  it('a finished Job whose spec sets ttlSecondsAfterFinished is kept for Kubernetes to remove; one that times out is not', async () => {
    const kept = new JobStore();
    const check = plannedJob({}, { job: { spec: { template, ttlSecondsAfterFinished: 600 } } });
    kept.onRead = (found) => { found.status = status('Failed', 'BackoffLimitExceeded'); };
    const failed = await runJobCheck(kept, check, at, fast);
    expect(failed).toMatchObject({ verdict: 'fail', value: 0 });
    expect(failed.message).toMatch(/failed \(BackoffLimitExceeded\); kept 600s for its logs \(ttlSecondsAfterFinished\)$/);
    expect(kept.deleted).toEqual([]);
    const overrun = new JobStore();
    const slow = plannedJob({}, { job: { spec: { template, ttlSecondsAfterFinished: 600 }, timeoutSeconds: 5 } });
    overrun.onRead = (found) => { found.status = { active: 1 }; now += 2_000; };
    expect((await runJobCheck(overrun, slow, at, fast)).verdict).toBe('error');
    expect(overrun.deleted).toEqual([slow.job.name]);
  });

  it('after a restart, the Job already created for the round is found again, not created twice', async () => {
    const store = new JobStore();
    const check = plannedJob();
    await store.create({ ...jobObject(check), status: { ...status('Complete'), succeeded: 1 } });
    const result = await runJobCheck(store, check, at, fast);
    expect(result.verdict).toBe('pass');
    expect(store.created).toBe(1);
  });

  it('a Job of that name from another round or owner is neither taken nor deleted', async () => {
    const store = new JobStore();
    const check = plannedJob();
    const foreign = jobObject(check);
    await store.create({ ...foreign, metadata: { ...foreign.metadata, annotations: { [ANALYSIS_ROUND_ANNOTATION]: 'other' } } });
    const result = await runJobCheck(store, check, at, fast);
    expect(result.verdict).toBe('error');
    expect(result.message).toMatch(/already exists and was not created for this round/);
    expect(store.deleted).toEqual([]);
    const otherOwner = { ...foreign, metadata: { ...foreign.metadata, ownerReferences: [{ apiVersion: 'switchboard.dev/v1alpha1', kind: 'Rollout', name: 'payments', uid: 'uid-0', controller: true }] } };
    expect(adoptionProblem(otherOwner, check)).toMatch(/is not owned by Rollout payments/);
  });

  it('times out counting from the Job\'s creation: deleted, and the check errors', async () => {
    const store = new JobStore();
    const check = plannedJob({}, { job: { spec: { template }, timeoutSeconds: 5 } });
    store.onRead = (found) => { found.status = { active: 1 }; now += 2_000; };
    const result = await runJobCheck(store, check, at, fast);
    expect(result).toMatchObject({ verdict: 'error', message: `smoke: Job ${check.job.name} did not finish within timeoutSeconds 5 (1 pod(s) active); deleted` });
    expect(store.deleted).toEqual([check.job.name]);
  });

  it('a cancelled round deletes its Job and is inconclusive', async () => {
    const store = new JobStore();
    const abort = new AbortController();
    store.onRead = (_found, reads) => { if (reads === 2) abort.abort('the rollout is Aborted'); };
    const result = await runJobCheck(store, plannedJob(), at, { ...fast, signal: abort.signal });
    expect(result).toMatchObject({ verdict: 'inconclusive' });
    expect(result.message).toMatch(/deleted before it finished: the rollout is Aborted/);
    expect(store.jobs.size).toBe(0);
  });

  it('a round handed over to another replica leaves its Job running for the next leader', async () => {
    const store = new JobStore();
    const abort = new AbortController();
    const check = plannedJob();
    store.onRead = (_found, reads) => { if (reads === 1) abort.abort(HANDED_OVER); };
    const result = await runJobCheck(store, check, at, { ...fast, signal: abort.signal });
    expect(result).toMatchObject({ verdict: 'error', message: `smoke: Job ${check.job.name} left running: ${HANDED_OVER}` });
    expect(store.deleted).toEqual([]);
    expect(store.jobs.has(check.job.name)).toBe(true);
  });

  it('a Job deleted by someone else, or one the API server refuses, errors', async () => {
    const store = new JobStore();
    store.onRead = (found) => { store.jobs.delete(found.metadata.name); };
    expect((await runJobCheck(store, plannedJob(), at, fast)).message).toMatch(/was deleted before it finished/);
    const refusing = new JobStore();
    refusing.failCreate = Object.assign(new Error('invalid'), { code: 422, body: { message: 'Job.batch "x" is invalid: spec.template.spec.restartPolicy: Required value' } });
    const refused = await runJobCheck(refusing, plannedJob(), at, fast);
    expect(refused).toMatchObject({ verdict: 'error' });
    expect(refused.message).toMatch(/could not create Job .*restartPolicy: Required value/);
  });

  it('in a round: judged with the others, not gated by the request count, and an error without the Kubernetes API', async () => {
    // The round reads the wall clock: the store's Jobs are created now.
    now = Date.now();
    const noTraffic: MetricsProvider = { query: async () => 0, queryByLabel: async () => new Map(), isOnline: async () => true };
    const plan = buildAnalysisPlan(input([{ name: 'smoke', job: { spec: { template } } }], { analysis: { ...input([]).analysis, minRequests: 100, metrics: [{ name: 'smoke', job: { spec: { template } } }] } }));
    const store = new JobStore();
    store.onRead = (found) => { found.status = status('Failed', 'BackoffLimitExceeded'); };
    const judged = await runAnalysis(noTraffic, plan, () => new Date(now), { jobs: store });
    expect(judged.checks[0]?.message).toMatch(/failed/);
    expect(judged.verdict).toBe('fail');
    const without = await runAnalysis(noTraffic, plan, () => new Date(now));
    expect(without.checks[0]).toMatchObject({ verdict: 'error', message: 'smoke: job metrics need the Kubernetes API, which this round was not given' });
  });
});
