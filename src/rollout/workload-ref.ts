// spec.workloadRef: the Rollout runs the pod template of an existing Deployment, so that a
// service already running as a plain Deployment moves under a Rollout without copying its
// template (Argo Rollouts' workloadRef). Editing that Deployment's template starts a rollout.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Action } from './actions.ts';
import { CONDITION } from './conditions.ts';
import { hold, stopWith } from './hold.ts';
import type { DecideContext } from './state.ts';
import type { PodTemplate } from './types.ts';

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
