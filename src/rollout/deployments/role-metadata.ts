// Labels and annotations by role on a Rollout's pods (spec.canaryMetadata, spec.stableMetadata),
// such as Istio's `version` label for telemetry.
// - A revision's Deployment is created with the metadata of the role it starts in, so its pods are
//   born with it: a sidecar reads its pod's labels once, when it starts.
// - When a revision changes role (promotion, a rollback) or the metadata is edited, the running pods
//   are patched in place. A Deployment's template cannot change without a new set of pods.
// - Each pod records which keys came from here (ROLE_METADATA_ANNOTATION): a key the metadata
//   drops is removed, and no key set by anyone else is ever touched.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import { pointerToken } from '../../kube/json-pointer.ts';
import { REVISION_LABEL, ROLE_METADATA_ANNOTATION, type PodMetadataSpec, type RolloutSpec, type Track } from '../types.ts';
import { deploymentName } from './deployments.ts';

interface AppliedKeys {
  labels: string[];
  annotations: string[];
}

/** The metadata a role's pods carry; none for a pod in no role (a retired revision's, on its way out). */
export function roleMetadata(spec: Pick<RolloutSpec, 'canaryMetadata' | 'stableMetadata'>, role: Track | undefined): PodMetadataSpec {
  if (role === undefined) return {};
  return (role === 'canary' ? spec.canaryMetadata : spec.stableMetadata) ?? {};
}

export function usesRoleMetadata(spec: Pick<RolloutSpec, 'canaryMetadata' | 'stableMetadata'>): boolean {
  const keys = (metadata: PodMetadataSpec | undefined) => Object.keys(metadata?.labels ?? {}).length + Object.keys(metadata?.annotations ?? {}).length;
  return keys(spec.canaryMetadata) + keys(spec.stableMetadata) > 0;
}

function keysOf(metadata: PodMetadataSpec): AppliedKeys {
  return { labels: Object.keys(metadata.labels ?? {}).sort(), annotations: Object.keys(metadata.annotations ?? {}).sort() };
}

function recordText(keys: AppliedKeys): string | undefined {
  return keys.labels.length + keys.annotations.length === 0 ? undefined : JSON.stringify(keys);
}

/** The keys a pod records as ours; a record someone garbled counts as none (nothing of theirs is removed). */
function appliedKeys(metadata: V1ObjectMeta): AppliedKeys {
  const text = metadata.annotations?.[ROLE_METADATA_ANNOTATION];
  if (text === undefined) return { labels: [], annotations: [] };
  try {
    const parsed = JSON.parse(text) as Partial<AppliedKeys>;
    const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
    return { labels: strings(parsed.labels), annotations: strings(parsed.annotations) };
  } catch {
    return { labels: [], annotations: [] };
  }
}

/**
 * Pod metadata without what came from a role (the keys its record names, and the record): what a
 * Deployment's template was before the role's metadata was added, for `undo` to copy.
 */
export function withoutRoleMetadata(metadata: V1ObjectMeta): { labels: Record<string, string>; annotations?: Record<string, string> } {
  const applied = appliedKeys(metadata);
  const labels = Object.fromEntries(Object.entries(metadata.labels ?? {}).filter(([key]) => !applied.labels.includes(key)));
  if (metadata.annotations === undefined) return { labels };
  const ours = [...applied.annotations, ROLE_METADATA_ANNOTATION];
  const annotations = Object.fromEntries(Object.entries(metadata.annotations).filter(([key]) => !ours.includes(key)));
  return { labels, ...(Object.keys(annotations).length === 0 ? {} : { annotations }) };
}

/** What the pods of a Deployment created for a role are born with: the role's metadata and its record. */
export function bornWith(metadata: PodMetadataSpec): PodMetadataSpec | undefined {
  const record = recordText(keysOf(metadata));
  if (record === undefined) return undefined;
  return { labels: { ...metadata.labels }, annotations: { ...metadata.annotations, [ROLE_METADATA_ANNOTATION]: record } };
}

