// `switchboard undo [--to-revision R]`: put back in spec.template what the stable Deployment runs
// (with no rollout in progress, the previous kept revision's), or the kept Deployment of revision R. Changing the template is the one way to start (or end) a
// rollout, so undo is a template change like any other, and the controller handles it with its
// usual safety (steps, analysis, deadlines). The template is the one the Deployment recorded
// (TEMPLATE_ANNOTATION), which hashes to its revision: the controller finds that revision's
// Deployment and scales it back up instead of creating pods of a new revision.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import { deploymentName, deploymentRevision } from '../../rollout/deployments/deployments.ts';
import { withoutRoleMetadata } from '../../rollout/deployments/role-metadata.ts';
import { canonicalJson, templateRevision } from '../../rollout/revision.ts';
import { REVISION_LABEL, TEMPLATE_ANNOTATION, TRACK_LABEL, type PodTemplate, type Rollout } from '../../rollout/types.ts';
import type { RolloutApi } from './rollout-api.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

export interface UndoPlan {
  template: PodTemplate;
  /** templateRevision of the restored template: what the controller will call it. */
  revision: string;
  /** The revision annotation of the Deployment gone back to (stable's unless --to-revision), and its name. */
  stableRevision: string | undefined;
  stableName: string;
  /** The template is the one recorded for the revision: it hashes to it, no new revision is made. */
  exact: boolean;
  /** --to-revision: a kept revision rather than stable. */
  toRevision?: string;
  patch: Operation[];
}

/**
 * The template a stable Deployment runs, as a Rollout's spec.template: without the labels the
 * controller adds (the CRD refuses them in a template), and with only the metadata the CRD keeps
 * (labels and annotations; anything else would be pruned on write anyway).
 */
export function stableTemplate(deployment: V1Deployment): PodTemplate | undefined {
  const template = deployment.spec?.template;
  if (template?.spec === undefined) return undefined;
  // The role's labels and annotations were added to the template too (spec.canaryMetadata, stableMetadata).
  const { labels: kept, annotations } = withoutRoleMetadata(template.metadata ?? {});
  const { [TRACK_LABEL]: _track, [REVISION_LABEL]: _revision, ...labels } = kept;
  return {
    metadata: { labels, ...(annotations === undefined ? {} : { annotations }) },
    spec: template.spec,
  };
}

/**
 * The JSON patch: `replace` because a merge patch would merge maps and keep labels, annotations
 * and pod fields that only the newer template has. The `test` makes the patch fail rather than
 * overwrite a template someone changed after undo read it.
 */
export function undoPatch(current: PodTemplate, restored: PodTemplate): Operation[] {
  return [
    { op: 'test', path: '/spec/template', value: current },
    { op: 'replace', path: '/spec/template', value: restored },
  ];
}

/** The template the Deployment recorded for its revision, when it still hashes to that revision. */
export function recordedTemplate(deployment: V1Deployment): PodTemplate | undefined {
  const recorded = deployment.metadata?.annotations?.[TEMPLATE_ANNOTATION];
  if (recorded === undefined) return undefined;
  try {
    const template = JSON.parse(recorded) as PodTemplate;
    return templateRevision(template) === deploymentRevision(deployment) ? template : undefined;
  } catch {
    return undefined;
  }
}

export function planUndo(rollout: Rollout, stable: V1Deployment | undefined, toRevision?: string): UndoPlan {
  const { name, namespace } = rollout.metadata;
  if (toRevision !== undefined && stable === undefined) {
    throw new CliError(
      CLI_ERROR.noStable,
      `rollout "${name}" in namespace "${namespace}" keeps no Deployment of revision "${toRevision}" ` +
        `(it keeps spec.revisionHistoryLimit earlier revisions: kubectl get deployments -n ${namespace} -l switchboard.dev/rollout=${name})`,
    );
  }
  const stableName = stable?.metadata?.name ?? deploymentName(name, rollout.status?.stableRevision ?? 'stable');
  const exactTemplate = stable === undefined ? undefined : recordedTemplate(stable);
  const template = exactTemplate ?? (stable === undefined ? undefined : stableTemplate(stable));
  if (stable === undefined || template === undefined) {
    throw new CliError(
      CLI_ERROR.noStable,
      `rollout "${name}" in namespace "${namespace}" has no stable Deployment "${stableName}" to go back to ` +
        `(undo copies its pod template); set spec.template by hand instead: kubectl edit rollouts.switchboard.dev ${name} -n ${namespace}`,
    );
  }
  const stableRevision = deploymentRevision(stable);
  const current = rollout.spec.template;
  if (current === undefined) {
    const ref = rollout.spec.workloadRef?.name ?? '?';
    throw new CliError(
      CLI_ERROR.noTemplate,
      `rollout "${name}" in namespace "${namespace}" takes its template from Deployment "${ref}" (spec.workloadRef); ` +
        `undo that Deployment instead: kubectl rollout undo deployment/${ref} -n ${namespace}`,
    );
  }
  if (templateRevision(current) === stableRevision || canonicalJson(current) === canonicalJson(template)) {
    throw new CliError(
      CLI_ERROR.nothingToUndo,
      `rollout "${name}" in namespace "${namespace}": spec.template already is what ${stableName} runs` +
        `${stableRevision === undefined ? '' : ` (revision ${stableRevision})`}; nothing to undo`,
    );
  }
  return {
    template, revision: templateRevision(template), stableRevision, stableName, exact: exactTemplate !== undefined,
    ...(toRevision === undefined ? {} : { toRevision }), patch: undoPatch(current, template),
  };
}

