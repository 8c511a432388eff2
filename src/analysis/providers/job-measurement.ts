// What a Job means as a measurement, and which Job a round creates. Pure: the provider (job.ts)
// is the API calls around it. A Job's own outcome is the verdict: Complete passes, Failed fails
// (its backoffLimit, activeDeadlineSeconds and podFailurePolicy decide when that is). A Job that
// outlives the round's timeout, or that someone deletes, measured nothing: the check errors.
import { createHash } from 'node:crypto';
import { ROLLOUT_GROUP, ROLLOUT_VERSION } from '../../rollout/types.ts';
import type { CheckVerdict, JobCheck, MetricResult } from '../types.ts';

export const ANALYSIS_METRIC_LABEL = 'switchboard.dev/analysis-metric';
/** Which round the Job measures: a Job of the same name from another round is never taken for it. */
export const ANALYSIS_ROUND_ANNOTATION = 'switchboard.dev/analysis-round';
/** The Job controller copies a Job's name into a label of its pods: 63 characters at most. */
const MAX_JOB_NAME = 63;

/** The fields of a batch/v1 Job that the provider writes and reads. */
export interface JobObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    creationTimestamp?: Date | string;
    deletionTimestamp?: Date | string;
  };
  spec?: Record<string, unknown>;
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[]; active?: number; succeeded?: number; failed?: number };
}

/**
 * `<rollout>-<metric>-<hash>`, the hash of the Rollout, metric and round: one name per round, the
 * same after a restart (so the Job is found again, not created twice), short enough for a label.
 */
export function analysisJobName(rolloutName: string, metricName: string, round: string): string {
  const hash = createHash('sha256').update(`${rolloutName}\n${metricName}\n${round}`).digest('hex').slice(0, 10);
  const prefix = `${rolloutName}-${metricName}`.slice(0, MAX_JOB_NAME - hash.length - 1).replace(/[^a-z0-9]+$/, '');
  return `${prefix}-${hash}`;
}

/** The Job to create for the check, owned by its Rollout so that deleting the Rollout deletes it. */
export function jobObject(check: JobCheck): JobObject {
  const { name, namespace, labels, annotations, spec } = check.job;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name, namespace, labels, annotations,
      ...(check.owner === undefined ? {} : {
        ownerReferences: [{ apiVersion: `${ROLLOUT_GROUP}/${ROLLOUT_VERSION}`, kind: 'Rollout', name: check.owner.name, uid: check.owner.uid, controller: true }],
      }),
    },
    spec,
  };
}

/**
 * Why a Job found under the round's name is not this round's (another Rollout's, a person's, or
 * a previous round's left behind), or undefined when it is.
 */
export function adoptionProblem(job: JobObject, check: JobCheck): string | undefined {
  const round = check.job.annotations[ANALYSIS_ROUND_ANNOTATION];
  if (job.metadata.annotations?.[ANALYSIS_ROUND_ANNOTATION] !== round) {
    return `a Job named ${job.metadata.name} already exists and was not created for this round (annotation ${ANALYSIS_ROUND_ANNOTATION} is not ${round})`;
  }
  const owner = job.metadata.ownerReferences?.find((reference) => reference.controller === true);
  if (check.owner !== undefined && owner?.uid !== check.owner.uid) {
    return `a Job named ${job.metadata.name} already exists and is not owned by Rollout ${check.owner.name}`;
  }
  return undefined;
}

export type JobState = { finished: false } | { finished: true; verdict: 'pass' | 'fail'; message: string };

function condition(job: JobObject, ...types: string[]) {
  return job.status?.conditions?.find((found) => types.includes(found.type) && found.status === 'True');
}

/** Complete (or SuccessCriteriaMet) passes; Failed (or FailureTarget, which precedes it) fails; anything else is still running. */
export function jobState(job: JobObject): JobState {
  const name = job.metadata.name;
  const failed = condition(job, 'Failed', 'FailureTarget');
  if (failed !== undefined) {
    const why = [failed.reason, failed.message].filter((part) => part !== undefined && part !== '').join(': ');
    return { finished: true, verdict: 'fail', message: `Job ${name} failed${why === '' ? '' : ` (${why})`}` };
  }
  if (condition(job, 'Complete', 'SuccessCriteriaMet') !== undefined) {
    const succeeded = job.status?.succeeded ?? 0;
    return { finished: true, verdict: 'pass', message: `Job ${name} succeeded (${succeeded} pod${succeeded === 1 ? '' : 's'} completed)` };
  }
  return { finished: false };
}

/** When the round stops waiting: timeoutMs after the Job was created (else after `started`). */
export function jobDeadline(job: JobObject, check: JobCheck, started: Date): Date {
  const created = job.metadata.creationTimestamp === undefined ? Number.NaN : new Date(job.metadata.creationTimestamp).getTime();
  return new Date((Number.isNaN(created) ? started.getTime() : created) + check.timeoutMs);
}

/** How the round's wait for the Job ended. */
export type JobOutcome =
  | { kind: 'finished'; verdict: 'pass' | 'fail'; message: string }
  | { kind: 'timeout'; jobName: string; activePods: number }
  | { kind: 'cancelled'; jobName: string; why: string }
  | { kind: 'error'; message: string };

/** The check's result: a pass is worth 1 and a failure 0; anything else has no value and never passes. */
export function jobResult(check: JobCheck, outcome: JobOutcome, at: string, cleanup?: string): MetricResult {
  const said = (verdict: CheckVerdict, message: string, value?: number): MetricResult => ({
    name: check.name, verdict, ...(value === undefined ? {} : { value }), at,
    message: `${check.name}: ${message}${cleanup === undefined ? '' : `; ${cleanup}`}`,
  });
  switch (outcome.kind) {
    case 'finished':
      return said(outcome.verdict, outcome.message, outcome.verdict === 'pass' ? 1 : 0);
    case 'timeout':
      return said('error', `Job ${outcome.jobName} did not finish within timeoutSeconds ${check.timeoutMs / 1000} (${outcome.activePods} pod(s) active); deleted`);
    case 'cancelled':
      return said('inconclusive', `Job ${outcome.jobName} deleted before it finished: ${outcome.why}`);
    case 'error':
      return said('error', outcome.message);
  }
}