/**
 * The JSON patch that gives a pod `desired` and takes away what it had from here before; empty
 * when the pod already has it. Guarded by the pod's uid, so it never lands on a pod recreated
 * under the same name.
 */
export function roleMetadataPatch(pod: V1ObjectMeta, desired: PodMetadataSpec): Operation[] {
  const changes = metadataChanges(pod, desired, '/metadata');
  return changes.length === 0 ? [] : [{ op: 'test', path: '/metadata/uid', value: pod.uid }, ...changes];
}

/**
 * The same changes to a Deployment's pod template, for a kept revision scaled up from zero into
 * another role than it was created for: its new pods are born with the role they start in. (At
 * zero replicas a template change rolls no pod.)
 */
export function templateRoleMetadataPatch(template: V1ObjectMeta, desired: PodMetadataSpec): Operation[] {
  return metadataChanges(template, desired, '/spec/template/metadata');
}

function metadataChanges(pod: V1ObjectMeta, desired: PodMetadataSpec, at: string): Operation[] {
  const applied = appliedKeys(pod);
  const changes: Operation[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    const current = pod[field] ?? {};
    const wanted: Record<string, string> = { ...desired[field] };
    if (field === 'annotations') {
      const record = recordText(keysOf(desired));
      if (record !== undefined) wanted[ROLE_METADATA_ANNOTATION] = record;
    }
    const ours = field === 'labels' ? applied.labels : [...applied.annotations, ROLE_METADATA_ANNOTATION];
    const removed = ours.filter((key) => !(key in wanted) && key in current);
    const set = Object.entries(wanted).filter(([key, value]) => current[key] !== value);
    if (removed.length + set.length === 0) continue;
    if (pod[field] === undefined) changes.push({ op: 'add', path: `${at}/${field}`, value: {} });
    for (const key of removed) changes.push({ op: 'remove', path: `${at}/${field}/${pointerToken(key)}` });
    for (const [key, value] of set) changes.push({ op: 'add', path: `${at}/${field}/${pointerToken(key)}`, value });
  }
  return changes;
}

/** The revision a pod of this Rollout runs: the revision label of a pod whose ReplicaSet belongs to that revision's Deployment. */
export function podRevision(rolloutName: string, pod: V1ObjectMeta): string | undefined {
  const revision = pod.labels?.[REVISION_LABEL];
  if (revision === undefined) return undefined;
  const owner = pod.ownerReferences?.find((reference) => reference.kind === 'ReplicaSet');
  return owner?.name.startsWith(`${deploymentName(rolloutName, revision)}-`) ? revision : undefined;
}

export interface PodMetadataWrite {
  name: string;
  role: Track | undefined;
  patch: Operation[];
}

/**
 * The patches that give each of a Rollout's pods its role's metadata. Roles as in roles.ts: the
 * revision of status.stableRevision is stable, that of status.canaryRevision canary (stable
 * first: outside a rollout both name one revision); pods being deleted are left alone.
 */
export function roleMetadataWrites(
  rolloutName: string, spec: Pick<RolloutSpec, 'canaryMetadata' | 'stableMetadata'>,
  revisions: { stable: string | undefined; canary: string | undefined }, pods: readonly V1ObjectMeta[],
): PodMetadataWrite[] {
  const writes: PodMetadataWrite[] = [];
  for (const pod of pods) {
    const revision = podRevision(rolloutName, pod);
    if (revision === undefined || pod.deletionTimestamp !== undefined || pod.name === undefined) continue;
    const role: Track | undefined = revision === revisions.stable ? 'stable' : revision === revisions.canary ? 'canary' : undefined;
    const patch = roleMetadataPatch(pod, roleMetadata(spec, role));
    if (patch.length > 0) writes.push({ name: pod.name, role, patch });
  }
  return writes;
}
