// `switchboard set image ROLLOUT CONTAINER=IMAGE...`: like `kubectl set image` (and Argo's
// `kubectl argo rollouts set image`): a JSON patch of the images in spec.template, which starts a
// rollout like any other template change. Each replaced image is guarded by a `test` of the
// container's name at that index, so a template reordered meanwhile makes the patch fail rather
// than change the wrong container.
import type { V1Container } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import type { Rollout } from '../../rollout/types.ts';
import { CLI_ERROR, CliError } from '../rollout-errors.ts';

export interface ImageAssignment {
  /** A container name, or "*" for every container and init container. */
  container: string;
  image: string;
}

export interface ImageChange {
  container: string;
  from: string | undefined;
  to: string;
}

export interface SetImagePlan {
  patch: Operation[];
  changes: ImageChange[];
}

const LISTS = ['containers', 'initContainers'] as const;

/** "web=nginx:1.27" → {container: "web", image: "nginx:1.27"}; the image may hold '=' (digests never do, tags never do). */
export function parseImageAssignment(text: string): ImageAssignment {
  const equals = text.indexOf('=');
  const container = text.slice(0, equals);
  const image = text.slice(equals + 1);
  if (equals <= 0 || image === '' || /\s/.test(image)) {
    throw new CliError(CLI_ERROR.usage, `"${text}" is not CONTAINER=IMAGE: write e.g. payments=registry.example/payments:2.1 (or *=IMAGE for every container)`);
  }
  return { container, image };
}

export function planSetImage(rollout: Rollout, assignments: readonly ImageAssignment[]): SetImagePlan {
  const { name, namespace } = rollout.metadata;
  const ref = rollout.spec.workloadRef;
  if (ref !== undefined) {
    throw new CliError(
      CLI_ERROR.noTemplate,
      `rollout "${name}" in namespace "${namespace}" takes its template from Deployment "${ref.name}" (spec.workloadRef): ` +
        `set the image there, which starts the rollout: kubectl set image deployment/${ref.name} CONTAINER=IMAGE -n ${namespace}`,
    );
  }
  const spec = rollout.spec.template?.spec;
  const slots = LISTS.flatMap((list) => ((spec?.[list] ?? []) as V1Container[]).map((container, index) => ({ list, index, container })));
  const patch: Operation[] = [];
  const changes: ImageChange[] = [];
  for (const { container, image } of assignments) {
    const targets = slots.filter((slot) => container === '*' || slot.container.name === container);
    if (targets.length === 0) {
      const names = slots.map((slot) => slot.container.name).join(', ') || '(none)';
      throw new CliError(CLI_ERROR.usage, `rollout "${name}" in namespace "${namespace}" has no container "${container}" in spec.template; its containers are: ${names}`);
    }
    for (const { list, index, container: current } of targets) {
      if (current.image === image) continue;
      const path = `/spec/template/spec/${list}/${index}`;
      patch.push({ op: 'test', path: `${path}/name`, value: current.name }, { op: current.image === undefined ? 'add' : 'replace', path: `${path}/image`, value: image });
      changes.push({ container: current.name, from: current.image, to: image });
    }
  }
  return { patch, changes };
}

/** What was changed, and that the controller now rolls it out; or that nothing changed. */
export function setImageLine(rollout: Rollout, plan: SetImagePlan): string {
  const { name, namespace } = rollout.metadata;
  const where = `rollout "${name}" in namespace "${namespace}"`;
  if (plan.changes.length === 0) return `${where}: every image is already as asked; nothing changed\n`;
  const changed = plan.changes.map((change) => `container "${change.container}" ${change.from ?? '(no image)'} -> ${change.to}`).join(', ');
  return `${where}: image updated: ${changed}; the controller rolls the new template out through the steps (see: switchboard status ${name} -n ${namespace})\n`;
}
