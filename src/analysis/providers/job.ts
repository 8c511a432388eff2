// The job provider, as Argo Rollouts' job metric provider: a Kubernetes Job per round (a smoke
// test, a load test run in the cluster) whose success or failure is the measurement. The round
// creates the Job (or finds the one it created before a restart), waits for it, and deletes it.
// What the Job's status means is job-measurement.ts; this file is the API calls.
import type { BatchV1Api, V1Job } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiStatusOf, httpStatusOf, orUndefinedIfNotFound } from '../../kube/api-errors.ts';
import type { JobCheck, MetricResult } from '../types.ts';
import { adoptionProblem, jobDeadline, jobObject, jobResult, jobState, type JobObject, type JobOutcome } from './job-measurement.ts';

/** The three calls the provider makes, so that tests and the controller give their own client. */
export interface JobClient {
  create(job: JobObject): Promise<JobObject>;
  read(namespace: string, name: string): Promise<JobObject | undefined>;
  /** Deletes the Job and, in the background, its pods; a Job already gone is no error. */
  remove(namespace: string, name: string): Promise<void>;
}

export function batchJobClient(batch: BatchV1Api): JobClient {
  return {
    create: async (job) => (await batch.createNamespacedJob({ namespace: job.metadata.namespace, body: job as V1Job })) as JobObject,
    read: async (namespace, name) => (await orUndefinedIfNotFound(batch.readNamespacedJob({ namespace, name }))) as JobObject | undefined,
    remove: async (namespace, name) => {
      await orUndefinedIfNotFound(batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' }));
    },
  };
}

/**
 * The abort reason of a round handed over to another replica (leadership lost): the wait ends and
 * the Job is left running for the new leader, which plans the same round and finds it.
 */
export const HANDED_OVER = 'handed over to another replica';

export interface JobWaitOptions {
  /**
   * Aborted when the round can no longer count (the rollout was aborted, moved on or deleted): the
   * Job is deleted; or with HANDED_OVER as the reason: the Job is left for the next leader.
   */
  signal?: AbortSignal;
  now?: () => Date;
  /** First pause between reads; it grows to maxPollMs. */
  pollMs?: number;
  maxPollMs?: number;
}

function describe(error: unknown): string {
  const status = apiStatusOf(error);
  return status?.message ?? (error instanceof Error ? error.message : String(error));
}

/** Creates the round's Job, or takes the one already created for it (a restart); why not, when neither. */
async function createOrAdopt(client: JobClient, check: JobCheck): Promise<JobObject | string> {
  const wanted = jobObject(check);
  const { name, namespace } = wanted.metadata;
  try {
    return await client.create(wanted);
  } catch (error) {
    if (httpStatusOf(error) !== 409) return `could not create Job ${name}: ${describe(error)}`;
  }
  const found = await client.read(namespace, name).catch((error: unknown) => `could not read Job ${name}: ${describe(error)}`);
  if (typeof found === 'string') return found;
  if (found === undefined) return `Job ${name} was deleted as it was created; the next round creates its own`;
  return adoptionProblem(found, check) ?? found;
}

/** The Job's own ttlSecondsAfterFinished: Kubernetes' TTL controller deletes it that long after it ends. */
function keptAfterFinishing(job: JobObject): number | undefined {
  const ttl = job.spec?.['ttlSecondsAfterFinished'];
  return typeof ttl === 'number' && ttl >= 0 ? ttl : undefined;
}

/** Waits for the Job to finish, time out or be no longer wanted; never throws. */
async function waitFor(client: JobClient, check: JobCheck, created: JobObject, options: JobWaitOptions): Promise<JobOutcome> {
  const { name, namespace } = created.metadata;
  const now = options.now ?? (() => new Date());
  const deadline = jobDeadline(created, check, now());
  let pause = options.pollMs ?? 500;
  let job = created;
  for (;;) {
    const state = jobState(job);
    if (state.finished) return { kind: 'finished', verdict: state.verdict, message: state.message };
    if (options.signal?.aborted === true) return { kind: 'cancelled', jobName: name, why: String(options.signal.reason ?? 'the round no longer counts') };
    if (now() >= deadline) return { kind: 'timeout', jobName: name, activePods: job.status?.active ?? 0 };
    try {
      await sleep(Math.min(pause, Math.max(0, deadline.getTime() - now().getTime())), undefined, options.signal === undefined ? {} : { signal: options.signal });
    } catch {
      // Aborted: said at the top of the loop.
    }
    pause = Math.min(pause * 1.5, options.maxPollMs ?? 5_000);
    let read: JobObject | undefined;
    try {
      read = await client.read(namespace, name);
    } catch (error) {
      // One failed read is no verdict: the next one may answer, until the deadline.
      if (now() >= deadline) return { kind: 'error', message: `could not read Job ${name}: ${describe(error)}` };
      continue;
    }
    if (read === undefined) return { kind: 'error', message: `Job ${name} was deleted before it finished` };
    job = read;
  }
}

/**
 * One round's Job: created (or found again), waited for, then deleted, unless it finished and
 * its spec asks Kubernetes to remove it later (`ttlSecondsAfterFinished`): a failed suite's logs
 * are then there to read until that TTL. The result names the Job and why it passed, failed or
 * measured nothing. Never throws.
 */
export async function runJobCheck(client: JobClient, check: JobCheck, at: string, options: JobWaitOptions = {}): Promise<MetricResult> {
  const created = await createOrAdopt(client, check);
  if (typeof created === 'string') return jobResult(check, { kind: 'error', message: created }, at);
  const outcome = await waitFor(client, check, created, options);
  const { namespace, name } = created.metadata;
  if (outcome.kind === 'cancelled' && options.signal?.reason === HANDED_OVER) return jobResult(check, { kind: 'error', message: `Job ${name} left running: ${HANDED_OVER}` }, at);
  const keptFor = outcome.kind === 'finished' ? keptAfterFinishing(created) : undefined;
  if (keptFor !== undefined) return jobResult(check, outcome, at, `kept ${keptFor}s for its logs (ttlSecondsAfterFinished)`);
  const cleanup = await client.remove(namespace, name).then(() => undefined, (error: unknown) => `Job ${name} could not be deleted: ${describe(error)}`);
  return jobResult(check, outcome, at, cleanup);
}
