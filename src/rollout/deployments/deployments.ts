// The Deployments a Rollout owns, one per revision, <name>-<revision>: how they are built, how
// they are changed, and when they count as ready. A revision's pods carry the revision as a label
// that never changes, so which pods are stable and which are canary is only a matter of which
// revision each DestinationRule subset selects (status.stableRevision, status.canaryRevision):
// promotion re-points the stable subset to the canary's pods instead of rolling new ones.
// Deployments of the layout before that (<name>-stable and <name>-canary, selected by the track
// label) are still read, and moved over by migration.ts.
import type { V1Deployment, V1OwnerReference, V1PodAffinityTerm, V1PodAntiAffinity, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import type { ResolvedSpec } from '../defaults.ts';
import { canonicalJson } from '../revision.ts';
import { REVISION_ANNOTATION, REVISION_LABEL, ROLLOUT_API_VERSION, ROLLOUT_KIND, ROLLOUT_LABEL, TEMPLATE_ANNOTATION, TRACK_LABEL, type AntiAffinitySpec, type PodMetadataSpec, type Rollout } from '../types.ts';

export function deploymentName(rolloutName: string, revision: string): string {
  return `${rolloutName}-${revision}`;
}

/** The name a Deployment has, or the one it will be created with. */
export function nameOf(deployment: V1Deployment | undefined, fallback: string): string {
  return deployment?.metadata?.name ?? fallback;
}

/** A Deployment of the layout before one Deployment per revision: <name>-stable or <name>-canary, selected by track. */
export function isLegacy(deployment: V1Deployment): boolean {
  return deployment.metadata?.labels?.[TRACK_LABEL] !== undefined;
}

/** What makes a Deployment this Rollout's: garbage collected with it, and never touched by anyone else's rollout. */
export function controllerReference(rollout: Rollout): V1OwnerReference {
  const { name, uid } = rollout.metadata;
  return { apiVersion: ROLLOUT_API_VERSION, kind: ROLLOUT_KIND, name, uid: uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** Selector of a revision's pods: the Rollout's selector plus the revision label (what the subsets select too). */
export function revisionLabels(spec: Pick<ResolvedSpec, 'selector'>, revision: string): Record<string, string> {
  return { ...spec.selector.matchLabels, [REVISION_LABEL]: revision };
}

/** The labels that select the Deployment's pods: what a subset for it must select. */
export function podSelector(deployment: V1Deployment): Record<string, string> {
  return deployment.spec?.selector?.matchLabels ?? {};
}

/**
 * For sort(): the Deployment created last first (a revision's Deployment is created when the
 * revision first runs). A timestamp is a Date from client-node's typed reads and a string from a
 * watch: both are compared as times.
 */
export function newestFirst(a: V1Deployment, b: V1Deployment): number {
  const created = (deployment: V1Deployment) => new Date(deployment.metadata?.creationTimestamp ?? 0).getTime() || 0;
  return created(b) - created(a);
}

export function deploymentRevision(deployment: V1Deployment | undefined): string | undefined {
  return deployment?.metadata?.annotations?.[REVISION_ANNOTATION];
}

export function desiredReplicas(deployment: V1Deployment): number {
  return deployment.spec?.replicas ?? 1;
}

/** Pods the Deployment has now (status.replicas), 0 when it does not exist. */
export function deploymentReplicaCount(deployment: V1Deployment | undefined): number {
  return deployment?.status?.replicas ?? 0;
}

/**
 * The pod template of a revision: the given template plus the revision label, and for a canary
 * (`awayFrom`: the pods it must keep off the nodes of) the anti-affinity term.
 */
function revisionTemplate(spec: ResolvedSpec, template: V1PodTemplateSpec, revision: string, awayFrom?: Record<string, string>): V1PodTemplateSpec {
  const metadata = template.metadata ?? {};
  const labelled = { ...template, metadata: { ...metadata, labels: { ...metadata.labels, [REVISION_LABEL]: revision } } };
  if (awayFrom === undefined || spec.antiAffinity === undefined || template.spec === undefined) return labelled;
  return { ...labelled, spec: withAntiAffinity(template.spec, spec.antiAffinity, awayFrom) };
}

function withPodMetadata(template: V1PodTemplateSpec, extra: PodMetadataSpec): V1PodTemplateSpec {
  const own = template.metadata ?? {};
  return { ...template, metadata: { ...own, labels: { ...own.labels, ...extra.labels }, annotations: { ...own.annotations, ...extra.annotations } } };
}

/** The pod spec with one more anti-affinity term against the stable pods, the template's own terms kept. */
export function withAntiAffinity(pod: V1PodSpec, antiAffinity: AntiAffinitySpec, stableLabels: Record<string, string>): V1PodSpec {
  const term: V1PodAffinityTerm = { labelSelector: { matchLabels: stableLabels }, topologyKey: 'kubernetes.io/hostname' };
  const existing = pod.affinity?.podAntiAffinity ?? {};
  const preferred = antiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  const podAntiAffinity: V1PodAntiAffinity = preferred === undefined
    ? { ...existing, requiredDuringSchedulingIgnoredDuringExecution: [...(existing.requiredDuringSchedulingIgnoredDuringExecution ?? []), term] }
    : {
        ...existing,
        preferredDuringSchedulingIgnoredDuringExecution: [
          ...(existing.preferredDuringSchedulingIgnoredDuringExecution ?? []), { weight: preferred.weight, podAffinityTerm: term },
        ],
      };
  return { ...pod, affinity: { ...pod.affinity, podAntiAffinity } };
}

/**
 * The Deployment of a revision. `template`: the pods it runs (spec.template unless a Deployment of
 * the earlier layout is copied); `awayFrom`: the stable pods a canary keeps off the nodes of;
 * `podMetadata`: labels and annotations added to the template's (role-metadata.ts).
 */
export function buildDeployment(
  rollout: Rollout, spec: ResolvedSpec, revision: string, replicas: number,
  options: { template?: V1PodTemplateSpec; awayFrom?: Record<string, string>; podMetadata?: PodMetadataSpec } = {},
): V1Deployment {
  const template = revisionTemplate(spec, options.template ?? spec.template, revision, options.awayFrom);
  const { name, namespace } = rollout.metadata;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(name, revision),
      namespace,
      labels: { [ROLLOUT_LABEL]: name, [REVISION_LABEL]: revision },
      // A copied template (migration) is not the one that hashes to the revision: no undo copy.
      annotations: { [REVISION_ANNOTATION]: revision, ...(options.template === undefined ? { [TEMPLATE_ANNOTATION]: canonicalJson(spec.template) } : {}) },
      ownerReferences: [controllerReference(rollout)],
    },
    spec: {
      replicas,
      selector: { matchLabels: revisionLabels(spec, revision) },
      template: options.podMetadata === undefined ? template : withPodMetadata(template, options.podMetadata),
    },
  };
}

/** The uid test makes a patch fail instead of landing on a Deployment recreated under the same name. */
function identityGuard(deployment: V1Deployment): Operation[] {
  const uid = deployment.metadata?.uid;
  return uid === undefined ? [] : [{ op: 'test', path: '/metadata/uid', value: uid }];
}

export function replicasPatch(deployment: V1Deployment, replicas: number): Operation[] {
  return [
    ...identityGuard(deployment),
    { op: 'test', path: '/spec/replicas', value: desiredReplicas(deployment) },
    { op: 'replace', path: '/spec/replicas', value: replicas },
  ];
}

export interface DeploymentReadiness {
  desired: number;
  available: number;
  /** The Deployment controller has seen the latest spec, and every pod is updated and available. */
  ready: boolean;
}

/**
 * Fully rolled out: observedGeneration caught up (else the counts describe an older spec),
 * all replicas updated and available, and no extra old pods left (status.replicas == desired).
 */
export function deploymentReadiness(deployment: V1Deployment): DeploymentReadiness {
  const desired = desiredReplicas(deployment);
  const status = deployment.status ?? {};
  const generation = deployment.metadata?.generation ?? 0;
  const caughtUp = (status.observedGeneration ?? 0) >= generation;
  const available = status.availableReplicas ?? 0;
  const ready =
    caughtUp && (status.updatedReplicas ?? 0) === desired && available === desired && (status.replicas ?? 0) === desired;
  return { desired, available, ready };
}
