// spec.workloadRef: the Rollout runs the pod template of an existing Deployment, so that a
// service already running as a plain Deployment moves under a Rollout without copying its
// template (Argo Rollouts' workloadRef). Editing that Deployment's template starts a rollout.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import type { Action } from '../actions.ts';
import { CONDITION } from '../conditions.ts';
import { deploymentReadiness, desiredReplicas } from './deployments.ts';
import { addMilliseconds } from '../durations.ts';
import { hold, stopWith } from '../hold.ts';
import { timestamp, type DecideContext, type RoutedContext } from '../state.ts';
import { recordStatus } from '../transitions.ts';
import { ROLLOUT_LABEL, type PodTemplate, type Track } from '../types.ts';
import { pointerToken } from '../../kube/json-pointer.ts';

export function workloadTemplate(workload: V1Deployment | undefined): PodTemplate | undefined {
  const template = workload?.spec?.template;
  if (template === undefined) return undefined;
  const { labels = {}, annotations } = template.metadata ?? {};
  return { metadata: { labels, ...(annotations === undefined ? {} : { annotations }) }, spec: template.spec ?? { containers: [] } };
}

export function workloadMissingHold(ctx: DecideContext): Action | undefined {
  const ref = ctx.rollout.spec.workloadRef;
  if (ref === undefined || ctx.observed.workload !== undefined) return undefined;
  const message =
    `Deployment ${ref.name} named in spec.workloadRef was not found in namespace ${ctx.rollout.metadata.namespace}: ` +
    `create it, or fix spec.workloadRef.name; nothing is changed until then`;
  const condition = { type: CONDITION.specValid, status: 'False' as const, reason: 'WorkloadNotFound', message };
  return hold(ctx, { phase: 'Degraded', message, conditions: [condition] }, stopWith(condition, ctx));
}

function workloadPatch(workload: V1Deployment, ops: Operation[]): Operation[] {
  return [{ op: 'test', path: '/metadata/uid', value: workload.metadata?.uid }, ...ops];
}

export interface WorkloadTakeover {
  /** The write to make now, if any. */
  action?: Action;
  /** When to look again for the scale-down (the delay is running). */
  wakeAt?: Date;
}

/**
 * The workloadRef Deployment, once the Rollout has taken over its traffic: labelled so that its
 * template changes reach the controller, then scaled to zero once our stable pods are available,
 * the stable subset selects them, and scaleDownDelaySeconds has passed for every proxy to see it.
 */
export function workloadTakeover(ctx: RoutedContext, pendingSubsets: readonly Track[]): WorkloadTakeover {
  const workload = ctx.observed.workload;
  if (workload === undefined || ctx.spec.workloadRef === undefined) return {};
  const { name } = ctx.rollout.metadata;
  const ref = ctx.spec.workloadRef.name;
  const labels = workload.metadata?.labels;
  if (labels?.[ROLLOUT_LABEL] !== name) {
    const op: Operation =
      labels === undefined
        ? { op: 'add', path: '/metadata/labels', value: { [ROLLOUT_LABEL]: name } }
        : { op: 'add', path: `/metadata/labels/${pointerToken(ROLLOUT_LABEL)}`, value: name };
    return { action: { kind: 'updateWorkload', reason: 'WorkloadReferenced', message: `labelling Deployment ${ref} ${ROLLOUT_LABEL}=${name}, so that changes to its template start rollouts`, name: ref, patch: workloadPatch(workload, [op]) } };
  }
  if (desiredReplicas(workload) === 0) return {};
  const stable = ctx.observed.stableDeployment;
  if (stable === undefined || !deploymentReadiness(stable).ready || pendingSubsets.includes('stable')) return {};
  const delayMs = ctx.spec.scaleDownDelaySeconds * 1000;
  const at = timestamp(ctx.status.workloadScaleDownAt);
  if (delayMs > 0 && at === undefined) {
    const until = addMilliseconds(ctx.now, delayMs);
    return { action: recordStatus('WorkloadScaleDownScheduled', `the stable subset now selects Deployment ${stable.metadata?.name ?? ''}: Deployment ${ref} is scaled to zero at ${until.toISOString()}`, { ...ctx.status, workloadScaleDownAt: until.toISOString() }) };
  }
  if (delayMs > 0 && at !== undefined && ctx.now.getTime() < at) return { wakeAt: new Date(at) };
  return {
    action: {
      kind: 'updateWorkload',
      reason: 'WorkloadScaledDown',
      message: `Deployment ${stable.metadata?.name ?? ''} carries the traffic of Deployment ${ref}: scaling ${ref} from ${desiredReplicas(workload)} to 0 replicas`,
      name: ref,
      patch: workloadPatch(workload, [
        { op: 'test', path: '/spec/replicas', value: desiredReplicas(workload) },
        { op: 'replace', path: '/spec/replicas', value: 0 },
      ]),
    },
  };
}
