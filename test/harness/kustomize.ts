// config/ as `kubectl apply -k` sees it: rendered by the kustomize built into the test kubectl.
import type { KubernetesObject } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT, resolveBinaries } from './binaries.ts';

/** The YAML `kubectl kustomize config/<dir>` prints. */
export function renderKustomizationYaml(dir: string): string {
  const kubectl = process.env.KUBECTL ?? resolveBinaries().paths.kubectl;
  return execFileSync(kubectl, ['kustomize', join(PROJECT_ROOT, dir)], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

export function renderKustomization(dir: string): KubernetesObject[] {
  return parseAllDocuments(renderKustomizationYaml(dir))
    .map((document) => document.toJSON() as KubernetesObject | null)
    .filter((object): object is KubernetesObject => object !== null);
}

export function findObject<T extends KubernetesObject = KubernetesObject>(objects: KubernetesObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`the rendered configuration has no ${kind} ${name}; it has: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  return found as T;
}