/**
 * Sends the plan's patch. A failed `test` comes back as a bare 422 "the server rejected our
 * request" with no details, the same answer as other malformed patches, so the template is read
 * again to tell a concurrent change (run undo again) from a real error.
 */
export async function applyUndo(api: Pick<RolloutApi, 'jsonPatchRollout' | 'readRollout'>, rollout: Rollout, plan: UndoPlan): Promise<void> {
  const { name, namespace } = rollout.metadata;
  try {
    await api.jsonPatchRollout(name, plan.patch);
  } catch (error) {
    const now = await api.readRollout(name).catch(() => undefined);
    if (now !== undefined && canonicalJson(now.spec.template) !== canonicalJson(rollout.spec.template)) {
      throw new CliError(CLI_ERROR.conflict, `rollout "${name}" in namespace "${namespace}": spec.template changed while undo ran; nothing was written, run undo again`);
    }
    throw error;
  }
}

/** The line printed after undo: what the controller will do with the restored template. */
export function undoLine(rollout: Rollout, plan: UndoPlan): string {
  const { name, namespace } = rollout.metadata;
  const { stableName } = plan;
  const what = `rollout "${name}" in namespace "${namespace}": undo requested: spec.template set to the template ${stableName} runs`;
  if (plan.toRevision !== undefined && plan.exact && plan.revision !== (rollout.status?.stableRevision ?? '')) {
    return `${what}; it is revision ${plan.revision}, whose Deployment was kept: the controller scales it back up through the steps, ` +
      `with analysis, instead of creating pods of a new revision (\`switchboard promote --full ${name}\` skips the steps)\n`;
  }
  // The API server fills in pod defaults (imagePullPolicy, terminationMessagePath, ...) when it
  // stores a Deployment, so its template rarely hashes to the revision it was created from.
  const next = plan.revision === plan.stableRevision
    ? `; it is revision ${plan.revision}, so the controller ends the rollout in progress and stable stays as it is`
    : `; the controller rolls it out as revision ${plan.revision} through the steps like any new template ` +
      `(same pods as stable${plan.stableRevision === undefined ? '' : ` revision ${plan.stableRevision}`}; the API server's defaults change the hash)`;
  return `${what}${next}\n`;
}

/** What `undo` reads and plans: back to stable's template, or to a kept revision's. */
export async function readUndo(
  api: Pick<RolloutApi, 'readRollout' | 'readDeployments' | 'readRevisionDeployment'>, name: string, toRevision?: string,
): Promise<{ rollout: Rollout; plan: UndoPlan }> {
  const rollout = await api.readRollout(name);
  if (toRevision !== undefined) return { rollout, plan: planUndo(rollout, await api.readRevisionDeployment(rollout, toRevision), toRevision) };
  const { stable, previous } = await api.readDeployments(rollout);
  return { rollout, plan: planPlainUndo(rollout, stable, previous) };
}

/**
 * A plain `undo`: mid-rollout, back to what stable runs; with no rollout in progress (the template
 * is stable's), to the kept revision created last, like `undo --to-revision` naming it.
 */
export function planPlainUndo(rollout: Rollout, stable: V1Deployment | undefined, previous: V1Deployment | undefined): UndoPlan {
  try {
    return planUndo(rollout, stable);
  } catch (error) {
    const revision = deploymentRevision(previous);
    if (!(error instanceof CliError) || error.code !== CLI_ERROR.nothingToUndo || revision === undefined) throw error;
    return planUndo(rollout, previous, revision);
  }
}

/** `switchboard undo` without --print-kubectl: read, plan, patch; returns the line to print. */
export async function undoRollout(
  api: Pick<RolloutApi, 'jsonPatchRollout' | 'readRollout' | 'readDeployments' | 'readRevisionDeployment'>, name: string, toRevision?: string,
): Promise<string> {
  const { rollout, plan } = await readUndo(api, name, toRevision);
  await applyUndo(api, rollout, plan);
  return undoLine(rollout, plan);
}
